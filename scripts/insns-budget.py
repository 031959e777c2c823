#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The gate on a call's cost: each "insns: STAGE PATH FS RATIO" line of a
make insns run (its ratios.txt) against the budget committed for it in
bench/insns-budget.  Fails if a ratio is more than 1% above its budget, or
if a budgeted line is missing from the run.  Raising a budget is a commit
that says why.

usage: insns-budget.py BUDGET RATIOS
"""
import sys

TOLERANCE = 1.01


def read(path, prefix):
    """{(stage, path, fs): ratio} from the lines of @path that start
    with @prefix."""
    table = {}
    with open(path) as f:
        for line in f:
            row = line.split()
            if len(row) == 5 and row[0] == prefix:
                table[tuple(row[1:4])] = float(row[4])
    return table


def main():
    budget_path, ratios_path = sys.argv[1:3]
    budget = read(budget_path, "budget:")
    ratios = read(ratios_path, "insns:")
    if not budget:
        sys.exit(f"insns-budget: no budget: line in {budget_path}")
    failed = 0
    for key, limit in sorted(budget.items()):
        name = " ".join(key)
        ratio = ratios.get(key)
        if ratio is None:
            print(f"insns-budget: {name}: not measured")
            failed += 1
        elif ratio > limit * TOLERANCE:
            print(f"insns-budget: {name}: {ratio:.3f}, over its budget "
                  f"{limit:.3f} by more than 1%")
            failed += 1
        else:
            print(f"insns-budget: {name}: {ratio:.3f} (budget {limit:.3f})")
    if failed:
        sys.exit(f"insns-budget: {failed} of {len(budget)} over budget or "
                 "not measured")


if __name__ == "__main__":
    main()
