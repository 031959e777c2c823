#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Where a VM run's time went, case by case.

run_fidedupe_tests.sh keeps each program's output with each line's time
(OUTDIR/*.times), and qemu/guest-check.sh the time each stage began
(OUTDIR/stages.times).  This prints each stage's time, each program
run's span, and the N longest kselftest cases, from the harness's
"#  RUN" line to the case's result.

usage: case-times.py OUTDIR [N]
"""
import glob
import os
import re
import sys

RUN = re.compile(r'^#  RUN +(\S+)')
DONE = re.compile(r'^(?:not )?ok \d+ (\S+)')


def main():
    out = sys.argv[1]
    most = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    cases, spans = [], []
    try:
        with open(os.path.join(out, 'stages.times')) as f:
            stages = [line.split() for line in f if len(line.split()) == 2]
    except OSError:
        stages = []
    for (begun, name), (ended, _) in zip(stages, stages[1:]):
        print(f'times: {float(ended) - float(begun):7.1f} s  stage {name}')
    for path in sorted(glob.glob(os.path.join(out, '*.times'))):
        if os.path.basename(path) == 'stages.times':
            continue
        name = os.path.basename(path)[:-len('.times')]
        started = {}
        first = last = None
        with open(path, errors='backslashreplace') as f:
            for line in f:
                stamp, _, text = line.rstrip('\n').partition(' ')
                try:
                    t = float(stamp)
                except ValueError:
                    continue
                first = t if first is None else first
                last = t
                m = RUN.match(text)
                if m:
                    started[m.group(1)] = t
                    continue
                m = DONE.match(text)
                if m and m.group(1) in started:
                    cases.append((t - started.pop(m.group(1)), m.group(1), name))
        if first is not None:
            spans.append((last - first, name))
    for seconds, name in sorted(spans, reverse=True):
        print(f'times: {seconds:7.1f} s  {name}')
    for seconds, case, name in sorted(cases, reverse=True)[:most]:
        print(f'times: {seconds:7.1f} s  {case} ({name})')


if __name__ == '__main__':
    main()
