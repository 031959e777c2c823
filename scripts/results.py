#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Counts what a VM run wrote, for every target that boots: one counter.

- Every OUTDIR/*.tap, whatever wrote it: each top-level "ok" and "not ok"
  line is a result; a file whose results do not match its plan ("1..N"),
  or that has no plan, is a failure (a program that died part way), but
  for lib.mk's run_tests, which prints its runner's results unplanned.
- KUnit: the kernel's parser (kunit.py parse) reads each run of
  fidedupe's suites from the guest's whole kernel log (OUTDIR/kmsg.txt);
  there must be one run per load of fidedupe.ko the guest noted
  (OUTDIR/fidedupe-loads), and at least one; with --kunit-builtin
  PREFIX, one run at boot of the suites built into the kernel.
- Skips: each must match a line of the expected-skips file (--skips) for
  the run's tier (--tier), and in a whole run (--whole) each such line
  must have matched a skip.
- --review RST: every test Documentation/review.rst names
  (program:case) passed on all four variants.
- --vm-status N: the guest's exit status; not 0 is a failure.

The last line is "N passed, N failed, N skipped"; the exit status is 1
if anything failed.

usage: results.py OUTDIR --linux-tree DIR [--skips FILE --tier T [--whole]]
                  [--review RST] [--vm-status N] [--kunit-builtin PREFIX]
"""
import argparse
import fnmatch
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

RESULT = re.compile(r'^(not )?ok \d+ (.*?)(?:\s+# (SKIP|skip|XFAIL|TODO)\b\s*(.*))?$')
PLAN = re.compile(r'^1\.\.(\d+)')
TOP_LEVEL_KTAP = re.compile(r'^\[[ 0-9.]+\] (K?TAP) version \d+$')
VARIANTS = ('btrfs_native', 'btrfs_module', 'xfs_native', 'xfs_module')


class Count:
    def __init__(self):
        self.passed = self.failed = self.skipped = 0

    def fail(self, why):
        print(f'results: {why}', file=sys.stderr)
        self.failed += 1


def kunit_documents(lines):
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


def count_kunit(count, out, tree, builtin=None):
    """fidedupe.ko's suites, once per load; or, with `builtin`, the
    suites named so, built into the kernel, once at boot."""
    kmsg = os.path.join(out, 'kmsg.txt')
    loads_file = os.path.join(out, 'fidedupe-loads')
    if builtin:
        prefix, loads, what = builtin, 1, 'at boot'
    elif not os.path.exists(loads_file):
        return
    else:
        with open(loads_file) as f:
            loads = sum(1 for line in f if line.strip())
        prefix, what = 'fidedupe_', 'for %d loads of fidedupe.ko' % loads
    try:
        with open(kmsg, errors='backslashreplace') as f:
            docs = [d for d in kunit_documents(f)
                    if any('# Subtest: ' + prefix in line for line in d)]
    except OSError:
        docs = []
    if loads == 0 or len(docs) != loads:
        count.fail(f'KUnit ran {len(docs)} times {what}')
    kunit = os.path.join(tree, 'tools/testing/kunit/kunit.py')
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
            count.passed += misc['passed']
            count.skipped += misc['skipped']
            bad = misc['failed'] + misc['crashed'] + misc['errors']
            if bad:
                count.fail(f'KUnit run {i + 1}: {bad} failed')


def read_skips(path, tier):
    """The expected skips of TIER: "TIERS FILE CASE REASON" a line,
    separated by tabs; TIERS separated by commas, FILE and CASE globs."""
    skips = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith('#'):
                continue
            tiers, tap, case, reason = (line.split('\t', 3) + [''])[:4]
            if tier in tiers.split(','):
                skips.append({'tap': tap, 'case': case, 'reason': reason,
                              'where': f'{path}:{n}', 'seen': 0})
    return skips


def count_taps(count, out, skips):
    passes = set()
    for path in sorted(glob.glob(os.path.join(out, '*.tap'))):
        name = os.path.basename(path)[:-len('.tap')]
        plan, results = None, 0
        # lib.mk's run_tests prints its runner's results with no plan.
        runner_only = True
        with open(path, errors='backslashreplace') as f:
            for line in f:
                line = line.rstrip('\n')
                m = PLAN.match(line)
                if m:
                    plan = int(m.group(1))
                    continue
                m = RESULT.match(line)
                if not m:
                    continue
                results += 1
                notok, case, directive, reason = m.groups()
                runner_only = runner_only and case.startswith('selftests: ')
                if notok and directive not in ('TODO',):
                    count.fail(f'{name}: not ok {case}')
                elif directive and directive.upper() == 'SKIP':
                    count.skipped += 1
                    match = [s for s in skips
                             if fnmatch.fnmatchcase(name, s['tap'])
                             and fnmatch.fnmatchcase(case, s['case'])
                             and s['reason'] in reason]
                    for s in match:
                        s['seen'] += 1
                    if not match:
                        count.fail(f'{name}: unexpected skip: {case} # {reason}')
                else:
                    count.passed += 1
                    passes.add((name, case))
        if plan is None and not (results and runner_only):
            count.fail(f'{name}.tap: no plan (the program printed no results)')
        elif plan is not None and plan != results:
            count.fail(f'{name}.tap: {results} results for a plan of {plan}')
    return passes


def check_review(count, review, passes):
    """Every program:case review.rst names passed on every variant, or,
    named program:case[FS], on the variants of filesystem FS."""
    with open(review) as f:
        names = sorted(set(re.findall(
            r'\b(fidedupe_[a-z]*_*test:[a-z0-9_]*)(?:\[(btrfs|xfs)\])?', f.read())))
    bad = 0
    for name, fs in names:
        prog, case = name.split(':')
        for v in VARIANTS:
            if fs and not v.startswith(fs + '_'):
                continue
            if not any((tap == prog or tap.startswith(prog + '.') or tap == 'small-limits')
                       and c == f'dedupe.{v}.{case}' for tap, c in passes):
                print(f'results: review.rst: {name} did not pass on {v}', file=sys.stderr)
                bad = 1
    if not names or bad:
        count.fail(f'review.rst: {len(names)} tests named, not all passed')
    else:
        count.passed += 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('out')
    ap.add_argument('--linux-tree', required=True)
    ap.add_argument('--skips')
    ap.add_argument('--tier', default='check')
    ap.add_argument('--whole', action='store_true')
    ap.add_argument('--review')
    ap.add_argument('--vm-status', type=int, default=0)
    ap.add_argument('--kunit-builtin', metavar='PREFIX',
                    help='suites named PREFIX* built in, run once at boot')
    args = ap.parse_args()

    count = Count()
    skips = read_skips(args.skips, args.tier) if args.skips else []
    count_kunit(count, args.out, args.linux_tree, args.kunit_builtin)
    passes = count_taps(count, args.out, skips)
    if args.whole:
        for s in skips:
            if not s['seen']:
                count.fail(f'{s["where"]}: the listed skip did not happen: '
                           f'{s["tap"]} {s["case"]}')
    if args.review:
        check_review(count, args.review, passes)
    if args.vm_status:
        count.fail(f'the VM exited with status {args.vm_status}')
    print(f'{count.passed} passed, {count.failed} failed, {count.skipped} skipped')
    return 1 if count.failed else 0


if __name__ == '__main__':
    sys.exit(main())
