#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make check-intree, inside a kernel of the series make patches writes
# (scripts/check-intree.sh boots it): the kselftests' native-path cases,
# through FIDEDUPERANGE alone, on btrfs and xfs, expecting fidedupe's
# rules where the kernel has the built-in Rust vfs_dedupe_file_range()
# and mainline's where it has the C one (FIDEDUPE_BUILTIN=IMPL).  No module is loaded; the clients and the 1 GiB case stay
# out.  Writes OUTDIR/IMPL-kselftest.tap and each program's TAP beside it.
# usage: guest-intree.sh OUTDIR BUILDDIR rust|c
set -u
out=$1 build=$2 impl=$3
here=$(dirname "$0")
. "$here/guest-lib.sh"
tests=$build/selftests

dmesg -n 1
make_all_fs || exit 90
echo "$impl" >"$out/stage"
programs=$(cd "$tests" && echo *_test)
programs=${programs/fidedupe_clients_test/}
export FIDEDUPE_BUILTIN=$impl
scratch=$(mktemp -d /tmp/fidedupe-intree.XXXXXX)
status=0
FIDEDUPE_TAP_DIR=$out FIDEDUPE_TAP_PREFIX=$impl- FIDEDUPE_JOBS=2 \
	FIDEDUPE_VARIANTS="btrfs_native xfs_native" FIDEDUPE_PROGRAMS="$programs" \
	KSELFTEST_RUN_FIDEDUPE_TESTS_SH_ARGS="-T cap_before_destination_checks_full_size" \
	make -s -C "$here/../selftests" LINUX_TREE="$LINUX_TREE" OUTPUT="$tests" \
	run_tests >"$scratch/kselftest.tap" 2>&1 || status=1
cp "$scratch/kselftest.tap" "$out/$impl-kselftest.tap"
exit "$status"
