#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Where the time of one call goes, by sampling: reads the samples that
qemu/guest-perf.sh wrote (perf-FS-PATH-STAGE.txt, one "address symbol (object)"
line per CPU-clock sample) and writes a markdown report: per filesystem
and stage, the microseconds per call of each kernel and module symbol on
both paths, side by side, largest difference first.

usage: perf_report.py OUTDIR REPORT.md CALLS PERIOD_NS TITLE-LINE...
"""

import collections
import pathlib
import re
import sys

SAMPLE = re.compile(r"^\s*[0-9a-f]+\s+(\S+)\s+\((.+)\)\s*$")


def samples(path):
    """Samples per "symbol [object]", kernel and modules only."""
    count = collections.Counter()
    for line in path.read_text(errors="replace").splitlines():
        m = SAMPLE.match(line)
        if not m:
            continue
        sym, dso = m.groups()
        name = dso.rsplit("/", 1)[-1]
        if dso == "[kernel.kallsyms]" or name == "vmlinux":
            count[sym] += 1
        elif name.endswith(".ko"):
            count[f"{sym} [{name[:-3]}]"] += 1
        elif dso.startswith("[") and dso != "[unknown]":
            count[f"{sym} {dso}"] += 1
    return count


def main():
    out, report, calls, period = sys.argv[1:5]
    title = sys.argv[5:]
    # The bench makes 2 x CALLS calls in the process perf records.
    us_per_sample = int(period) / 1000 / (2 * int(calls))
    md = [*title, ""]
    for fs in ("btrfs", "xfs"):
        for stage in ("zerolen", "4k"):
            got = {}
            for path in ("native", "module"):
                f = pathlib.Path(out) / f"perf-{fs}-{path}-{stage}.txt"
                if f.exists():
                    got[path] = samples(f)
            if len(got) < 2:
                continue
            n, m = got["native"], got["module"]
            tn, tm = sum(n.values()), sum(m.values())
            md += [f"### {fs}, {stage}: kernel time per call, native "
                   f"{tn * us_per_sample:.2f} us, module {tm * us_per_sample:.2f} us",
                   "",
                   "| symbol | native us | module us | module - native us |",
                   "| --- | ---: | ---: | ---: |"]
            rows = []
            for sym in set(n) | set(m):
                a, b = n[sym] * us_per_sample, m[sym] * us_per_sample
                if max(a, b) >= 0.02:
                    rows.append((b - a, sym, a, b))
            rows.sort(key=lambda r: (-abs(r[0]), r[1]))
            for d, sym, a, b in rows:
                md.append(f"| `{sym}` | {a:.2f} | {b:.2f} | {d:+.2f} |")
            md.append("")
    pathlib.Path(report).write_text("\n".join(md) + "\n")


if __name__ == "__main__":
    main()
