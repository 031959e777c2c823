#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Fails if FUNCTION in OBJECT leaves by a tail call (x86-64).

fidedupe_livepatch.ko makes fidedupe_vfs_dedupe_file_range() the kernel's
vfs_dedupe_file_range().  The livepatch consistency model finds a task
that is still in the new code by that function's frame on its stack: a
task that the function had left by a tail call into the rest of
fidedupe.ko would have no such frame, the patch could be disabled and
the module unloaded under it.  So the function must not end in a jump to
another function; a jump with a relocation is one, unless it is to the
return thunk (a `ret` under CONFIG_MITIGATION_RETHUNK).

usage: no-tail-call.py OBJECT FUNCTION
"""
import re
import subprocess
import sys

JMP = re.compile(r'^\s*([0-9a-f]+):\s+jmp\w*\s+(?:[0-9a-f]+\s+<([^>+]+)(?:\+0x[0-9a-f]+)?>|\*.*)')
RELOC = re.compile(r'^\s*[0-9a-f]+:\s+R_X86_64_\w+\s+([^\s+-]+)')


def main():
    obj, func = sys.argv[1], sys.argv[2]
    out = subprocess.run(['objdump', '-dr', '--no-show-raw-insn',
                          '--disassemble=' + func, obj],
                         capture_output=True, text=True, check=True).stdout
    lines = out.splitlines()
    if not any(line.endswith('<%s>:' % func) for line in lines):
        sys.exit('no-tail-call: %s is not in %s' % (func, obj))
    bad = []
    for i, line in enumerate(lines):
        m = JMP.match(line)
        if not m:
            continue
        reloc = RELOC.match(lines[i + 1]) if i + 1 < len(lines) else None
        if reloc:
            if reloc.group(1) != '__x86_return_thunk':
                bad.append('%s: jmp to %s' % (m.group(1), reloc.group(1)))
        elif m.group(2) is None:
            bad.append('%s: indirect jmp' % m.group(1))
        elif m.group(2) != func:
            bad.append('%s: jmp to %s' % (m.group(1), m.group(2)))
    if bad:
        sys.exit('no-tail-call: %s in %s leaves by a tail call:\n  %s'
                 % (func, obj, '\n  '.join(bad)))


if __name__ == '__main__':
    main()
