# SPDX-License-Identifier: GPL-2.0
"""Documentation/review.rst's rows as the kernel series tells them.

review.rst speaks of the module: its device, its man page, its KUnit
suites' names (fidedupe_*) and its selftests' (fidedupe_*_test).  The
series' cover letter (scripts/cover-letter.py) and its
Documentation/filesystems/dedupe.rst (scripts/kernel-series.py) speak of
the built-in implementation: each sentence below is said the series' way,
the suites and programs carry the series' names, and a test the series'
selftests do not have is left out.  A sentence that is no longer in
review.rst fails the series, so that the two cannot drift apart.
"""
import re

# (review.rst's words, the series' words), in reStructuredText.
WORDING = [
    ("Out of this module's reach; it keeps the ioctl's structure\n"
     "unchanged so that a system call, if one comes, can share the code\n"
     "unmodified (``device.rs`` and ``records.rs`` are the only\n"
     "ioctl-specific parts).",
     "Out of this series' reach; the ioctl's structure is unchanged, and\n"
     "only ``records.rs`` knows it, so that a system call, if one comes,\n"
     "can share the rest unmodified."),
    ("``sigkill_between_destinations_without_chunks`` (not listed here:\n"
     "it runs on ``/dev/fidedupe`` only, as ``FIDEDUPERANGE`` takes 127\n"
     "destinations) kills a walk of 65535 length-0 destinations, which\n"
     "reach no chunk, and requires the records after the one in progress\n"
     "untouched.",
     "the KUnit case\n"
     "``fidedupe_engine:fatal_signal_ends_the_call_after_the_write_back``\n"
     "pins the check after a destination."),
    ("whether fidedupe saw it before a chunk or",
     "whether the Rust implementation saw it before a chunk or"),
    ("``fidedupe.4`` names ``FILE_DEDUPE_RANGE_SAME`` and\n"
     "``FILE_DEDUPE_RANGE_DIFFERS``, and every errno with its side.",
     "The man-pages patch sent beside this series names\n"
     "``FILE_DEDUPE_RANGE_SAME`` and ``FILE_DEDUPE_RANGE_DIFFERS``."),
    ("(Before this round fidedupe checked the destination against the whole\n"
     "request: ``EINVAL``.)  At full size, with mainline's own 1 GiB cap,\n"
     "the case ``cap_before_destination_checks_full_size`` runs on btrfs\n"
     "(a source of 1280 MiB, a destination of 1152 MiB: both SAME with\n"
     "1 GiB); on xfs it is skipped for time.", ""),
    ("(Before, the filesystem saw one chunk at a time and shared overlapping\n"
     "ranges whose distance was at least a chunk.)", ""),
    ("a process sharing the records does: through ``/dev/fidedupe`` the\n"
     "destinations done are written, the one in progress reads ``-EINTR``\n"
     "with the chunks shared before the signal, and the rest are untouched;\n"
     "through the livepatch nothing is copied back.",
     "a process sharing the records does: nothing is copied back."),
    ("; both in the man page's RETURN VALUE.", "."),
    ("Every destination is attempted (up to 65535); only a fatal signal or\n"
     "a fault stops the call, and each destination's ``status`` tells its\n"
     "outcome.",
     "Every destination is attempted; only a fatal signal stops the call,\n"
     "and each destination's ``status`` tells its outcome.  The limit of\n"
     "``fs/ioctl.c`` (127 destinations, one page) stays."),
]


# The rows on the module's own entry points and parameters, which the
# series does not have, by the start of their question.
MODULE_ROWS = ('The LSM hook', 'What an unprivileged caller gets through the node',
               'Records the call cannot read or write', '``src_fd`` outside',
               'Module parameters', 'The ioctl number', "The livepatch entry's contract")

# What no sentence of the series may still say.
MODULE_WORDS = re.compile(r'fidedupe|livepatch|/dev/|module', re.I)


def rows(review_text):
    """The series' rows of review.rst's tables, header rows left out:
    [question, C, Rust, tests], each cell as the series says it (see
    series_cell); fails if a sentence of WORDING is not in review.rst
    any more, or if a cell still speaks of the module."""
    check_wording(review_text)
    out = []
    for table in review_text.split('.. list-table::')[1:]:
        for row in re.split(r'^   \* - ', table, flags=re.M)[2:]:
            cells = re.split(r'^     - ', row, flags=re.M)
            # The row ends where the indentation does.
            cells[-1] = re.split(r'\n(?!       |\n       )', cells[-1], maxsplit=1)[0]
            if _words(cells[0]).startswith(MODULE_ROWS):
                continue
            cells = [series_cell(c) for c in cells[:3]] + [cells[3]]
            for c in cells[:3]:
                if MODULE_WORDS.search(c):
                    raise SystemExit('series_review: a row still speaks of the module: ' + c)
            out.append(cells)
    return out


def _words(text):
    return ' '.join(text.split())


def series_cell(cell):
    """One cell of review.rst, its row's indentation folded, as the
    series says it."""
    text = _words(cell)
    for module, series in WORDING:
        text = text.replace(_words(module), _words(series))
    text = re.sub(r'\bfidedupe_(rules|engine|records):', r'vfs_dedupe_\1:', text)
    return text


def check_wording(review_text):
    """Fails if a sentence WORDING rewrites is not in review.rst."""
    words = _words(review_text)
    for module, _ in WORDING:
        if _words(module) not in words:
            raise SystemExit('series_review: review.rst no longer says: %s' % _words(module))


def series_tests(cell, cases):
    """The tests of a row with the series' program names, those the
    series' selftests (`cases`: "program:case" names) do not have left
    out; a note in parentheses ("(compile time)") as it is."""
    if _words(cell).startswith('('):
        return _words(cell)
    names = [re.sub(r'^fidedupe_', 'dedupe_', t) for t in cell.split()]
    # A case that runs on one filesystem only says which: name[fs].
    return ' '.join(t for t in names if t.split('[')[0] in cases)
