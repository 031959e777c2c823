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

    def header(*cells):
        """A Markdown table's header row and its separator."""
        return ["| " + " | ".join(cells) + " |",
                "|" + " --- |" * len(cells)]

    md += ["## Per-call latency, 4 KiB identical ranges", "",
           *header("fs", "native median µs", "module median µs", "ratio",
                   "native p99 µs", "module p99 µs", "ratio", "calls per path")]
    for fs, n, m in paired("latency"):
        md.append(f"| {fs} | {n[0]} | {m[0]} | {ratio(n, m, 0)} "
                  f"| {n[1]} | {m[1]} | {ratio(n, m, 1)} | {n[2]} |")
    split = defaultdict(dict)
    for fs, path, stage, med, p99, calls, status in rows["split"]:
        split[(fs, stage)][path] = (float(med), float(p99), calls, status)
    for fs, path, med, p99, calls in rows["latency"]:
        split[(fs, "4k")][path] = (float(med), float(p99), calls, "0")
    stages = (("entry", "reserved1 set: entry and copy-in only"),
              ("source", "dest_count 0: + source fd and checks"),
              ("badfd", "1 destination, fd not open: + one record"),
              ("zerolen", "1 destination, length 0: + every destination check"),
              ("4k", "1 destination, 4 KiB: + the filesystem's remap"))

    def stage_pairs(table, a, b, label="unexpected result"):
        """(fs, stage cell, a's fields, b's fields) of each stage measured
        on both paths a and b of table."""
        for fs in ("btrfs", "xfs"):
            for stage, what in stages:
                d = table.get((fs, stage), {})
                if a not in d or b not in d:
                    continue
                n, m = d[a], d[b]
                bad = "" if n[3] == "0" and m[3] == "0" else \
                    f" ({label}: {a} {n[3]}, {b} {m[3]})"
                yield fs, f"{stage}: {what}{bad}", n, m

    md += ["", "## Fixed cost of a call, stage by stage", "",
           "Each stage stops a call earlier than the next; median µs over "
           "the calls, the same interleaving as the latency rows.", "",
           *header("fs", "stage", "native median µs", "module median µs",
                   "module − native µs", "ratio", "native p99", "module p99",
                   "calls")]
    for fs, stage, n, m in stage_pairs(split, "native", "module"):
        md.append(f"| {fs} | {stage} | {n[0]:.1f} | {m[0]:.1f} "
                  f"| {m[0] - n[0]:+.1f} | {m[0] / n[0]:.3f} | {n[1]:.1f} "
                  f"| {m[1]:.1f} | {n[2]} |")
    aalat = by("aalatency")
    aasplit = defaultdict(dict)
    for fs, path, stage, med, p99, calls, status in rows["aasplit"]:
        aasplit[(fs, stage)][path] = (float(med), float(p99), calls, status)
    aascal = defaultdict(dict)
    for fs, path, count, us, status, calls in rows["aascaling"]:
        aascal[(fs, int(count))][path] = (us, status, calls)
    if aalat:
        md += ["", "## The method's spread: native against native", "",
               "The latency, split and scaling rows again, mainline on both "
               "sides (`native1`, `native2`) in the same interleaving, run after "
               "every row of native against the module on that filesystem: "
               "any ratio but 1 is noise.", "",
               *header("fs", "native1 median µs", "native2 median µs",
                       "ratio", "native1 p99 µs", "native2 p99 µs", "ratio",
                       "calls per path")]
        for fs in ("btrfs", "xfs"):
            n, m = aalat.get((fs, "native1")), aalat.get((fs, "native2"))
            if n and m:
                md.append(f"| {fs} | {n[0]} | {m[0]} | {ratio(n, m, 0)} "
                          f"| {n[1]} | {m[1]} | {ratio(n, m, 1)} | {n[2]} |")
        md += ["", *header("fs", "stage", "native1 median µs",
                           "native2 median µs", "ratio", "native1 p99",
                           "native2 p99", "p99 ratio", "calls")]
        for fs, stage, n, m in stage_pairs(aasplit, "native1", "native2"):
            md.append(f"| {fs} | {stage} | {n[0]:.1f} | {m[0]:.1f} "
                      f"| {m[0] / n[0]:.3f} | {n[1]:.1f} | {m[1]:.1f} "
                      f"| {m[1] / n[1]:.3f} | {n[2]} |")
        md += ["", *header("fs", "dest_count", "native1 µs/dest",
                           "native2 µs/dest", "ratio", "calls per path")]
        for (fs, count) in sorted(aascal):
            n, m = aascal[(fs, count)].get("native1"), \
                aascal[(fs, count)].get("native2")
            if n and m and n[1] == "0" and m[1] == "0":
                md.append(f"| {fs} | {count} | {n[0]} | {m[0]} "
                          f"| {float(m[0]) / float(n[0]):.3f} | {n[2]} |")
    lpsplit = defaultdict(dict)
    for fs, path, stage, med, p99, calls, status in rows["lpsplit"]:
        lpsplit[(fs, stage)][path] = (float(med), float(p99), calls, status)
    lpscal = defaultdict(dict)
    for fs, path, count, us, status, calls in rows["lpscaling"]:
        lpscal[(fs, int(count))][path] = (us, status, calls)

    def lp_tables(a, b):
        """The lpsplit and lpscaling rows of paths a and b, side by side."""
        out = [*header("fs", "stage", f"{a} median µs", f"{b} median µs",
                       f"{b} − {a} µs", "ratio", f"{a} p99", f"{b} p99",
                       "p99 ratio", "calls")]
        for fs, stage, n, m in stage_pairs(lpsplit, a, b, "status"):
            out.append(f"| {fs} | {stage} | {n[0]:.1f} | {m[0]:.1f} "
                       f"| {m[0] - n[0]:+.1f} | {m[0] / n[0]:.3f} "
                       f"| {n[1]:.1f} | {m[1]:.1f} | {m[1] / n[1]:.3f} "
                       f"| {n[2]} |")
        out += ["", *header("fs", "dest_count", f"{a} µs/dest",
                            f"{b} µs/dest", "ratio", "calls per path")]
        for (fs, count) in sorted(lpscal):
            d = lpscal[(fs, count)]
            n, m = d.get(a), d.get(b)
            if not (n and m):
                continue
            r = f"{float(m[0]) / float(n[0]):.3f}" \
                if n[1] == "0" and m[1] == "0" else \
                f"error: {a} {n[1]}, {b} {m[1]}"
            out.append(f"| {fs} | {count} | {n[0]} | {m[0]} | {r} | {n[2]} |")
        return out

    if lpsplit:
        md += ["", "## FIDEDUPERANGE without and with the livepatch", "",
               "Both enter through the ioctl on the source file, neither "
               "through /dev/fidedupe: `mainline` is the kernel's "
               "`vfs_dedupe_file_range()`, `livepatch` fidedupe's in its "
               "place (fidedupe_livepatch.ko, reached through ftrace).  The "
               "patch can only change between blocks: 20 blocks, each "
               "running every stage (100 calls) and every destination count "
               "(100 destinations, at least one call) on one path, the first "
               "path of a block alternating, one load or unload of the "
               "livepatch between blocks.  A status other than 0 is an "
               "unexpected result, or -1: fidedupe's calls_fideduperange "
               "did not move by a livepatch block's calls (or moved in a "
               "mainline block).", "",
               *lp_tables("mainline", "livepatch"),
               "", "The same blocks with the livepatch on neither path "
               "(`mainline1`, `mainline2`): the spread of the method itself, "
               "where any ratio but 1 is noise.", "",
               *lp_tables("mainline1", "mainline2")]
    md += ["", "## Throughput, identical ranges, warm page cache", "",
           *header("fs", "bytes", "native MiB/s", "module MiB/s",
                   "ratio module/native")]
    for fs, n, m in paired("throughput"):
        md.append(f"| {fs} | {n[1]} | {n[0]} | {m[0]} | {ratio(n, m, 0)} |")
    md += ["", "## Destination scaling, 4 KiB per destination", "",
           "The median call over dest_count; about 2000 destinations per "
           "path and count (at least one call), the paths interleaved in up "
           "to 10 blocks.", "",
           *header("fs", "dest_count", "native µs/dest", "module µs/dest",
                   "ratio", "calls per path")]
    scal = defaultdict(dict)
    for fs, path, count, us, status, calls in rows["scaling"]:
        scal[(fs, int(count))][path] = (us, status, calls)
    for (fs, count) in sorted(scal):
        d = scal[(fs, count)]
        cell = {p: (v[0] if v[1] == "0" else f"error {v[1]}")
                for p, v in d.items()}
        n, m = d.get("native"), d.get("module")
        both = n and m and n[1] == "0" and m[1] == "0"
        r = f"{float(m[0]) / float(n[0]):.3f}" if both else ""
        calls = (m or n)[2]
        md.append(f"| {fs} | {count} | {cell.get('native', '')} "
                  f"| {cell.get('module', '')} | {r} | {calls} |")
    md += ["", "## Kernel memory of one call against dest_count", "",
           "A thread reads `/proc/meminfo` about every millisecond while calls "
           "run back to back for at least 100 ms (one call if it lasts longer); "
           "the figure is the peak of SUnreclaim (slab, including kmalloc "
           "pages) and of VmallocUsed above a reading taken just before, the "
           "largest over the windows.  `badfd`: destinations whose fd is not "
           "open, so only the VFS layer's walk over the records runs; `remap`: "
           "4 KiB identical ranges, one destination file repeated, so the "
           "filesystem runs too.  `none`: the same window with no call, the "
           "noise floor.", ""]
    for fs, thr, cpus, kib in rows["memres"]:
        md.append(f"- {fs}: vmstat threshold {thr} pages × {cpus} CPUs: the global "
                  f"counters may lag the truth by up to {kib} KiB either way")
    md += ["", "Calibration, a known allocation through the same method "
           "(n open files: n × (sizeof filp + 8) KiB expected):", "",
           *header("fs", "files held", "expected KiB", "peak ΔSUnreclaim KiB",
                   "peak ΔVmallocUsed KiB")]
    for fs, n, exp, sunr, vm in rows["memcal"]:
        md.append(f"| {fs} | {n} | {exp} | {sunr} | {vm} |")
    mem = defaultdict(dict)
    for fs, path, mode, count, sunr, vm, status, windows, n in rows["memory"]:
        mem[(fs, mode, int(count))][path] = \
            (sunr, vm, n) if status == "0" else (f"error {status}", "", n)
    md += ["", *header("fs", "mode", "dest_count", "native peak ΔSUnreclaim KiB",
                       "module peak ΔSUnreclaim KiB", "native peak ΔVmalloc KiB",
                       "module peak ΔVmalloc KiB", "32 B × dest_count, KiB",
                       "meminfo samples native / module")]
    for (fs, mode, count) in sorted(mem, key=lambda k: (k[0], k[1], k[2])):
        d = mem[(fs, mode, count)]
        if "none" in d:
            md.append(f"| {fs} | {mode} | no call | {d['none'][0]} | | "
                      f"{d['none'][1]} | | | {d['none'][2]} |")
            continue
        n, m = d.get("native", ("", "", "")), d.get("module", ("", "", ""))
        md.append(f"| {fs} | {mode} | {count} | {n[0]} | {m[0]} | {n[1]} | {m[1]} "
                  f"| {count * 32 / 1024:.1f} | {n[2]} / {m[2]} |")

    kill = by("kill")
    md += ["", "## Kill latency: SIGKILL to reaped child", "",
           "64 destinations, all the same file, whose data differ from the "
           "source only in the last byte; SIGKILL 200 ms after fork.", "",
           "Warm: source and destination wholly in the page cache before "
           "every call (what the previous killed call evicted is read back "
           "first).", "",
           *header("fs", "MiB per destination", "native median ms", "native max ms",
                   "module median ms", "module max ms", "median native/module",
                   "samples")]
    for fs, n, m in paired("kill"):
        md.append(f"| {fs} | {n[3]} | {n[0]} | {n[1]} | {m[0]} | {m[1]} "
                  f"| {float(n[0]) / float(m[0]):.1f} | {n[2]} |")
    md += ["", "No warm-up between calls (as in earlier runs): each call finds "
           "the destination as the previous killed call, of the other path, "
           "left it; the first native call follows a warm-up.", "",
           *header("fs", "MiB per destination",
                   "dst MiB out of cache before the call, median, native / module",
                   "native median ms", "native max ms", "module median ms",
                   "module max ms", "samples")]
    for fs, n, m in paired("killnowarm"):
        md.append(f"| {fs} | {n[3]} | {n[4]} / {m[4]} | {n[0]} | {n[1]} | {m[0]} "
                  f"| {m[1]} | {n[2]} |")
    md += ["", "Destination MiB out of the page cache after a killed call "
           "(measured before the warm-up of the next):", "",
           *header("fs", "after native, median", "max", "after module, median",
                   "max", "samples")]
    for fs, n, m in paired("killevict"):
        md.append(f"| {fs} | {n[0]} | {n[1]} | {m[0]} | {m[1]} | {n[2]} |")
    open(stem + ".md", "w").write("\n".join(md) + "\n")

    fig, (ax1, ax3, ax2) = plt.subplots(1, 3, figsize=(16, 4.4))
    for fs, style in (("btrfs", "-"), ("xfs", "--")):
        for path, marker in (("native", "o"), ("module", "s")):
            pts = sorted((int(c), float(us)) for f, p, c, us, st, _ in rows["scaling"]
                         if f == fs and p == path and st == "0")
            if pts:
                ax1.plot([c for c, _ in pts], [u for _, u in pts], style,
                         marker=marker, label=f"{fs} {path}")
    ax1.set_xscale("log")
    ax1.set_xlabel("dest_count")
    ax1.set_ylabel("µs per destination")
    ax1.set_title("Destination scaling (native: ENOMEM above 127)")
    ax1.legend()
    for fs, color in (("btrfs", "C0"), ("xfs", "C1")):
        for mode, style in (("badfd", ":"), ("remap", "-")):
            for path, marker in (("native", "o"), ("module", "s")):
                pts = sorted((int(c), float(k))
                             for f, p, mo, c, k, v, st, w, n in rows["memory"]
                             if f == fs and mo == mode and p == path and st == "0")
                if pts:
                    ax3.plot([c for c, _ in pts], [max(k, 1) for _, k in pts],
                             style, color=color, marker=marker,
                             label=f"{fs} {path} {mode}")
    counts = sorted({int(r[3]) for r in rows["memory"] if int(r[3]) > 0})
    if counts:
        ax3.plot(counts, [c * 32 / 1024 for c in counts], "k--", lw=0.8,
                 label="32 B × dest_count")
    for fs, thr, cpus, kib in rows["memres"][:1]:
        ax3.axhline(float(kib), color="grey", lw=0.8, label="counter resolution")
    ax3.set_xscale("log")
    ax3.set_yscale("log")
    ax3.set_xlabel("dest_count")
    ax3.set_ylabel("peak ΔSUnreclaim KiB (≤0 drawn at 1)")
    ax3.set_title("Kernel memory of one call")
    ax3.legend(fontsize=6)
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
    ax2.set_title("Kill latency, warm cache")
    ax2.legend()
    fig.tight_layout()
    fig.savefig(stem + ".png", dpi=90)


if __name__ == "__main__":
    main()
