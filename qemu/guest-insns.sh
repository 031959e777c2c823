#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make insns` inside the VM, which QEMU runs with bench/insns_plugin.c:
# bench/fidedupe_bench's insns mode on btrfs and xfs, pinned to CPU 1 so
# that a window is one vCPU's from start to end: FIDEDUPERANGE and
# /dev/fidedupe, then FIDEDUPERANGE again with fidedupe_livepatch.ko.  Writes OUTDIR/insns.tsv
# (one row per marked call, in the order of the plugin's windows) and
# OUTDIR/kallsyms*.txt (the kernel's and the modules' symbols, and
# ftrace's trampolines with the livepatch, for the report to name the
# blocks).
# usage: guest-insns.sh OUTDIR KO BENCH ROUNDS LIVEPATCH_KO
set -u
out=$1 ko=$2 bench=$3 rounds=$4 lp=$5
. "$(dirname "$0")/guest-lib.sh"

dmesg -n 1
load_module "$ko" || exit 91
cat /proc/kallsyms >"$out/kallsyms.txt"
status=0
for fs in btrfs xfs; do
	make_fs "$fs" 1G || exit 90
	mkdir -p "$FIDEDUPE_MNT/$fs/insns"
	taskset -c 1 "$bench" "$FIDEDUPE_MNT/$fs/insns" "$fs" insns "$rounds" || status=1
	load_livepatch "$lp" >&2 || exit 93
	cat /proc/kallsyms >"$out/kallsyms-$fs-livepatch.txt"
	taskset -c 1 "$bench" "$FIDEDUPE_MNT/$fs/insns" "$fs" insns "$rounds" \
		livepatch || status=1
	unload_livepatch >&2 || exit 94
	drop_fs "$fs" || exit 92
done >"$out/insns.tsv"
unload_module || status=1
exit "$status"
