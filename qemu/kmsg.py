#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Copies the guest's whole kernel log to a file, from boot to power-off.

Started by qemu/vm.sh before the guest's command: /dev/kmsg gives every
record still in the ring buffer, from the first one of the boot, and then
each new one as it is logged, whatever the console's log level.  Each
record becomes one line as dmesg prints it, "[seconds.micros] message",
which the host's splat scan and kunit.py parse read.  A reader that falls
behind the ring buffer is told so (EPIPE) and says so in the file, as
"kmsg: N records lost", which fails the run on the host.

usage: kmsg.py OUTFILE
"""
import errno
import os
import re
import sys

ESCAPE = re.compile(r'\\x([0-9a-f]{2})')


def main():
    fd = os.open('/dev/kmsg', os.O_RDONLY)
    with open(sys.argv[1], 'w', buffering=1, errors='backslashreplace') as out:
        expected = None
        while True:
            try:
                rec = os.read(fd, 8192)
            except OSError as e:
                if e.errno != errno.EPIPE:
                    raise
                # The next read gives the oldest record still there.
                continue
            if not rec:
                break
            text = rec.decode('utf-8', 'backslashreplace')
            prefix, _, body = text.partition(';')
            fields = prefix.split(',')
            seq, usec = int(fields[1]), int(fields[2])
            if expected is not None and seq != expected:
                out.write(f'kmsg: {seq - expected} records lost\n')
            expected = seq + 1
            # Continuation lines (" KEY=value") carry the record's dictionary.
            message = body.split('\n', 1)[0]
            message = ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), message)
            out.write(f'[{usec // 1000000:5d}.{usec % 1000000:06d}] {message}\n')


if __name__ == '__main__':
    main()
