#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the test VM: load fidedupe (its KUnit suites run at load),
# make btrfs, xfs and ext4 on loop files, run every kselftest program; then
# load fidedupe_livepatch and run the native-path cases again, which must
# now show fidedupe's rules, and cycle the livepatch under load; then
# reload the module with small limits and run the cases that depend on them,
# through /dev/fidedupe and through the livepatch.
# Each program's TAP goes to OUTDIR/<name>.tap for the host's count.
# Harness arguments (-v VARIANT, -t TEST) limit the first pass and skip
# the rest.
# usage: guest-check.sh OUTDIR KO SELFTESTDIR [HARNESS ARGS...]
set -u
shopt -s nullglob
out=$1 ko=$2 tests=$3
shift 3
here=$(dirname "$0")
. "$here/guest-lib.sh"
lp=$(dirname "$ko")/fidedupe_livepatch.ko
fuzzer=$tests/../fuzz/fidedupe-fuzz
torture=$tests/../torture
# duperemove's results without the livepatch, compared with those with it.
export FIDEDUPE_CLIENTS_BASELINE=$out/clients

status=0
dmesg -n 1
make_all_fs || exit 90

# Parameters that cannot work are refused at load, with a message.
{
	echo "TAP version 13"
	echo "1..2"
	p=0 f=0 n=0
	for param in max_request_bytes=0 chunk_bytes=0; do
		n=$((n + 1))
		if insmod "$ko" "$param" 2>/dev/null; then
			rmmod fidedupe
			f=$((f + 1)); echo "not ok $n module-params.refuse_$param"
		elif dmesg | grep -q "fidedupe: .*$param.*neither may be 0"; then
			p=$((p + 1)); echo "ok $n module-params.refuse_$param"
		else
			f=$((f + 1)); echo "not ok $n module-params.refuse_$param # no message"
		fi
	done
	echo "# Totals: pass:$p fail:$f xfail:0 xpass:0 skip:0 error:0"
} >"$out/module-params.tap" 2>&1
cat "$out/module-params.tap"

load_module "$ko" || exit 91
for t in "$tests"/*_test; do
	"$t" "$@" >"$out/$(basename "$t").tap" 2>&1 || status=1
	cat "$out/$(basename "$t").tap"
done

# The man page's example program, on two equal files and a different one.
ex=$tests/../tools/man-example
d=$FIDEDUPE_MNT/btrfs/man-example
mkdir -p "$d"
head -c 1048576 /dev/urandom >"$d/a"
cp "$d/a" "$d/b"
{
	echo "TAP version 13"
	echo "1..2"
	said=$("$ex" "$d/a" "$d/b")
	echo "# $said"
	if [ "$said" = "$d/b: same, 1048576 bytes shared" ]; then p=1; f=0; echo "ok 1 man-example.same"
	else p=0; f=1; echo "not ok 1 man-example.same"; fi
	head -c 1048576 /dev/urandom >"$d/c"
	if ! "$ex" "$d/a" "$d/c" >/dev/null; then p=$((p + 1)); echo "ok 2 man-example.differs"
	else f=$((f + 1)); echo "not ok 2 man-example.differs"; fi
	echo "# Totals: pass:$p fail:$f xfail:0 xpass:0 skip:0 error:0"
} >"$out/man-example.tap" 2>&1
cat "$out/man-example.tap"
rm -rf "$d"

if [ $# -eq 0 ]; then
	# FIDEDUPERANGE itself now runs fidedupe: the native-path cases again.
	load_livepatch "$lp" || exit 95
	for t in "$tests"/*_test; do
		tap=$out/livepatch-$(basename "$t").tap
		FIDEDUPE_LIVEPATCH=1 "$t" -v btrfs_native -v xfs_native >"$tap" 2>&1 || status=1
		cat "$tap"
	done
	unload_livepatch || exit 96
	"$here/guest-livepatch-cycle.sh" "$lp" "$tests/../tools/fidedupe" \
		>"$out/livepatch-cycle.tap" 2>&1 || status=1
	cat "$out/livepatch-cycle.tap"
fi
unload_module || status=92

# Small limits: a request longer than max_request_bytes is shortened, the
# cap comes before the destinations' checks, a destination is remapped in
# chunks of chunk_bytes, and a call is many chunks long.
small_limit_cases=(-t prefix_rule -t max_request_shortens -t cap_before_destination_checks
		   -t overlap_judged_on_the_whole_range -t error_after_shared_prefix)
if [ $# -eq 0 ]; then
	load_module "$ko" max_request_bytes=1048576 chunk_bytes=65536 || exit 93
	FIDEDUPE_MAX_REQUEST_BYTES=1048576 FIDEDUPE_CHUNK_BYTES=65536 \
		"$tests/fidedupe_range_test" "${small_limit_cases[@]}" \
		>"$out/small-limits.tap" 2>&1 || status=1
	cat "$out/small-limits.tap"
	# The same limits on FIDEDUPERANGE through the livepatch (the harness
	# stops at the first filter that matches: native variants only).
	load_livepatch "$lp" || exit 97
	FIDEDUPE_LIVEPATCH=1 FIDEDUPE_MAX_REQUEST_BYTES=1048576 FIDEDUPE_CHUNK_BYTES=65536 \
		"$tests/fidedupe_range_test" -V btrfs_module -V xfs_module \
		"${small_limit_cases[@]}" \
		>"$out/small-limits-livepatch.tap" 2>&1 || status=1
	cat "$out/small-limits-livepatch.tap"
	unload_livepatch || status=98
	unload_module || status=94
fi
# The differential fuzzer's smoke (qemu/guest-fuzz.sh): 20000 cases per
# filesystem in all, with a fixed seed, and every saved reproducer.
if [ $# -eq 0 ] && [ -x "$fuzzer" ]; then
	fuzz_out=$out/fuzz
	mkdir -p "$fuzz_out"
	"$here/guest-fuzz.sh" --no-setup "$fuzz_out" "$ko" "$fuzzer" \
		"${FIDEDUPE_FUZZ_CASES:-15000}" 0 "${FIDEDUPE_FUZZ_SEED:-1}" \
		"$here"/../fuzz/regressions/*.json || status=1
	{
		echo "TAP version 13"
		n=0 p=0 f=0
		for r in "$fuzz_out"/fuzz-*.txt; do
			n=$((n + 1))
			last=$(tail -n 1 "$r")
			echo "# $(basename "$r" .txt): $last"
			if grep -q -E '^fuzz: [0-9]+ (cases, 0 undocumented differences, 0 invariant failures|regression cases, 0 failed)$' <<<"$last"; then
				p=$((p + 1)); echo "ok $n $(basename "$r" .txt)"
			else
				f=$((f + 1)); echo "not ok $n $(basename "$r" .txt)"
			fi
		done
		# The issue's floor: 20000 cases per filesystem, all modes.
		for fs in btrfs xfs; do
			n=$((n + 1))
			c=$(cat "$fuzz_out"/fuzz-"$fs"-*.txt 2>/dev/null |
			    sed -n 's/^fuzz: \([0-9]*\) cases, .*/\1/p' | awk '{ s += $1 } END { print s + 0 }')
			if [ "$c" -ge 20000 ]; then
				p=$((p + 1)); echo "ok $n $fs: $c cases"
			else
				f=$((f + 1)); echo "not ok $n $fs: $c cases, fewer than 20000"
			fi
		done
		echo "1..$n"
		echo "# Totals: pass:$p fail:$f xfail:0 xpass:0 skip:0 error:0"
	} >"$out/fuzz-smoke.tap"
	cat "$out/fuzz-smoke.tap"
fi
# The short torture (qemu/guest-torture.sh; make faults and make stress
# run the long one), if the host asked for it (make check
# FIDEDUPE_CHECK_TORTURE=1): the fail-nth sweep on xfs, read errors, 10 s
# of stress per filesystem and path, the engines, unload under load; then
# every filesystem must unmount (no leaked file reference).
if [ $# -eq 0 ] && [ -e "$out/torture-enabled" ] && [ -x "$torture/fidedupe_faults" ]; then
	"$here/guest-torture.sh" --no-setup "$out" "$ko" "$torture" 40 \
		faults-short stress unload || status=1
fi
dmesg >"$out/dmesg.txt"
exit "$status"
