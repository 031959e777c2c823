#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make bench` inside the VM: both paths on btrfs and on xfs, one boot.
# One filesystem at a time: the loop images live in the guest's RAM
# (tmpfs), and the kill measurement needs two 1 GiB files on each.
# Then native against native in the latency and scaling rows' interleaving
# (the aa rows: the method's spread), and FIDEDUPERANGE alone, without and
# with the livepatch (fidedupe_bench's
# livepatch rows, guest-livepatch-toggle.sh between blocks), and the same
# blocks with the livepatch on neither path (TOGGLE none: the spread).
# usage: guest-bench.sh OUTDIR KO BENCH LIVEPATCH_KO
set -u
out=$1 ko=$2 bench=$3 lp=$4
. "$(dirname "$0")/guest-lib.sh"

dmesg -n 1
load_module "$ko" || exit 91
for fs in btrfs xfs; do
	make_fs "$fs" 4G || exit 90
	d=$FIDEDUPE_MNT/$fs/bench
	mkdir -p "$d"
	"$bench" "$d" "$fs" || exit 1
	"$bench" "$d" "$fs" aa || exit 1
	"$bench" "$d" "$fs" livepatch "$(dirname "$0")/guest-livepatch-toggle.sh" \
		"$lp" || exit 1
	"$bench" "$d" "$fs" livepatch none "$lp" || exit 1
	rm -rf "$d"
	sync
	drop_fs "$fs" || exit 92
done | tee "$out/bench.tsv"
status=${PIPESTATUS[0]}
unload_module
exit "$status"
