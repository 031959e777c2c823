#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make check` after the builds: boot the test kernel, run the KUnit suites
# (at module load) and the kselftests on btrfs and xfs, count the results.
# The very last line is "N passed, N failed, N skipped"; the exit status is non-zero on
# any failure, kernel splat or VM failure.
# usage: check.sh KBUILD BUILDDIR
set -u
kbuild=$1 build=$2
here=$(cd "$(dirname "$0")/.." && pwd)
out="$build/vm-check"

passed=0 failed=0 skipped=0
count() { passed=$((passed + $1)); failed=$((failed + $2)); }
rm -f "$out"/*.tap "$out/dmesg.txt" "$out/torture-ranges.txt"

# The short torture runs unless left out (make check FIDEDUPE_CHECK_TORTURE=0,
# for a quicker run while working).  The text symbols of btrfs and xfs are
# for its fault sweep, which leaves the filesystems' own sites out (as
# scripts/torture.sh).
mkdir -p "$out"
rm -f "$out/torture-enabled"
torture_taps=
if [ "${FIDEDUPE_CHECK_TORTURE:-1}" = 1 ]; then
	touch "$out/torture-enabled"
	torture_taps="torture-faults-xfs-native torture-faults-xfs-module
		torture-faults-xfs-livepatch torture-io-errors-btrfs-native
		torture-io-errors-btrfs-module torture-io-errors-xfs-native
		torture-io-errors-xfs-module torture-stress-btrfs torture-stress-xfs
		torture-stress-btrfs-livepatch torture-stress-xfs-livepatch
		torture-engines torture-unload torture-final"
fi
for fs in btrfs xfs; do
	nm --defined-only "$kbuild/fs/$fs/built-in.a" 2>/dev/null |
		awk '$2 ~ /^[tT]$/ { print $3 }' | sort -u >"$out/$fs.syms"
done

"$here/qemu/vm.sh" "$kbuild" "$out" \
	"$here/qemu/guest-check.sh" "$out" "$build/module/fidedupe.ko" \
	"$build/selftests"
vm_status=$?

# KUnit: the suites run at every load of fidedupe.ko; the kernel's parser
# (kunit.py parse) reads each run from the guest's log.
read -r kunit_runs p f s < <("$here/scripts/kunit-results.py" "$LINUX_TREE" "$out/dmesg.txt" 2>/dev/null)
if [ "${kunit_runs:-0}" -gt 0 ]; then
	count "$p" "$f"
	skipped=$((skipped + s))
else
	echo "check: no KUnit results in the guest's log" >&2
	count 0 1
fi

# kselftest_harness: "# Totals: pass:P fail:F xfail:X xpass:Y skip:S error:E"
# One file per program; a program that printed no totals counts as failed.
# The native-path cases again with the livepatch: livepatch-<program>.tap.
for t in module-params kselftest "$build"/selftests/*_test small-limits man-example \
	 kselftest-livepatch \
	 $(cd "$build/selftests" && printf 'livepatch-%s ' *_test) livepatch-cycle \
	 small-limits-livepatch fuzz-smoke $torture_taps; do
	tap="$out/$(basename "$t").tap"
	totals=$(sed -n 's/^# Totals: pass:\([0-9]*\) fail:\([0-9]*\) .*skip:\([0-9]*\) error:\([0-9]*\).*/\1 \2 \3 \4/p' \
		 "$tap" 2>/dev/null | tail -n1)
	# lib.mk's run_tests (the livepatch pass) prints its runner's results
	# without a totals line: count those, and fail on none.
	if [ -z "$totals" ] && [ "$(basename "$t")" = kselftest-livepatch ] &&
	   grep -q -E '^(not )?ok ' "$tap" 2>/dev/null; then
		totals="$(grep -c -E '^ok [0-9]+ [^#]*$' "$tap") $(grep -c '^not ok ' "$tap")"
		totals="$totals $(grep -c -E '^ok .*# SKIP' "$tap") 0"
	fi
	if [ -n "$totals" ]; then
		read -r p f s e <<<"$totals"
		count "$p" $((f + e))
		skipped=$((skipped + s))
	else
		echo "check: no kselftest totals in $tap" >&2
		count 0 1
	fi
done

# Every test Documentation/review.rst names exists and passed.
if "$here/scripts/check-review.sh" "$here/Documentation/review.rst" "$out"; then
	count 1 0
else
	count 0 1
fi

if [ "$vm_status" -ne 0 ] && [ "$failed" -eq 0 ]; then
	echo "check: VM exited with status $vm_status" >&2
	count 0 1
fi
if [ -n "${FIDEDUPE_MAKE_START:-}" ]; then
	took=$(( $(date +%s) - FIDEDUPE_MAKE_START ))
	echo "check: $((took / 60)) min $((took % 60)) s in all, since make started"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
