#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make check-intree, inside a kernel of the series make patches writes
# (scripts/check-intree.sh boots it): the series' own selftests,
# tools/testing/selftests/filesystems/dedupe of TREE, run as kselftest
# runs them (lib.mk's run_tests), on btrfs and xfs.  They expect the rules
# of the implementation the kernel has, which they find in /proc/kallsyms;
# first the kernel must be the one asked for (IMPL: rust, the crate
# vfs_dedupe built in; c, none).  No module is loaded.  Writes
# OUTDIR/IMPL-kselftest.tap and each program's TAP beside it.
# usage: guest-intree.sh OUTDIR TREE rust|c
set -u
out=$1 tree=$2 impl=$3
here=$(dirname "$0")
. "$here/guest-lib.sh"

dmesg -n 1
echo "$impl" >"$out/stage"
has=$(dedupe_impl)
if [ "$has" != "$impl" ]; then
	echo "intree: the kernel was to run the $impl implementation, it runs the $has one" >&2
	exit 90
fi
scratch=$(mktemp -d /tmp/dedupe-intree.XXXXXX)
status=0
# Under TCG the run takes about 10 minutes: more than settings' timeout,
# which is for real hardware.
DEDUPE_TAP_DIR=$out DEDUPE_TAP_PREFIX=$impl- DEDUPE_JOBS=2 kselftest_override_timeout=2400 \
	make -s -C "$tree/tools/testing/selftests/filesystems/dedupe" run_tests \
	>"$scratch/kselftest.tap" 2>&1 || status=1
cp "$scratch/kselftest.tap" "$out/$impl-kselftest.tap"
exit "$status"
