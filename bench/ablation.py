#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Writes the report of `make ablation` from qemu/guest-ablation.sh's
ablation.tsv: per filesystem and split stage, each module's time over the
native path's measured alongside in the same run (the median over the
rounds) and its change from the control's; then the medians in µs.

usage: ablation.py ABLATION.TSV REPORT.md PATCHDIR TITLE-LINE...
"""

import collections
import pathlib
import statistics
import sys

# The split stages in order; "4k" only in a run with ABLATION_4K=1.
ALL_STAGES = ["entry", "source", "badfd", "zerolen", "4k"]


def removes(patchdir, name):
    """The patch's "Removes:" paragraph, on one line."""
    if name == "control":
        return "nothing: the module as committed"
    text = (pathlib.Path(patchdir) / f"{name}.patch").read_text()
    lines, keep = [], False
    for line in text.splitlines():
        if line.startswith("Removes: "):
            keep, line = True, line[len("Removes: "):]
        elif keep and not line.strip():
            break
        if keep:
            lines.append(line.strip())
    return " ".join(lines)


def main():
    tsv, report, patchdir, *title = sys.argv[1:]
    # (fs, name, path, stage) -> [median per round]; bad results per module.
    medians = collections.defaultdict(list)
    bad = collections.defaultdict(set)
    names, rounds = [], set()
    # (fs, name, stage) -> {round: module median / native median}: the
    # two paths interleaved in the same run, so a change of the guest's
    # speed between runs cancels out.
    ratios = collections.defaultdict(dict)
    # (round, fs, name, stage) -> {path: median}
    runs = collections.defaultdict(dict)
    for line in pathlib.Path(tsv).read_text().splitlines():
        f = line.split("\t")
        if len(f) != 10 or f[2] != "split":
            continue
        rnd, name, _, fs, path, stage, med, _p99, _calls, status = f
        rounds.add(rnd)
        if name not in names:
            names.append(name)
        medians[(fs, name, path, stage)].append(float(med))
        runs[(rnd, fs, name, stage)][path] = float(med)
        if path == "module" and status != "0":
            bad[name].add(stage)
    for (rnd, fs, name, stage), run in runs.items():
        if run.get("native") and "module" in run:
            ratios[(fs, name, stage)][rnd] = run["module"] / run["native"]
    if "control" not in names:
        sys.exit("ablation.py: no control rows in " + tsv)
    global STAGES
    STAGES = [s for s in ALL_STAGES if any(k[3] == s for k in medians)]

    def med(fs, name, path, stage):
        v = medians.get((fs, name, path, stage))
        return statistics.median(v) if v else None

    def ratio(fs, name, stage):
        v = list(ratios.get((fs, name, stage), {}).values())
        return statistics.median(v) if v else None

    out = list(title) + [
        f"- {len(rounds)} rounds.  First table of each filesystem: the module's"
        " median time per call over the native path's, both measured in the"
        " same run (the paths interleaved), the median over the rounds, with,"
        " in brackets, the change from the control in units of the native"
        " call; the guest's speed drifts between runs (see the control's"
        " range), so only these ratios compare modules.  Second table: the"
        " median over the rounds of each round's median µs per call; native is"
        " the median over all modules' runs",
        "- a stage marked * returned something else than the control's result"
        " (the module stopped before the stage's own check): its time is the"
        " work done up to there",
        "",
        "| module | removes |",
        "| --- | --- |",
    ]
    for name in names:
        out.append(f"| {name} | {removes(patchdir, name)} |")
    for fs in sorted({k[0] for k in medians}):
        out += ["", f"## {fs}", "", "fidedupe/native, same run:", "",
                "| module | " + " | ".join(STAGES) + " |",
                "| --- |" + " ---: |" * len(STAGES)]
        for name in names:
            cells = []
            for stage in STAGES:
                r, c = ratio(fs, name, stage), ratio(fs, "control", stage)
                if r is None:
                    cells.append("")
                    continue
                cell = f"{r:.2f}"
                if name != "control" and c is not None:
                    cell += f" ({r - c:+.2f})"
                if stage in bad[name]:
                    cell += " *"
                cells.append(cell)
            out.append(f"| {name} | " + " | ".join(cells) + " |")
        spread = []
        for stage in STAGES:
            v = list(ratios.get((fs, "control", stage), {}).values())
            spread.append(f"{min(v):.2f}-{max(v):.2f}" if v else "")
        out.append("| control, range over rounds | " + " | ".join(spread) + " |")
        out += ["", "µs per call:", "",
                "| module | " + " | ".join(STAGES) + " |",
                "| --- |" + " ---: |" * len(STAGES)]
        native = []
        for stage in STAGES:
            v = [x for n in names for x in medians.get((fs, n, "native", stage), [])]
            native.append(f"{statistics.median(v):.2f}" if v else "")
        out.append("| native | " + " | ".join(native) + " |")
        for name in names:
            cells = []
            for stage in STAGES:
                m = med(fs, name, "module", stage)
                mark = " *" if stage in bad[name] else ""
                cells.append("" if m is None else f"{m:.2f}{mark}")
            out.append(f"| {name} | " + " | ".join(cells) + " |")
        spread = []
        for stage in STAGES:
            v = medians.get((fs, "control", "module", stage), [])
            spread.append(f"{min(v):.2f}-{max(v):.2f}" if v else "")
        out.append("| control, range over rounds | " + " | ".join(spread) + " |")
    pathlib.Path(report).write_text("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
