#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs every fidedupe selftest program on btrfs, xfs and ext4 loop mounts,
# as filesystems/fat/run_fat_tests.sh does for vfat: makes the filesystems
# under FIDEDUPE_MNT unless they are mounted there already, runs each
# program with this script's arguments (kselftest_harness filters such as
# -v btrfs_native), reports one KTAP result per program and undoes what it
# made.  Each program's own output is printed as KTAP diagnostics and, if
# FIDEDUPE_TAP_DIR is set, kept in FIDEDUPE_TAP_DIR/<FIDEDUPE_TAP_PREFIX><program>.tap.
#
# Needs root, fidedupe loaded (/dev/fidedupe; without it every case
# skips, saying so) and mkfs.btrfs, mkfs.xfs and mkfs.ext4.

DIR=$(cd "$(dirname "$0")" && pwd)
# Installed: ../kselftest and the programs beside this script; run by
# lib.mk's run_tests: the kernel tree's, and OUTPUT (the Makefile says).
KSFT_DIR=${FIDEDUPE_KSFT_DIR:-$DIR/../kselftest}
PROG_DIR=${FIDEDUPE_TEST_DIR:-$DIR}
. "$KSFT_DIR/ktap_helpers.sh"
. "$DIR/fidedupe_fs.sh"

PROGRAMS="fidedupe_test fidedupe_range_test fidedupe_perm_test
	  fidedupe_signal_test fidedupe_hooks_test fidedupe_clients_test"

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
			ktap_skip_all "cannot make $fs on a loop device (CONFIG_BLK_DEV_LOOP, $fs in the kernel?)"
			exit "$KSFT_SKIP"
		fi
		made_fs="$fs $made_fs"
	done
fi
[ -e /dev/fidedupe ] ||
	ktap_print_msg "no /dev/fidedupe (fidedupe not loaded): every case skips"

ktap_set_plan "$(echo $PROGRAMS | wc -w)"
for prog in $PROGRAMS; do
	tap=/dev/null
	[ -n "${FIDEDUPE_TAP_DIR:-}" ] && tap=$FIDEDUPE_TAP_DIR/${FIDEDUPE_TAP_PREFIX:-}$prog.tap
	"$PROG_DIR/$prog" "$@" 2>&1 </dev/null | tee "$tap" | sed -e 's/^/# /'
	case ${PIPESTATUS[0]} in
	"$KSFT_PASS") ktap_test_pass "$prog" ;;
	"$KSFT_SKIP") ktap_test_skip "$prog" ;;
	*) ktap_test_fail "$prog" ;;
	esac
done
ktap_finished
