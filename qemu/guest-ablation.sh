#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make ablation` inside the VM: ROUNDS rounds; in each, every module of
# ADIR/NAME/fidedupe.ko in turn is loaded and the split stages run on
# btrfs and xfs.  Writes OUTDIR/ablation.tsv: each split row of
# fidedupe_bench, prefixed with the round and the module's name.
# usage: guest-ablation.sh OUTDIR ADIR BENCH ROUNDS SPLIT NAME...
#   SPLIT: fidedupe_bench's split or split-4k (the stages with the 4 KiB call)
set -u
out=$1 adir=$2 bench=$3 rounds=$4 split=$5
shift 5
. "$(dirname "$0")/guest-lib.sh"

dmesg -n 1
for fs in btrfs xfs; do
	make_fs "$fs" 1G || exit 90
	mkdir -p "$FIDEDUPE_MNT/$fs/ablation"
done
status=0
for round in $(seq "$rounds"); do
	for name in "$@"; do
		load_module "$adir/$name/fidedupe.ko" || exit 91
		for fs in btrfs xfs; do
			"$bench" "$FIDEDUPE_MNT/$fs/ablation" "$fs" "$split" >/tmp/ablation.one ||
				status=1
			sed "s/^/$round\t$name\t/" /tmp/ablation.one
		done
		unload_module || exit 92
	done
done >"$out/ablation.tsv"
exit "$status"
