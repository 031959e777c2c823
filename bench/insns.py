#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""make insns: the report of what each marked call ran, from the guest's
rows (insns.tsv), the plugin's windows (plugin.log) and the guest's
kallsyms, written to RESULTS/<date>-<commit>-insns.md (its path printed).
Each figure is the median over the calls of one filesystem, stage and
path.

usage: insns.py OUTDIR RESULTS KERNEL ROUNDS
"""
import bisect
import collections
import datetime
import os
import statistics
import subprocess
import sys

PATHS = ("native", "module")
STAGES = ("entry", "source", "badfd", "zerolen", "4k")
# The stages whose instructions are listed function by function.
DETAIL_STAGES = ("zerolen", "4k")


def read_calls(out):
    """The guest's rows, one per window, in order: (fs, path, stage, bad)."""
    calls = []
    with open(f"{out}/insns.tsv") as f:
        for line in f:
            row = line.split()
            if row and row[0] == "insns":
                calls.append((row[1], row[2], row[3], row[4] != "0"))
    return calls


def read_windows(out):
    """The plugin's windows: {n: (figures, {block address: instructions})}."""
    windows = {}
    with open(f"{out}/plugin.log") as f:
        for line in f:
            row = line.split()
            if not row:
                continue
            if row[0] == "window":
                figures = dict(zip(row[2::2], (int(v) for v in row[3::2])))
                windows[int(row[1])] = (figures, collections.Counter())
            elif row[0] == "tb" and int(row[1]) in windows:
                windows[int(row[1])][1][int(row[2], 16)] += int(row[3])
    return windows


class Symbols:
    """The guest's kallsyms: the function a block starts in."""

    def __init__(self, path):
        syms = []
        with open(path) as f:
            for line in f:
                row = line.split()
                if len(row) >= 3 and int(row[0], 16) and row[1] in "tTwW":
                    syms.append((int(row[0], 16), row[2]))
        syms.sort()
        self.addrs = [a for a, _ in syms]
        self.names = [n for _, n in syms]

    def name(self, addr):
        i = bisect.bisect_right(self.addrs, addr) - 1
        return self.names[i] if i >= 0 else f"{addr:#x}"


def demangle(names):
    """Rust's mangled names as llvm-cxxfilt prints them, where it can."""
    names = sorted(names)
    try:
        res = subprocess.run(["llvm-cxxfilt-19"], input="\n".join(names),
                             capture_output=True, text=True, check=True)
        return dict(zip(names, res.stdout.splitlines()))
    except (OSError, subprocess.CalledProcessError):
        return {n: n for n in names}


def median_int(values):
    return int(statistics.median(values)) if values else 0


def command_output(argv, default):
    """The first line @argv prints, or @default if it cannot run."""
    try:
        res = subprocess.run(argv, capture_output=True, text=True, check=True)
        return res.stdout.splitlines()[0]
    except (OSError, subprocess.CalledProcessError, IndexError):
        return default


def main():
    out, results, kernel, rounds = sys.argv[1:5]
    here = os.path.dirname(os.path.abspath(__file__))
    commit = command_output(["git", "-C", here, "rev-parse", "--short", "HEAD"], "unknown")
    qemu = command_output(["qemu-system-x86_64", "--version"], "version ?")
    qemu = qemu.split("version ", 1)[-1].split()[0]
    report = os.path.join(results, f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d}"
                          f"-{commit}-insns.md")
    header = [f"# Instructions of one call at {commit}", "",
              f"- kernel: {kernel} (the bench kernel), TCG, counted by",
              f"  bench/insns_plugin.c in QEMU {qemu}",
              f"- {rounds} marked calls per filesystem, stage and path (fidedupe_bench's",
              "  insns mode, the split-4k stages), after 1000 unmarked rounds; each",
              "  figure is the median over the calls"]
    calls = read_calls(out)
    windows = read_windows(out)
    syms = Symbols(f"{out}/kallsyms.txt")
    if len(windows) != len(calls):
        sys.exit(f"insns: {len(windows)} windows for {len(calls)} marked calls")

    figures = collections.defaultdict(list)
    per_window = collections.defaultdict(list)
    bad = collections.Counter()
    for n, (fs, path, stage, was_bad) in enumerate(calls, start=1):
        figs, blocks = windows[n]
        figures[fs, path, stage].append(figs)
        bad[fs, path, stage] += was_bad
        by_function = collections.Counter()
        for addr, count in blocks.items():
            by_function[syms.name(addr)] += count
        per_window[fs, path, stage].append(by_function)
    # Each function's instructions in each call (0 where it did not run).
    per_function = {}
    for key, counters in per_window.items():
        names = set().union(*counters)
        per_function[key] = {k: [c[k] for c in counters] for k in names}
    pretty = demangle({name for funcs in per_function.values() for name in funcs})

    def med(fs, path, stage, key):
        return median_int([f[key] for f in figures[fs, path, stage]])

    lines = list(header)
    lines += ["- instructions: the kernel's (the user side of a call is the same",
              "  on both paths); accesses: the call's loads and stores; pages: the",
              "  distinct guest pages of code run and of data accessed",
              "- a stage with a call that returned something else than the",
              "  stage's result is marked *", ""]
    fss = sorted({c[0] for c in calls}, key=lambda fs: ("btrfs", "xfs").index(fs)
                 if fs in ("btrfs", "xfs") else 2)
    for fs in fss:
        lines += [f"## {fs}", "",
                  "| stage | native insns | module insns | module - native |"
                  " module/native | accesses (native, module) |"
                  " pages code+data (native, module) |",
                  "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for stage in STAGES:
            if not figures[fs, "native", stage]:
                continue
            ni, mi = (med(fs, p, stage, "kernel_insns") for p in PATHS)
            na, ma = (med(fs, p, stage, "accesses") for p in PATHS)
            npg, mpg = (med(fs, p, stage, "code_pages") + med(fs, p, stage, "data_pages")
                        for p in PATHS)
            mark = " *" if bad[fs, "native", stage] or bad[fs, "module", stage] else ""
            lines.append(f"| {stage}{mark} | {ni} | {mi} | {mi - ni:+d} | "
                         f"{mi / ni:.3f} | {na}, {ma} | {npg}, {mpg} |")
        lines.append("")
        for stage in DETAIL_STAGES:
            nat = {k: median_int(v) for k, v in per_function[fs, "native", stage].items()}
            mod = {k: median_int(v) for k, v in per_function[fs, "module", stage].items()}
            nat = {k: v for k, v in nat.items() if v}
            mod = {k: v for k, v in mod.items() if v}
            names = set(nat) | set(mod)
            same = [k for k in names if nat.get(k, 0) == mod.get(k, 0) and nat.get(k, 0)]
            diff = sorted((k for k in names if nat.get(k, 0) != mod.get(k, 0)),
                          key=lambda k: (-abs(mod.get(k, 0) - nat.get(k, 0)), k))
            lines += [f"{fs}, {stage}: {len(same)} functions ran the same number of "
                      f"instructions on both paths ({sum(nat[k] for k in same)} in all); "
                      f"those that differ:", "",
                      "| function | native | module | module - native |",
                      "| --- | ---: | ---: | ---: |"]
            for k in diff:
                n, m = nat.get(k, 0), mod.get(k, 0)
                lines.append(f"| `{pretty.get(k, k)}` | {n} | {m} | {m - n:+d} |")
            lines.append("")
    with open(report, "w") as f:
        f.write("\n".join(lines))
    print(f"insns: {report}")


if __name__ == "__main__":
    main()
