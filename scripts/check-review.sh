#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Every test that Documentation/review.rst names (program:case) must exist
# and pass on all four variants in the TAP output of the last VM run.
# Prints one line per name that does not, and exits non-zero if any.
# usage: check-review.sh REVIEW_RST TAPDIR
set -u
review=$1 taps=$2
variants="btrfs_native btrfs_module xfs_native xfs_module"
bad=0 names=0
for name in $(grep -o '\bfidedupe_[a-z]*_*test:[a-z0-9_]*' "$review" | sort -u); do
	prog=${name%%:*} case=${name#*:}
	names=$((names + 1))
	for v in $variants; do
		# A pass in the program's own run or in the small-limits run;
		# a SKIP is not a pass.
		if ! cat "$taps/$prog.tap" "$taps/small-limits.tap" 2>/dev/null |
		     grep -E "^ok [0-9]+ dedupe\.$v\.$case\$" >/dev/null; then
			echo "review.rst: $name did not pass on $v"
			bad=1
		fi
	done
done
[ "$names" -gt 0 ] || { echo "review.rst names no tests"; bad=1; }
echo "review.rst: $names tests named"
exit $bad
