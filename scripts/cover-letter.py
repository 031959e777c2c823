#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Fills in the cover letter git format-patch wrote for the kernel series.

The subject and the text come from this repository: the introduction
from series/cover.msg, the table of what changes for a
caller from Documentation/review.rst as the series tells it
(scripts/series_review.py: each row the review's question, what mainline
does, what the Rust implementation does, and the series' selftests that
pin both, as TREE has them), and the figures from the sections of
Documentation/results.rst named in cover.msg, each with the commit it was
measured at.  Its date is the newest of the patches' (each that of the
last commit here that changed its sources), so that the same sources give
the same cover letter.

usage: cover-letter.py COVER-LETTER REPO TREE BASE-DESCRIPTION
"""
import email.utils
import glob
import os
import re
import sys
import textwrap

import series_review

WIDTH = 72


def rst_text(s):
    """reStructuredText inline markup as plain text."""
    s = re.sub(r'``([^`]*)``', r'\1', s)
    s = re.sub(r':\w+:`([^`<]*?)(?: <[^>]*>)?`', r'\1', s)
    s = re.sub(r'`([^`<]*?) <[^>]*>`_', r'\1', s)
    return ' '.join(s.split())


def selftest_cases(tree):
    """The "program:case" names of the series' selftests in TREE."""
    cases = set()
    for path in glob.glob('%s/tools/testing/selftests/filesystems/dedupe/*_test.c' % tree):
        program = os.path.basename(path)[:-2]
        for case in re.findall(r'^TEST_F\w*\(dedupe, (\w+)', open(path).read(), flags=re.M):
            cases.add('%s:%s' % (program, case))
    return cases


def review_rows(path, tree):
    """The rows of review.rst's tables as the series tells them."""
    cases = selftest_cases(tree)
    if not cases:
        sys.exit('cover-letter: no selftests in %s' % tree)
    rows = []
    for question, mainline, rust, tests in series_review.rows(open(path).read()):
        tests = series_review.series_tests(tests, cases) or "(none of the series' selftests)"
        rows.append([rst_text(question), rst_text(mainline), rst_text(rust), tests])
    return rows


def wrap(text, indent=''):
    return textwrap.fill(text, WIDTH, initial_indent=indent, subsequent_indent=indent,
                         break_on_hyphens=False, break_long_words=False)


def caller_changes(rows):
    out = []
    for n, (question, mainline, rust, tests) in enumerate(rows, 1):
        out.append(wrap('%d. %s' % (n, question)))
        out.append(wrap('C: ' + mainline, '   '))
        out.append(wrap('Rust: ' + rust, '   '))
        out.append(wrap('Tests: ' + tests, '   '))
        out.append('')
    return '\n'.join(out)


def results(path, sections):
    """The named sections of results.rst: title, commit, and text."""
    text = open(path).read()
    out = []
    for title in sections:
        m = re.search(r'^%s\n=+\n(.*?)(?=^[^\n]+\n=+\n|\Z)' % re.escape(title), text,
                      flags=re.M | re.S)
        if not m:
            sys.exit('cover-letter: no section "%s" in %s' % (title, path))
        body = m.group(1)
        paras = [rst_text(p) for p in re.split(r'\n\s*\n', body) if p.strip()
                 and not p.lstrip().startswith('..') and not p.lstrip().startswith('::')]
        # Commit, command and figures; after the Stale: line if it has one.
        count = 4 if paras and paras[0].startswith('Stale:') else 3
        out.append(wrap(title + ': ' + ' '.join(paras[:count])))
        out.append('')
    return '\n'.join(out)


def main():
    cover, repo, tree, base = sys.argv[1:]
    msg = open('%s/series/cover.msg' % repo).read()
    subject, body = msg.split('\n', 1)
    sections = re.findall(r'^@results (.+)$', body, flags=re.M)
    body = re.sub(r'^@results .+\n', '', body, flags=re.M)
    body = body.replace('@base\n', wrap(base) + '\n')
    body = body.replace('@changes\n', caller_changes(
        review_rows('%s/Documentation/review.rst' % repo, tree)))
    body = body.replace('@testing\n', results('%s/Documentation/results.rst' % repo,
                                              sections))
    text = open(cover).read()
    dates = []
    for path in glob.glob(os.path.join(os.path.dirname(cover), '0*.patch')):
        if path != cover:
            m = re.search(r'^Date: (.+)$', open(path).read(), flags=re.M)
            dates.append(email.utils.parsedate_to_datetime(m.group(1)))
    newest = email.utils.format_datetime(max(dates))
    text = re.sub(r'^Date: .+$', lambda _: 'Date: ' + newest, text, count=1, flags=re.M)
    text = text.replace('*** SUBJECT HERE ***', subject)
    text = text.replace('*** BLURB HERE ***', body.strip('\n'))
    open(cover, 'w').write(text)


if __name__ == '__main__':
    main()
