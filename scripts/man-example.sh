#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Prints the C program of the EXAMPLES section of a man page, with the
# groff escapes undone, so that `make docs` can compile it and `make check`
# run it: the example cannot rot.
# usage: man-example.sh PAGE
set -euo pipefail
sed -n '/^\.SH EXAMPLES/,/^\.SH SEE ALSO/p' "$1" |
	sed -n '/^\.EX/,/^\.EE/{/^\.E[XE]/d;p}' |
	sed -e 's/\\-/-/g' -e 's/\\e/\\/g'
