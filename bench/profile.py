#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Where the time of one call goes: reads the function_graph traces that
qemu/guest-profile.sh wrote (trace-FS-PATH-STAGE.txt) and writes a markdown
report: per filesystem and stage, each function's own time on both paths
side by side, then the call tree under __x64_sys_ioctl() of each path,
every function with its calls and its time (inclusive and its own) per
ioctl, in microseconds.

usage: profile.py OUTDIR REPORT.md TITLE-LINE...
"""

import collections
import pathlib
import re
import sys

ROOT = "__x64_sys_ioctl"
# " 1) + 12.345 us   |    } /* name */": CPU, optional overhead mark,
# optional duration, then the function column.
LINE = re.compile(r"^\s*\d+\)\s*(?:[-+!#*@$]\s*)?(?:([\d.]+) us\s*)?\|\s?(.*?)\s*$")
# The leaf and the opening and closing forms of the function column; a
# module's function is followed by its module's name in brackets.
NAME = r"([\w.$]+)(?: \[\w+\])?"
LEAF = re.compile(rf"^{NAME}\(\);$")
OPEN = re.compile(rf"^{NAME}\(\) \{{$")
CLOSE = re.compile(rf"^\}}(?: /\* {NAME} \*/)?$")


def parse(path):
    """Per call path (tuple of names from ROOT): [calls, inclusive us].
    Returns (table, roots): roots is the number of ROOT calls closed."""
    table = collections.OrderedDict()
    stack = []
    roots = 0

    def add(key, us):
        entry = table.setdefault(key, [0, 0.0])
        entry[0] += 1
        entry[1] += us

    for line in open(path, errors="replace"):
        m = LINE.match(line)
        if not m:
            continue
        us, body = m.group(1), m.group(2).strip()
        if m := OPEN.match(body):
            if not stack and m.group(1) != ROOT:
                continue
            stack.append(m.group(1))
            table.setdefault(tuple(stack), [0, 0.0])
        elif m := LEAF.match(body):
            if stack and us is not None:
                add(tuple(stack) + (m.group(1),), float(us))
        elif m := CLOSE.match(body):
            if not stack:
                continue
            if us is not None:
                add(tuple(stack), float(us))
            if len(stack) == 1:
                roots += 1
            stack.pop()
    return table, roots


def tree(table, roots, min_share):
    """Rows (depth, name, calls, inclusive us, own us) per ioctl, in the
    order of the trace, without the functions under min_share of the
    root's time (and their callees)."""
    total = sum(us for key, (_, us) in table.items() if len(key) == 1)
    rows = []
    for key, (calls, us) in table.items():
        if not calls or us < min_share * total:
            continue
        children = sum(c_us for c_key, (_, c_us) in table.items()
                       if len(c_key) == len(key) + 1 and c_key[:-1] == key)
        rows.append((len(key) - 1, key[-1], calls / roots, us / roots,
                     (us - children) / roots))
    return rows


def own_by_function(table, roots):
    """Per function name, wherever it sits in the tree: (calls, own us)
    per ioctl."""
    out = collections.defaultdict(lambda: [0.0, 0.0])
    for key, (calls, us) in table.items():
        children = sum(c_us for c_key, (_, c_us) in table.items()
                       if len(c_key) == len(key) + 1 and c_key[:-1] == key)
        out[key[-1]][0] += calls / roots
        out[key[-1]][1] += (us - children) / roots
    return out


def main():
    outdir, report = pathlib.Path(sys.argv[1]), sys.argv[2]
    lines = list(sys.argv[3:])
    lines.append("")
    for fs in ("btrfs", "xfs"):
        for stage in ("4k", "zerolen"):
            summary = []
            sections = []
            own_times = {}
            for path in ("native", "module"):
                trace = outdir / f"trace-{fs}-{path}-{stage}.txt"
                if not trace.exists():
                    summary.append(f"{path}: no trace")
                    continue
                table, roots = parse(trace)
                if not roots:
                    summary.append(f"{path}: no complete {ROOT}() in the trace")
                    continue
                own_times[path] = own_by_function(table, roots)
                rows = tree(table, roots, 0.01)
                root_us = rows[0][3] if rows else 0.0
                summary.append(f"{path} {root_us:.2f} us per call ({roots} calls traced)")
                sections.append(f"#### {path}")
                sections.append("")
                sections.append("| function | calls | us | own us |")
                sections.append("| --- | ---: | ---: | ---: |")
                for depth, name, calls, us, own in rows:
                    indent = "&nbsp;&nbsp;" * depth
                    sections.append(f"| {indent}`{name}` | {calls:.2f} | {us:.2f} | {own:.2f} |")
                sections.append("")
            lines.append(f"### {fs}, {stage}: " + "; ".join(summary))
            lines.append("")
            if len(own_times) == 2:
                lines.append("Own time by function, wherever it is called from"
                             " (the module's Rust code is in `__x64_sys_ioctl`'s):")
                lines.append("")
                lines.append("| function | native calls | native own us |"
                             " module calls | module own us | module - native us |")
                lines.append("| --- | ---: | ---: | ---: | ---: | ---: |")
                names = sorted(set(own_times["native"]) | set(own_times["module"]),
                               key=lambda n: -abs(own_times["module"].get(n, (0, 0))[1]
                                                  - own_times["native"].get(n, (0, 0))[1]))
                for name in names:
                    nc, nu = own_times["native"].get(name, (0, 0))
                    mc, mu = own_times["module"].get(name, (0, 0))
                    if max(nu, mu) < 0.05:
                        continue
                    lines.append(f"| `{name}` | {nc:.2f} | {nu:.2f} | {mc:.2f} | {mu:.2f} | {mu - nu:+.2f} |")
                lines.append("")
            lines.extend(sections)
    pathlib.Path(report).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
