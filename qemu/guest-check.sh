#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make check, make check-full and make check T=..., inside the test VM.
# Each stage writes OUTDIR/<name>.tap (KTAP), which the host counts with
# scripts/results.py, and names itself in OUTDIR/stage first (qemu/vm.sh
# says where a run that timed out was).
#
# TIER check (make check): load fidedupe (its KUnit suites run at every
#   load); every kselftest case but the long ones (LONG_CASES,
#   LONG_PROGRAMS) on all four variants, each program's btrfs and xfs
#   variants side by side; the man page's example; the native-path cases
#   again through fidedupe_livepatch; the livepatch cycled under load;
#   the small-limits cases through /dev/fidedupe and through the
#   livepatch; the fuzzer's smoke; the short fault sweep; then every
#   filesystem must unmount.
# TIER long (make check-full boots again for it, after TIER check): the
#   long cases and programs, on their variants and through the
#   livepatch; a second fuzz smoke with another seed; the torture's
#   stress, engines and unload under load, booted with kmemleak on.
# TIER one PROGRAM CASE [VARIANT]: that case alone (every variant unless
#   one is named), with the module loaded.
# FIDEDUPE_STAGES (make check STAGES=...): only these stages of the tier,
#   separated by commas: module-params, kselftest, man-example,
#   livepatch, livepatch-cycle, small-limits, fuzz-smoke, torture.
# usage: guest-check.sh OUTDIR BUILDDIR TIER [PROGRAM CASE [VARIANT]]
set -u
shopt -s nullglob
out=$1 build=$2 tier=$3
shift 3
here=$(dirname "$0")
. "$here/guest-lib.sh"
ko=$build/module/fidedupe.ko
lp=$build/module/fidedupe_livepatch.ko
tests=$build/selftests
kselftest=$build/kselftest
# What each client did without the livepatch (clients.<fs>.<client>),
# compared with what it does with it.
export FIDEDUPE_CLIENTS_BASELINE=$out/clients
# Every load of fidedupe.ko, which the host matches with KUnit's runs (a
# load that init refuses runs no suite: module-params does not count).
export FIDEDUPE_LOADS=$out/fidedupe-loads
: >"$FIDEDUPE_LOADS"

# The long cases: 1 GiB of page cache compared per path, minutes under
# TCG; the clients over trees of 1 GiB files.
LONG_CASES="cap_before_destination_checks_full_size"
LONG_PROGRAMS="fidedupe_clients_test"
export FIDEDUPE_JOBS=2

status=0
# The runner's output, each program's again, line by line: written to
# OUTDIR (9p) line by line it took 73 s after the last program; here it
# goes to the guest's own /tmp and is copied in one piece.
scratch=$(mktemp -d /tmp/fidedupe-check.XXXXXX)
# stage NAME: true if the run includes stage NAME, which then begins.
stage() {
	[ -z "${FIDEDUPE_STAGES:-}" ] || [[ ",$FIDEDUPE_STAGES," == *",$1,"* ]] || return 1
	echo "$1" >"$out/stage"
	echo "$EPOCHREALTIME $1" >>"$out/stages.times"
}
# module_loaded: fidedupe.ko is loaded (with make check's limits, unless
# a stage loaded it otherwise and unloaded it after).
module_loaded() {
	[ -e /sys/module/fidedupe ] || load_module "$ko"
}
module_unloaded() {
	[ ! -e /sys/module/fidedupe ] || unload_module
}
dmesg -n 1
make_all_fs || exit 90

# The kselftest programs and their harness filters for this tier: every
# case but the long ones, or (TIER long) the long ones alone.
# selftests/settings' timeout is make check's; the long cases need more.
long_timeout=
if [ "$tier" = long ]; then
	long_timeout=3600
	programs="$LONG_PROGRAMS fidedupe_range_test"
	filters="$(printf -- '-t %s ' $LONG_CASES)-f clients"
else
	programs=$(cd "$tests" && echo *_test)
	for p in $LONG_PROGRAMS; do programs=${programs/$p/}; done
	filters=$(printf -- '-T %s ' $LONG_CASES)
fi
export FIDEDUPE_PROGRAMS=$programs KSELFTEST_RUN_FIDEDUPE_TESTS_SH_ARGS=$filters

if [ "$tier" = one ]; then
	prog=$1 case=$2 variant=${3:-}
	stage "$prog:$case${variant:+:$variant}"
	filter=(-t "$case")
	if [ -n "$variant" ]; then
		fixture=$("$tests/$prog" -l 2>&1 | awk -v c="$case" '
			$1 != "#" && NF == 3 { f = $1 } $NF == c { print f; exit }')
		filter=(-r "$fixture.$variant.$case")
	fi
	load_module "$ko" || exit 91
	"$tests/$prog" "${filter[@]}" >"$out/$prog.tap" 2>&1 || status=1
	cat "$out/$prog.tap"
	unload_module || status=92
	echo "$EPOCHREALTIME end" >>"$out/stages.times"
	exit "$status"
fi

# Parameters that cannot work are refused at load, with a message.
if [ "$tier" = check ] && stage module-params; then
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
fi

# The kselftests as the kernel runs them: the installed run_kselftest.sh,
# as LKFT runs it; each program's TAP in OUTDIR (run_fidedupe_tests.sh).
if stage kselftest; then
	module_loaded || exit 91
	FIDEDUPE_TAP_DIR=$out "$kselftest/run_kselftest.sh" ${long_timeout:+-o "$long_timeout"} \
		>"$scratch/kselftest.tap" 2>&1 || status=1
	cp "$scratch/kselftest.tap" "$out/"
fi

# The man page's example program, on two equal files and a different one.
if [ "$tier" = check ] && stage man-example; then
	ex=$build/tools/man-example
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
	rm -rf "$d"
fi

# FIDEDUPERANGE itself now runs fidedupe: the native-path cases again,
# through lib.mk's run_tests as a developer runs them.  A patch that does
# not load fails the run (and every case would fail without it: the
# fixture checks that the patch is complete).
if stage livepatch; then
	module_loaded || exit 91
	if load_livepatch "$lp"; then
		FIDEDUPE_LIVEPATCH=1 FIDEDUPE_TAP_DIR=$out FIDEDUPE_TAP_PREFIX=livepatch- \
			FIDEDUPE_VARIANTS="btrfs_native xfs_native" \
			make -s -C "$here/../selftests" LINUX_TREE="$LINUX_TREE" OUTPUT="$tests" \
			${long_timeout:+kselftest_override_timeout=$long_timeout} \
			run_tests >"$scratch/livepatch-kselftest.tap" 2>&1 || status=1
		cp "$scratch/livepatch-kselftest.tap" "$out/"
		unload_livepatch || status=96
	else
		printf 'TAP version 13\n1..1\nnot ok 1 livepatch.load\n' >"$out/livepatch-kselftest.tap"
		status=95
	fi
fi
if [ "$tier" = check ] && stage livepatch-cycle; then
	module_loaded || exit 91
	"$here/guest-livepatch-cycle.sh" "$lp" "$build/tools/fidedupe" \
		>"$out/livepatch-cycle.tap" 2>&1 || status=1
fi
module_unloaded || status=92

# Small limits: a request longer than max_request_bytes is shortened, the
# cap comes before the destinations' checks, a destination is remapped in
# chunks of chunk_bytes, and a call is many chunks long; through
# /dev/fidedupe, then on FIDEDUPERANGE through the livepatch.
if [ "$tier" = check ] && stage small-limits; then
	small_limit_cases=(-t prefix_rule -t max_request_shortens -t cap_before_destination_checks
			   -t overlap_judged_on_the_whole_range -t error_after_shared_prefix)
	export FIDEDUPE_MAX_REQUEST_BYTES=1048576 FIDEDUPE_CHUNK_BYTES=65536
	module_unloaded || status=92
	load_module "$ko" max_request_bytes=$FIDEDUPE_MAX_REQUEST_BYTES \
		chunk_bytes=$FIDEDUPE_CHUNK_BYTES || exit 93
	"$tests/fidedupe_range_test" "${small_limit_cases[@]}" \
		>"$out/small-limits.tap" 2>&1 || status=1
	if load_livepatch "$lp"; then
		FIDEDUPE_LIVEPATCH=1 "$tests/fidedupe_range_test" -V btrfs_module -V xfs_module \
			"${small_limit_cases[@]}" >"$out/small-limits-livepatch.tap" 2>&1 || status=1
		unload_livepatch || status=98
	else
		printf 'TAP version 13\n1..1\nnot ok 1 livepatch.load\n' >"$out/small-limits-livepatch.tap"
		status=97
	fi
	unload_module || status=94
	unset FIDEDUPE_MAX_REQUEST_BYTES FIDEDUPE_CHUNK_BYTES
fi

# The differential fuzzer's smoke (qemu/guest-fuzz.sh) with a fixed seed
# (the long tier another one), and every saved reproducer.  Its cases of
# many records have at most 4096 (make fuzz: 65535): with up to 65535
# they were 1 case in 31 and nine tenths of the root runs' time.
if stage fuzz-smoke; then
	module_unloaded || status=92
	fuzz_cases=${FIDEDUPE_FUZZ_CASES:-5000}
	fuzz_seed=${FIDEDUPE_FUZZ_SEED:-1}
	[ "$tier" = check ] || fuzz_seed=$((fuzz_seed + 1))
	fuzz_out=$out/fuzz
	mkdir -p "$fuzz_out"
	FUZZ_REPEAT_MAX=${FIDEDUPE_FUZZ_REPEAT_MAX:-4096} \
		"$here/guest-fuzz.sh" --no-setup "$fuzz_out" "$ko" "$build/fuzz/fidedupe-fuzz" \
		"$fuzz_cases" 0 "$fuzz_seed" "$here"/../fuzz/regressions/*.json || status=1
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
		# The cases asked for, per filesystem, as root.
		for fs in btrfs xfs; do
			c=$(sed -n 's/^fuzz: \([0-9]*\) cases, .*/\1/p' "$fuzz_out/fuzz-$fs-root.txt" 2>/dev/null)
			ktap_test_result "$fs: ${c:-no} cases as root, $fuzz_cases asked for" \
				[ "${c:-0}" -ge "$fuzz_cases" ]
		done
		ktap_finished
	) >"$out/fuzz-smoke.tap"
fi

# The torture (qemu/guest-torture.sh; make faults and make stress run the
# long one): the fail-nth sweep on xfs and read errors (make check);
# stress per filesystem and path, the engines and unload under load
# (check-full).  Then every filesystem must unmount (no leaked file
# reference), and with kmemleak on nothing may leak.
if stage torture; then
	parts=faults-short
	[ "$tier" = check ] || parts="stress unload"
	"$here/guest-torture.sh" --no-setup "$out" "$ko" "$build/torture" 40 $parts || status=1
fi
echo "$EPOCHREALTIME end" >>"$out/stages.times"
exit "$status"
