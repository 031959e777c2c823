#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Merge the verdicts of a partial `make mutants` run into the table.

usage: mutants-merge.py RESULTS_MD RESULTS_TSV PATCH_DIR NOTE_PREFIX

RESULTS_MD is BUILDDIR/results/mutants/table.md, the table of the last
run of every mutant; RESULTS_TSV the run's "name<TAB>verdict<TAB>test<TAB>seconds"
lines (scripts/mutants.sh).  Every mutant the run killed or saw survive
replaces its row, or gets one (a new patch), in name order; the others
keep theirs.  A line "NOTE_PREFIX: names." is added before the closing
line, which is counted again over the whole table.  Prints the names
merged; merges nothing and exits 1 if the run has no verdict.
"""
import re
import sys


def rule(patch_dir, name):
    for line in open(f"{patch_dir}/{name}.patch"):
        if line.startswith("Rule: "):
            return line[len("Rule: "):].strip().replace("|", "\\|")
    return ""


def main():
    md_path, tsv_path, patch_dir, note = sys.argv[1:5]
    verdicts = {}
    for line in open(tsv_path):
        f = line.rstrip("\n").split("\t")
        if len(f) >= 4 and f[1] in ("killed", "survived") and f[0] != "control":
            verdicts[f[0]] = f
    if not verdicts:
        return 1
    rows = {}
    for name, verdict, killer, secs in (v[:4] for v in verdicts.values()):
        cell = f"`{killer}`" if verdict == "killed" else "**survived**"
        secs = secs.split(".")[0]
        rows[name] = f"| {name} | {rule(patch_dir, name)} | {cell} | {secs} |"

    out, pending = [], dict(sorted(rows.items()))
    n = k = s = 0

    def count(row):
        nonlocal n, k, s
        n += 1
        s += "**survived**" in row
        k += "**survived**" not in row and "not run" not in row

    for line in open(md_path).read().splitlines():
        m = re.match(r"\| (\d\d-[^ ]+) \|", line)
        if m:
            for name in [p for p in pending if p < m.group(1)]:
                out.append(pending.pop(name))
                count(out[-1])
            line = pending.pop(m.group(1), line)
            count(line)
        elif pending and out and re.match(r"\| \d\d-", out[-1]):
            for name in list(pending):
                out.append(pending.pop(name))
                count(out[-1])
        if line.startswith("mutants: "):
            out += [f"{note}: {', '.join(sorted(rows))}.", ""]
            line = f"mutants: {n}, killed {k}, survived {s}"
            if k + s < n:
                line += f", not run {n - k - s}"
        out.append(line)
    open(md_path, "w").write("\n".join(out) + "\n")
    print(" ".join(sorted(rows)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
