#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Writes the report of `make ablation` from qemu/guest-ablation.sh's
ablation.tsv: per filesystem, each module's median µs per split stage (the
median over the rounds of each round's median), what the stage costs less
than with the control, and the native path's figure measured alongside.

usage: ablation.py ABLATION.TSV REPORT.md PATCHDIR TITLE-LINE...
"""

import collections
import pathlib
import statistics
import sys

STAGES = ["entry", "source", "badfd", "zerolen"]


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
    for line in pathlib.Path(tsv).read_text().splitlines():
        f = line.split("\t")
        if len(f) != 10 or f[2] != "split":
            continue
        rnd, name, _, fs, path, stage, med, _p99, _calls, status = f
        rounds.add(rnd)
        if name not in names:
            names.append(name)
        medians[(fs, name, path, stage)].append(float(med))
        if path == "module" and status != "0":
            bad[name].add(stage)
    if "control" not in names:
        sys.exit("ablation.py: no control rows in " + tsv)

    def med(fs, name, path, stage):
        v = medians.get((fs, name, path, stage))
        return statistics.median(v) if v else None

    out = list(title) + [
        f"- {len(rounds)} rounds; a cell is the median over the rounds of each"
        " round's median µs per call, with, in brackets, the change from the"
        " control; native: mainline's FIDEDUPERANGE, measured alongside every"
        " module (the median over all of them)",
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
        out += ["", f"## {fs}", "",
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
                m, c = med(fs, name, "module", stage), med(fs, "control", "module", stage)
                if m is None:
                    cells.append("")
                    continue
                cell = f"{m:.2f}"
                if name != "control" and c is not None:
                    cell += f" ({m - c:+.2f})"
                if stage in bad[name]:
                    cell += " *"
                cells.append(cell)
            out.append(f"| {name} | " + " | ".join(cells) + " |")
        spread = []
        for stage in STAGES:
            v = medians.get((fs, "control", "module", stage), [])
            spread.append(f"{min(v):.2f}-{max(v):.2f}" if v else "")
        out.append("| control, range over rounds | " + " | ".join(spread) + " |")
    pathlib.Path(report).write_text("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
