#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs every dedupe selftest program on btrfs, xfs and ext4 loop mounts,
# as filesystems/fat/run_fat_tests.sh does for vfat: makes the filesystems
# under FIDEDUPE_MNT unless they are mounted there already, runs each
# program with this script's arguments (kselftest_harness filters such as
# -T case), reports one KTAP result per program and undoes what it made.
# Each program's own output is printed as KTAP diagnostics and, if
# FIDEDUPE_TAP_DIR is set, kept in
# FIDEDUPE_TAP_DIR/<FIDEDUPE_TAP_PREFIX><program>[.<fs>].tap, with each line's
# time in a .times file beside it.
#ifdef FIDEDUPE_OUT_OF_TREE
# (scripts/case-times.py reads them.)
#endif
#
# The environment chooses what runs:
# - FIDEDUPE_PROGRAMS: the programs (default: all);
# - FIDEDUPE_VARIANTS: the variants (default: all);
# - FIDEDUPE_JOBS=2: each program's btrfs and xfs variants side by side,
#   one process each; the cases that must run alone (SERIAL_CASES,
#   without this script's arguments) then run after them.
#
# Needs root and mkfs.btrfs, mkfs.xfs and mkfs.ext4.
#ifdef FIDEDUPE_OUT_OF_TREE
# Out of tree, also the module loaded: without /dev/fidedupe every case
# skips, saying so.
#endif

DIR=$(cd "$(dirname "$0")" && pwd)
# Installed, ../../kselftest and the programs beside this script; run by
# lib.mk's run_tests, the same in the kernel tree.
KSFT_DIR=$DIR/../../kselftest
PROG_DIR=$DIR
PROGRAMS=${FIDEDUPE_PROGRAMS:-fidedupe_test fidedupe_range_test fidedupe_perm_test
	  fidedupe_signal_test fidedupe_hooks_test fidedupe_chunks_test}
ALL_VARIANTS="btrfs xfs"
# Cases that run alone: the freeze case, which may drop every clean page
# (vm.drop_caches, where the kernel has no fadvise64()); and the kill
# during a long call, whose bound is half a call of under a second on xfs,
# too little for a neighbour's load.
SERIAL_CASES="freeze_waits_for_thaw sigkill_during_long_call"
#ifdef FIDEDUPE_OUT_OF_TREE
# Out of tree: ../kselftest, or the kernel tree's and OUTPUT as the
# Makefile says; the clients too; each case through both paths; and the
# debugfs counters, which are global, alone.
KSFT_DIR=${FIDEDUPE_KSFT_DIR:-$DIR/../kselftest}
PROG_DIR=${FIDEDUPE_TEST_DIR:-$DIR}
PROGRAMS=${FIDEDUPE_PROGRAMS:-$PROGRAMS fidedupe_clients_test}
ALL_VARIANTS="btrfs_native btrfs_module xfs_native xfs_module"
SERIAL_CASES="debugfs_counters $SERIAL_CASES"
#endif
VARIANTS=${FIDEDUPE_VARIANTS:-$ALL_VARIANTS}
. "$KSFT_DIR/ktap_helpers.sh"
. "$DIR/fidedupe_fs.sh"

ktap_print_header

if [ "$(id -u)" -ne 0 ]; then
	ktap_skip_all "needs root: it mounts loop filesystems"
	exit "$KSFT_SKIP"
fi

made_fs=
cleanup() {
	local fs
	for fs in $made_fs; do
		drop_fs "$fs" || ktap_print_msg "could not unmount $fs"
	done
}
trap cleanup EXIT

if ! all_fs_mounted; then
	missing=$(missing_fs_tools)
	if [ -n "$missing" ]; then
		ktap_skip_all "missing ${missing% }"
		exit "$KSFT_SKIP"
	fi
	FIDEDUPE_IMG_DIR=$(mktemp -d /tmp/fidedupe_tests.XXXXXX)
	for fs in $FIDEDUPE_FILESYSTEMS; do
		size=768M
		[ "$fs" = ext4 ] && size=64M
		if ! make_fs "$fs" "$size" 2>/dev/null; then
			ktap_skip_all "cannot make $fs on a loop device (loop, $fs in the kernel?)"
			exit "$KSFT_SKIP"
		fi
		made_fs="$fs $made_fs"
	done
fi
#ifdef FIDEDUPE_OUT_OF_TREE
[ -e /dev/fidedupe ] ||
	ktap_print_msg "no /dev/fidedupe (fidedupe not loaded): every case skips"
#endif

# only VARIANT...: harness filters that exclude every other variant.
only() {
	local v
	for v in $ALL_VARIANTS; do
		case " $* " in *" $v "*) ;; *) printf -- '-V %s ' "$v" ;; esac
	done
}

# stamp FILE: copies its input to its output, and to FILE with each
# line's time (seconds since the epoch) before it.
stamp() {
	local line
	while IFS= read -r line; do
		printf '%s\n' "$line"
		printf '%s %s\n' "$EPOCHREALTIME" "$line" >&3
	done 3>"$1"
}

TAP_DIR=${FIDEDUPE_TAP_DIR:-$(mktemp -d /tmp/fidedupe_tap.XXXXXX)}

# run PROGRAM SUFFIX ARGS...: one run of PROGRAM, its output kept in
# TAP_DIR as <prefix><program><suffix>.tap; writes its exit status to
# the .status file beside it.
run() {
	local prog=$1 tap=$TAP_DIR/${FIDEDUPE_TAP_PREFIX:-}$1$2.tap
	shift 2
	"$PROG_DIR/$prog" "$@" 2>&1 </dev/null | stamp "${tap%.tap}.times" >"$tap"
	echo "${PIPESTATUS[0]}" >"${tap%.tap}.status"
}

# run_program PROGRAM ARGS...: the program on every chosen variant, its
# output as KTAP diagnostics; a failure if any run failed, else a skip
# if no run passed.
run_program() {
	local prog=$1 fs fs_variants serial runs=() r st passed=0 failed=0
	shift
	if [ "${FIDEDUPE_JOBS:-1}" -lt 2 ]; then
		run "$prog" "" $(only $VARIANTS) "$@"
		runs=("")
	else
		for fs in btrfs xfs; do
			fs_variants=$(printf '%s\n' $VARIANTS | grep -E "^${fs}(_|\$)")
			run "$prog" ".$fs" $(only $fs_variants) \
				$(printf -- '-T %s ' $SERIAL_CASES) "$@" &
			runs+=(".$fs")
		done
		wait
		serial=$(echo $SERIAL_CASES | tr ' ' '|')
		if "$PROG_DIR/$prog" -l 2>&1 | grep -q -w -E "$serial"; then
			run "$prog" ".serial" $(only $VARIANTS) $(printf -- '-t %s ' $SERIAL_CASES)
			runs+=(".serial")
		fi
	fi
	for r in "${runs[@]}"; do
		r=$TAP_DIR/${FIDEDUPE_TAP_PREFIX:-}$prog$r
		sed -e 's/^/# /' "$r.tap"
		st=$(cat "$r.status")
		rm -f "$r.status"
		case $st in
		"$KSFT_PASS") passed=1 ;;
		"$KSFT_SKIP") ;;
		*) failed=1 ;;
		esac
	done
	[ "$failed" -eq 0 ] || return "$KSFT_FAIL"
	[ "$passed" -eq 1 ] || return "$KSFT_SKIP"
	return "$KSFT_PASS"
}

ktap_set_plan "$(echo $PROGRAMS | wc -w)"
for prog in $PROGRAMS; do
	run_program "$prog" "$@"
	case $? in
	"$KSFT_PASS") ktap_test_pass "$prog" ;;
	"$KSFT_SKIP") ktap_test_skip "$prog" ;;
	*) ktap_test_fail "$prog" ;;
	esac
done
ktap_finished
