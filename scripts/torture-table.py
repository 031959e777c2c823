#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The reliability table of one torture run, in Markdown, from its TAP files.

usage: torture-table.py RESULTS_DIR

Reads the torture-*.tap files scripts/torture.sh keeps (or make check's
vm-check directory) and prints: per call shape, the fault sites swept and
the failures injected on each path; per filesystem and path, the stress
figures; the engines; the unload checks; and the totals of failed checks,
splats (splats.txt), unmount failures, kmemleak reports and changed bytes.
"""

import collections
import glob
import os
import re
import sys


def lines(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read().splitlines()
    except OSError:
        return []


def splat_total(d):
    """Kernel splats of the run, from the splats.txt qemu/vm.sh writes."""
    path = os.path.join(d, "splats.txt")
    if not os.path.exists(path):
        return "kernel splats: not run"
    return f"kernel splats: {sum(1 for l in lines(path) if l.strip())}"


def failed_of(every, case, what):
    """How many of the results whose case starts with CASE failed."""
    results = [l for _, l in every if re.match(r"(not )?ok \d+ " + case, l)]
    if not results:
        return f"{what}: not run"
    failed = sum(1 for l in results if l.startswith("not ok "))
    return f"{what} failures: {failed} of {len(results)}"


def changed_bytes(every):
    """Reports of changed file data, out of the checks that look for them."""
    checks = [l for _, l in every
              if re.match(r"(not )?ok \d+ .*(no_byte_changed|data_unchanged)", l)]
    reports = sum(1 for _, l in every if "file data changed" in l)
    reports += sum(1 for l in checks if l.startswith("not ok "))
    if not checks and not reports:
        return "changed bytes: not checked"
    return f"reports of changed bytes: {reports} in {len(checks)} checks"


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__.strip().splitlines()[-1])
    d = sys.argv[1]
    taps = sorted(glob.glob(os.path.join(d, "torture-*.tap")))
    every = [(os.path.basename(t), l) for t in taps for l in lines(t)]
    out = []

    # Faults: "# faults FS PATH SHAPE: N sites swept, N failures injected, ..."
    sweep = collections.OrderedDict()
    for name, l in every:
        m = re.match(r"# faults (\w+) (\w+) (\w+): (\d+) sites swept, (\d+) failures injected.*; (\d+) problems", l)
        if not m:
            continue
        fs, path, shape, sites, inj, problems = m.groups()
        if path == "native" and name.endswith("-livepatch.tap"):
            path = "livepatch"
        sweep.setdefault(shape, {})[(fs, path)] = (int(sites), int(inj), int(problems))
    if sweep:
        cols = sorted({k for v in sweep.values() for k in v},
                      key=lambda k: (k[0], ["native", "module", "livepatch"].index(k[1])))
        out.append("| fault sweep: sites swept / failures injected | "
                   + " | ".join(f"{fs} {p}" for fs, p in cols) + " |")
        out.append("| --- |" + " --- |" * len(cols))
        for shape, v in sweep.items():
            cells = []
            for k in cols:
                s = v.get(k)
                cells.append(f"{s[0]} / {s[1]}" + (f" ({s[2]} problems)" if s and s[2] else "")
                             if s else "")
            out.append(f"| {shape} | " + " | ".join(cells) + " |")
        out.append("")

    rows = []
    # Read errors: "# io-errors FS PATH: call R, statuses A B C"
    for name, l in every:
        m = re.match(r"# io-errors (\w+) (\w+): call (-?\d+), statuses (.*)", l)
        if m:
            rows.append((f"read errors, {m.group(1)} {m.group(2)}",
                         f"call {m.group(3)}, statuses {m.group(4)} (the middle one uncached)"))
    # Stress: "# stress FS: N s, ..." and "# stress FS PATH: N calls ..."
    for name, l in every:
        lp = " (livepatch loaded)" if name.endswith("-livepatch.tap") else ""
        m = re.match(r"# stress (\w+): (.*)", l)
        if m:
            rows.append((f"stress, {m.group(1)}{lp}", m.group(2)))
        m = re.match(r"# stress (\w+) (\S+): (.*)", l)
        if m:
            rows.append((f"stress, {m.group(1)} {m.group(2)}{lp}", m.group(3)))
    # Engines.
    for name, l in every:
        m = re.match(r"# (stress-ng --file-ioctl|trinity \(.*\)) on (\w+): (.*)", l)
        if m:
            rows.append((f"{m.group(1)}, {m.group(2)}", m.group(3)))
        m = re.match(r"# stress-ng: metrc: \[\d+\] file-ioctl\s+(\d+)\s+([\d.]+)", l)
        if m:
            rows[-1] = (rows[-1][0], rows[-1][1] + f"; {m.group(1)} bogo ops in {m.group(2)} s")
    # Unload.
    for name, l in every:
        m = re.match(r"# (rmmod while in use: .*|round \d+: .*|\d+ of \d+ rounds.*)", l)
        if m and name == "torture-unload.tap":
            rows.append(("unload", m.group(1)))
    if rows:
        out.append("| run | figures |")
        out.append("| --- | --- |")
        out.extend(f"| {a} | {b} |" for a, b in rows)
        out.append("")

    failed = sum(1 for _, l in every if l.startswith("not ok "))
    passed = sum(1 for _, l in every if l.startswith("ok "))
    leaks = [l for _, l in every if l.startswith("# kmemleak:")]
    out.append(f"checks: {passed} passed, {failed} failed; "
               f"{splat_total(d)}; "
               f"{failed_of(every, r'unmount ', 'unmount')}; "
               f"{leaks[-1][2:] if leaks else 'kmemleak: not run'}; "
               f"{changed_bytes(every)}")
    print("\n".join(out))


if __name__ == "__main__":
    main()
