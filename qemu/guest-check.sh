#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the test VM: load fidedupe (its KUnit suites run at load),
# make btrfs, xfs and ext4 on loop files, run every kselftest program; then
# load fidedupe_livepatch and run the native-path cases again, which must
# now show fidedupe's rules, and cycle the livepatch under load; then
# reload the module with small limits and run the cases that depend on them,
# through /dev/fidedupe and through the livepatch.
# The kselftests run as the kernel runs them: the first pass through the
# installed run_kselftest.sh (SELFTESTDIR/../kselftest, as LKFT runs it),
# the livepatch pass through `make -C selftests run_tests` (LINUX_TREE
# from the environment).  Each program's TAP goes to OUTDIR/<name>.tap
# for the host's count (run_fidedupe_tests.sh, FIDEDUPE_TAP_DIR).
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
kselftest=$tests/../kselftest
fuzzer=$tests/../fuzz/fidedupe-fuzz
torture=$tests/../torture
# What each client did without the livepatch (clients.<fs>.<client>),
# compared with what it does with it.
export FIDEDUPE_CLIENTS_BASELINE=$out/clients

status=0
dmesg -n 1
make_all_fs || exit 90

# Parameters that cannot work are refused at load, with a message.
(
	ktap_print_header
	ktap_set_plan 2
	for param in max_request_bytes=0 chunk_bytes=0; do
		if insmod "$ko" "$param" 2>/dev/null; then
			rmmod fidedupe
			ktap_test_fail "module-params.refuse_$param"
		elif dmesg | grep -q "fidedupe: .*$param.*neither may be 0"; then
			ktap_test_pass "module-params.refuse_$param"
		else
			ktap_test_fail "module-params.refuse_$param # no message"
		fi
	done
	ktap_finished
) >"$out/module-params.tap" 2>&1
cat "$out/module-params.tap"

load_module "$ko" || exit 91
FIDEDUPE_TAP_DIR=$out KSELFTEST_RUN_FIDEDUPE_TESTS_SH_ARGS="$*" \
	"$kselftest/run_kselftest.sh" >"$out/kselftest.tap" 2>&1 || status=1
cat "$out/kselftest.tap"

# The man page's example program, on two equal files and a different one.
ex=$tests/../tools/man-example
d=$FIDEDUPE_MNT/btrfs/man-example
mkdir -p "$d"
head -c 1048576 /dev/urandom >"$d/a"
cp "$d/a" "$d/b"
(
	ktap_print_header
	ktap_set_plan 2
	said=$("$ex" "$d/a" "$d/b")
	ktap_print_msg "$said"
	[ "$said" = "$d/b: same, 1048576 bytes shared" ]
	ktap_test_result man-example.same [ $? -eq 0 ]
	head -c 1048576 /dev/urandom >"$d/c"
	! "$ex" "$d/a" "$d/c" >/dev/null
	ktap_test_result man-example.differs [ $? -eq 0 ]
	ktap_finished
) >"$out/man-example.tap" 2>&1
cat "$out/man-example.tap"
rm -rf "$d"

if [ $# -eq 0 ]; then
	# FIDEDUPERANGE itself now runs fidedupe: the native-path cases again.
	load_livepatch "$lp" || exit 95
	FIDEDUPE_LIVEPATCH=1 FIDEDUPE_TAP_DIR=$out FIDEDUPE_TAP_PREFIX=livepatch- \
		KSELFTEST_RUN_FIDEDUPE_TESTS_SH_ARGS="-v btrfs_native -v xfs_native" \
		make -s -C "$here/../selftests" LINUX_TREE="$LINUX_TREE" OUTPUT="$tests" \
		run_tests >"$out/kselftest-livepatch.tap" 2>&1 || status=1
	cat "$out/kselftest-livepatch.tap"
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
# filesystem in all, with a fixed seed, and every saved reproducer.  Its
# cases of many records have at most 4096 (make fuzz: 65535): with up to
# 65535 they were 1 case in 31 and nine tenths of the root runs' time.
if [ $# -eq 0 ] && [ -x "$fuzzer" ]; then
	fuzz_out=$out/fuzz
	mkdir -p "$fuzz_out"
	FUZZ_REPEAT_MAX=${FIDEDUPE_FUZZ_REPEAT_MAX:-4096} \
		"$here/guest-fuzz.sh" --no-setup "$fuzz_out" "$ko" "$fuzzer" \
		"${FIDEDUPE_FUZZ_CASES:-15000}" 0 "${FIDEDUPE_FUZZ_SEED:-1}" \
		"$here"/../fuzz/regressions/*.json || status=1
	(
		ktap_print_header
		reports=("$fuzz_out"/fuzz-*.txt)
		ktap_set_plan $((${#reports[@]} + 2))
		for r in "${reports[@]}"; do
			last=$(tail -n 1 "$r")
			ktap_print_msg "$(basename "$r" .txt): $last"
			grep -q -E '^fuzz: [0-9]+ (cases, 0 undocumented differences, 0 invariant failures|regression cases, 0 failed)$' <<<"$last"
			ktap_test_result "$(basename "$r" .txt)" [ $? -eq 0 ]
		done
		# The issue's floor: 20000 cases per filesystem, all modes.
		for fs in btrfs xfs; do
			c=$(cat "$fuzz_out"/fuzz-"$fs"-*.txt 2>/dev/null |
			    sed -n 's/^fuzz: \([0-9]*\) cases, .*/\1/p' | awk '{ s += $1 } END { print s + 0 }')
			ktap_test_result "$fs: $c cases, at least 20000" [ "$c" -ge 20000 ]
		done
		ktap_finished
	) >"$out/fuzz-smoke.tap"
	cat "$out/fuzz-smoke.tap"
fi
# The short torture (qemu/guest-torture.sh; make faults and make stress
# run the long one), unless the host left it out (make check
# FIDEDUPE_CHECK_TORTURE=0): the fail-nth sweep on xfs, read errors, 10 s
# of stress per filesystem and path, the engines, unload under load; then
# every filesystem must unmount (no leaked file reference).
if [ $# -eq 0 ] && [ -e "$out/torture-enabled" ] && [ -x "$torture/fidedupe_faults" ]; then
	"$here/guest-torture.sh" --no-setup "$out" "$ko" "$torture" 40 \
		faults-short stress unload || status=1
fi
dmesg >"$out/dmesg.txt"
exit "$status"
