#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""make insns: the report of what each marked call ran, from the guest's
rows (insns.tsv), the plugin's windows (plugin.log) and the guest's
kallsyms, written to RESULTS/<date>-<commit>-insns.md (its path printed).
Each figure is the median over the calls of one filesystem, stage and
path.  Two comparisons with mainline's FIDEDUPERANGE (native): the device
(/dev/fidedupe, fidedupe's own ioctl) and the livepatch (FIDEDUPERANGE with
fidedupe's vfs_dedupe_file_range()).  It ends with a line per stage,
comparison and filesystem, "insns: STAGE PATH FS RATIO", the ratio being
fidedupe's median over mainline's, which scripts/insns-budget.py checks.

usage: insns.py OUTDIR RESULTS KERNEL ROUNDS
"""
import bisect
import collections
import datetime
import glob
import os
import statistics
import subprocess
import sys

STAGES = ("entry", "source", "badfd", "zerolen", "4k")
# The stages whose instructions are listed function by function, and
# summed up in the "insns:" lines.
DETAIL_STAGES = ("zerolen", "4k")
# Each comparison: its name in the "insns:" lines, and fidedupe's path in
# the guest's rows, against "native".
COMPARISONS = (("device", "module"), ("livepatch", "livepatch"))
# What livepatching itself runs to redirect a call (ftrace's trampoline
# and klp_ftrace_handler()): the price of loading fidedupe beside
# mainline, which a kernel built with it does not pay.  Listed, and taken
# out of the livepatch's ratio.
REDIRECTION = ("ftrace_", "klp_", "arch_ftrace_", "__fentry__")
# A call that spun here waited for a lock another CPU held (xfs's
# writeback, with the loop device's worker on the other CPU).
SPIN_WAIT = "spin_lock_slowpath"


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

    def __init__(self, paths):
        syms = set()
        for path in paths:
            with open(path) as f:
                for line in f:
                    row = line.split()
                    if len(row) >= 3 and int(row[0], 16) and row[1] in "tTwW":
                        syms.add((int(row[0], 16), row[2]))
        syms = sorted(syms)
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
    syms = Symbols(glob.glob(f"{out}/kallsyms*.txt"))
    if len(windows) != len(calls):
        sys.exit(f"insns: {len(windows)} windows for {len(calls)} marked calls")

    figures = collections.defaultdict(list)
    per_window = collections.defaultdict(list)
    bad = collections.Counter()
    left_out = collections.Counter()
    for n, (fs, path, stage, was_bad) in enumerate(calls, start=1):
        figs, blocks = windows[n]
        bad[fs, path, stage] += was_bad
        by_function = collections.Counter()
        for addr, count in blocks.items():
            by_function[syms.name(addr)] += count
        # An interrupt's work is the kernel's, not the call's; a spin on a
        # lock another CPU holds is time, not work.
        if figs.get("interrupts", 0) or any(SPIN_WAIT in k for k in by_function):
            left_out[fs, path, stage] += 1
            continue
        figures[fs, path, stage].append(figs)
        per_window[fs, path, stage].append(by_function)
    # Each function's instructions in each call (0 where it did not run).
    per_function = {}
    for key, counters in per_window.items():
        names = set().union(*counters)
        per_function[key] = {k: [c[k] for c in counters] for k in names}
    pretty = demangle({name for funcs in per_function.values() for name in funcs})

    def med(fs, path, stage, key):
        return median_int([f[key] for f in figures[fs, path, stage]])

    def function_medians(fs, path, stage):
        funcs = per_function.get((fs, path, stage), {})
        return {k: v for k, v in ((k, median_int(v)) for k, v in funcs.items()) if v}

    def redirection(name):
        return name.startswith(REDIRECTION)

    lines = list(header)
    lines += ["- instructions: the kernel's (the user side of a call is the same",
              "  on every path); accesses: the call's loads and stores; pages: the",
              "  distinct guest pages of code run and of data accessed",
              "- device: /dev/fidedupe against FIDEDUPERANGE; livepatch:",
              "  FIDEDUPERANGE with fidedupe_livepatch.ko against without, the",
              "  same fs/ioctl.c around the Rust or the C vfs_dedupe_file_range()",
              "- livepatch - redirection: without the instructions of ftrace's",
              "  trampoline and klp_ftrace_handler(), which send the call to",
              "  fidedupe (what a kernel built with the Rust implementation does",
              "  not run); the livepatch's ratio is that one",
              "- only the calling task's instructions count: not what the vCPU",
              "  ran while the call slept (bench/insns_plugin.c); a call during",
              "  which an interrupt arrived, or which spun on a lock another CPU",
              "  held, is left out, and the last column says how many were",
              "  (native, device, livepatch)",
              "- a stage with a call that returned something else than the",
              "  stage's result is marked *", ""]
    fss = sorted({c[0] for c in calls}, key=lambda fs: ("btrfs", "xfs").index(fs)
                 if fs in ("btrfs", "xfs") else 2)
    ratios = []
    for fs in fss:
        lines += [f"## {fs}", "",
                  "| stage | native | device | livepatch | livepatch - redirection |"
                  " device/native | livepatch/native |"
                  " accesses (native, device, livepatch) |"
                  " pages code+data (native, device, livepatch) | left out |",
                  "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for stage in STAGES:
            if not figures[fs, "native", stage]:
                continue
            paths = ["native"] + [p for _, p in COMPARISONS]
            have = [p for p in paths if figures[fs, p, stage]]
            ins = {p: med(fs, p, stage, "kernel_insns") for p in have}
            acc = {p: med(fs, p, stage, "accesses") for p in have}
            pgs = {p: med(fs, p, stage, "code_pages") + med(fs, p, stage, "data_pages")
                   for p in have}
            redir = sum(v for k, v in function_medians(fs, "livepatch", stage).items()
                        if redirection(k))
            lp_own = ins["livepatch"] - redir if "livepatch" in ins else None

            def cell(d, p):
                return str(d[p]) if p in d else "-"

            def ratio(value):
                return f"{value / ins['native']:.3f}" if value is not None else "-"
            mark = " *" if any(bad[fs, p, stage] for p in have) else ""
            lines.append(f"| {stage}{mark} | {ins['native']} | {cell(ins, 'module')} | "
                         f"{cell(ins, 'livepatch')} | {lp_own if lp_own is not None else '-'} | "
                         f"{ratio(ins.get('module'))} | {ratio(lp_own)} | "
                         f"{', '.join(cell(acc, p) for p in paths)} | "
                         f"{', '.join(cell(pgs, p) for p in paths)} | "
                         f"{', '.join(str(left_out[fs, p, stage]) for p in paths)} |")
            if stage in DETAIL_STAGES:
                for name, path in COMPARISONS:
                    value = lp_own if path == "livepatch" else ins.get(path)
                    if value is not None:
                        ratios.append(f"insns: {stage} {name} {fs} "
                                      f"{value / ins['native']:.3f}")
        lines.append("")
        for stage in DETAIL_STAGES:
            nat = function_medians(fs, "native", stage)
            for name, path in COMPARISONS:
                mod = function_medians(fs, path, stage)
                if not mod:
                    continue
                names = set(nat) | set(mod)
                same = [k for k in names if nat.get(k, 0) == mod.get(k, 0) and nat.get(k, 0)]
                diff = sorted((k for k in names if nat.get(k, 0) != mod.get(k, 0)),
                              key=lambda k: (-abs(mod.get(k, 0) - nat.get(k, 0)), k))
                lines += [f"{fs}, {stage}, {name}: {len(same)} functions ran the same "
                          f"number of instructions on both paths "
                          f"({sum(nat[k] for k in same)} in all); those that differ"
                          f"{' (redirection: the livepatch mechanism)' if path == 'livepatch' else ''}:",
                          "",
                          f"| function | native | {name} | {name} - native |",
                          "| --- | ---: | ---: | ---: |"]
                for k in diff:
                    n, m = nat.get(k, 0), mod.get(k, 0)
                    tag = " (redirection)" if path == "livepatch" and redirection(k) else ""
                    lines.append(f"| `{pretty.get(k, k)}`{tag} | {n} | {m} | {m - n:+d} |")
                lines.append("")
    lines += ["## Ratios", "", "```"] + ratios + ["```", ""]
    with open(report, "w") as f:
        f.write("\n".join(lines))
    with open(f"{out}/ratios.txt", "w") as f:
        f.write("".join(line + "\n" for line in ratios))
    print(f"insns: report {report}")
    for line in ratios:
        print(line)


if __name__ == "__main__":
    main()
