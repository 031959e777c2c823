#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make bench` inside the VM: both paths on btrfs and on xfs, one boot.
# usage: guest-bench.sh OUTDIR KO BENCH
set -u
out=$1 ko=$2 bench=$3
. "$(dirname "$0")/guest-lib.sh"

dmesg -n 1
make_fs btrfs 2G && make_fs xfs 2G || exit 90
load_module "$ko" || exit 91
for fs in btrfs xfs; do
	d=$FIDEDUPE_MNT/$fs/bench
	mkdir -p "$d"
	"$bench" "$d" "$fs" || exit 1
	rm -rf "$d"
	sync
done | tee "$out/bench.tsv"
unload_module
dmesg >"$out/dmesg.txt"
