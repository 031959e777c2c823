#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Counts the results of fidedupe's KUnit suites in a guest's kernel log.

The suites run each time fidedupe.ko is loaded, each run a KTAP document
of its own.  Every document that holds a fidedupe_ suite is read by the
kernel's parser (tools/testing/kunit/kunit.py parse --json); the printed
line is "<documents> <passed> <failed> <skipped>", where crashed and error
results count as failed.

usage: kunit-results.py LINUX_TREE DMESG
"""
import json
import os
import re
import subprocess
import sys
import tempfile

TOP_LEVEL_KTAP = re.compile(r'^\[[ 0-9.]+\] (K?TAP) version \d+$')


def documents(lines):
    """The log's KTAP documents: each starts at a top-level version line."""
    doc = None
    for line in lines:
        if TOP_LEVEL_KTAP.match(line.rstrip('\n')):
            if doc:
                yield doc
            doc = []
        if doc is not None:
            doc.append(line)
    if doc:
        yield doc


def main():
    tree, dmesg = sys.argv[1], sys.argv[2]
    kunit = os.path.join(tree, 'tools/testing/kunit/kunit.py')
    with open(dmesg, errors='backslashreplace') as f:
        docs = [d for d in documents(f) if any('# Subtest: fidedupe_' in l for l in d)]
    passed = failed = skipped = 0
    with tempfile.TemporaryDirectory() as tmp:
        for i, doc in enumerate(docs):
            log = os.path.join(tmp, f'{i}.log')
            result = os.path.join(tmp, f'{i}.json')
            with open(log, 'w') as f:
                f.writelines(doc)
            subprocess.run([sys.executable, kunit, 'parse', f'--json={result}', log],
                           stdout=subprocess.DEVNULL, check=False)
            with open(result) as f:
                misc = json.load(f)['misc']
            passed += misc['passed']
            failed += misc['failed'] + misc['crashed'] + misc['errors']
            skipped += misc['skipped']
    print(len(docs), passed, failed, skipped)


if __name__ == '__main__':
    main()
