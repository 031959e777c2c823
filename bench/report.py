#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn fidedupe_bench's rows into a Markdown table and a PNG plot.

usage: report.py BENCH.tsv OUTPUT_STEM KERNEL CPU ACCEL COMMIT
"""
import sys
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    tsv, stem, kernel, cpu, accel, commit = sys.argv[1:7]
    rows = defaultdict(list)
    for line in open(tsv):
        f = line.rstrip("\n").split("\t")
        if len(f) >= 4:
            rows[f[0]].append(f[1:])

    md = [f"# fidedupe benchmark, commit {commit}", "",
          f"- kernel: {kernel} (non-debug fragment: no KASAN, lockdep, UBSAN)",
          f"- CPU: {cpu}", f"- acceleration: {accel}",
          "- both paths in one boot, interleaved in blocks; absolute times "
          "under TCG are not hardware figures, the ratios are the result", ""]

    def by(kind):
        d = {}
        for r in rows[kind]:
            d[(r[0], r[1])] = r[2:]
        return d

    def paired(kind):
        """(fs, native fields, module fields) for each fs measured on both."""
        d = by(kind)
        for fs in ("btrfs", "xfs"):
            n, m = d.get((fs, "native")), d.get((fs, "module"))
            if n and m:
                yield fs, n, m

    def ratio(n, m, i):
        return f"{float(m[i]) / float(n[i]):.3f}"

    md += ["## Per-call latency, 4 KiB identical ranges", "",
           "| fs | native median µs | module median µs | ratio | native p99 µs "
           "| module p99 µs | ratio | calls per path |",
           "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for fs, n, m in paired("latency"):
        md.append(f"| {fs} | {n[0]} | {m[0]} | {ratio(n, m, 0)} "
                  f"| {n[1]} | {m[1]} | {ratio(n, m, 1)} | {n[2]} |")
    md += ["", "## Throughput, identical ranges, warm page cache", "",
           "| fs | bytes | native MiB/s | module MiB/s | ratio module/native |",
           "| --- | --- | --- | --- | --- |"]
    for fs, n, m in paired("throughput"):
        md.append(f"| {fs} | {n[1]} | {n[0]} | {m[0]} | {ratio(n, m, 0)} |")
    md += ["", "## Destination scaling, 4 KiB per destination", "",
           "| fs | dest_count | native µs/dest | module µs/dest |",
           "| --- | --- | --- | --- |"]
    scal = defaultdict(dict)
    for fs, path, count, us, status in rows["scaling"]:
        scal[(fs, int(count))][path] = us if status == "0" else f"error {status}"
    for (fs, count) in sorted(scal):
        d = scal[(fs, count)]
        md.append(f"| {fs} | {count} | {d.get('native', '')} | {d.get('module', '')} |")
    kill = by("kill")
    md += ["", "## Kill latency: SIGKILL to reaped child", "",
           "| fs | MiB per destination | native median ms | native max ms "
           "| module median ms | module max ms | samples |",
           "| --- | --- | --- | --- | --- | --- | --- |"]
    for fs, n, m in paired("kill"):
        md.append(f"| {fs} | {n[3]} | {n[0]} | {n[1]} | {m[0]} | {m[1]} | {n[2]} |")
    open(stem + ".md", "w").write("\n".join(md) + "\n")

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    for fs, style in (("btrfs", "-"), ("xfs", "--")):
        for path, marker in (("native", "o"), ("module", "s")):
            pts = sorted((int(c), float(us)) for f, p, c, us, st in rows["scaling"]
                         if f == fs and p == path and st == "0")
            if pts:
                ax1.plot([c for c, _ in pts], [u for _, u in pts], style,
                         marker=marker, label=f"{fs} {path}")
    ax1.set_xscale("log")
    ax1.set_xlabel("dest_count")
    ax1.set_ylabel("µs per destination")
    ax1.set_title("Destination scaling (native: ENOMEM above 127)")
    ax1.legend()
    labels, med, mx = [], [], []
    for fs in ("btrfs", "xfs"):
        for path in ("native", "module"):
            if (fs, path) in kill:
                labels.append(f"{fs}\n{path}")
                med.append(float(kill[(fs, path)][0]))
                mx.append(float(kill[(fs, path)][1]))
    xs = range(len(labels))
    ax2.bar([x - 0.2 for x in xs], med, 0.4, label="median")
    ax2.bar([x + 0.2 for x in xs], mx, 0.4, label="max")
    ax2.set_xticks(list(xs))
    ax2.set_xticklabels(labels)
    ax2.set_yscale("log")
    ax2.set_ylabel("ms from SIGKILL to reaped")
    ax2.set_title("Kill latency")
    ax2.legend()
    fig.tight_layout()
    fig.savefig(stem + ".png", dpi=90)


if __name__ == "__main__":
    main()
