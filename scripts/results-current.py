#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Checks Documentation/results.rst against the checkout: a section whose
Commit: has module sources other than HEAD's must begin with "Stale:" and
name, in that first paragraph, each of Kbuild, rust/, include/ and
livepatch/ that differs; one whose sources are HEAD's must not begin so.

usage: results-current.py RESULTS_RST
"""

import re
import subprocess
import sys

MODULE_SOURCES = ["Kbuild", "rust", "include", "livepatch"]


def module_sources_differing(commit):
    """Which of COMMIT's module sources differ from HEAD's, as written in
    the record ("rust/", "Kbuild"); None if COMMIT is unknown."""
    r = subprocess.run(["git", "diff", "--name-only", commit, "HEAD", "--", *MODULE_SOURCES],
                       capture_output=True, text=True)
    if r.returncode != 0:
        return None
    tops = {path.split("/")[0] for path in r.stdout.split()}
    return [name if name == "Kbuild" else name + "/" for name in MODULE_SOURCES if name in tops]


def sections(text):
    """(title, body) of each section: a title underlined with '='."""
    parts = re.split(r"\n([^\n]+)\n=+\n", "\n" + text)
    return list(zip(parts[1::2], parts[2::2]))


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__.strip().splitlines()[-1])
    with open(sys.argv[1]) as f:
        text = f.read()
    bad = 0
    for title, body in sections(text):
        m = re.search(r"^Commit: ([0-9a-f]{7,40})$", body, re.M)
        if not m:
            continue
        differ = module_sources_differing(m.group(1))
        first = body.lstrip().split("\n\n")[0]
        stale = first.startswith("Stale:")
        if differ is None:
            print(f"results: {title}: no commit {m.group(1)}", file=sys.stderr)
            bad = 1
        elif differ and not stale:
            print(f"results: {title}: the module changed since {m.group(1)}; "
                  f"the section must begin with \"Stale:\"", file=sys.stderr)
            bad = 1
        elif differ and any(f"``{name}``" not in first for name in differ):
            print(f"results: {title}: its Stale: paragraph must name what differs "
                  f"from {m.group(1)}: " + ", ".join(f"``{n}``" for n in differ),
                  file=sys.stderr)
            bad = 1
        elif stale and not differ:
            print(f"results: {title}: says Stale: but {m.group(1)}'s module is HEAD's",
                  file=sys.stderr)
            bad = 1
    return bad


if __name__ == "__main__":
    sys.exit(main())
