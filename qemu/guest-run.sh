#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make run` inside the test VM: a small btrfs with duplicate files,
# deduped through /dev/fidedupe, with the space shared before and after.
# usage: guest-run.sh KO FIDEDUPE_TOOL
set -eu
ko=$1 tool=$2
. "$(dirname "$0")/guest-lib.sh"

dmesg -n 1
make_fs btrfs 512M
load_module "$ko"
demo=$FIDEDUPE_MNT/btrfs/demo
mkdir -p "$demo"
cd "$demo"

echo "== files: one 40 MiB original, three copies, one copy with its last byte changed"
head -c $((40 << 20)) /dev/urandom >original
for n in 1 2 3; do cp --reflink=never original copy$n; done
cp --reflink=never original near-copy
printf 'X' | dd of=near-copy bs=1 seek=$(((40 << 20) - 1)) conv=notrunc status=none
sync
sums_before=$(md5sum original copy1 copy2 copy3 near-copy)

echo "== space before (btrfs filesystem du)"
btrfs filesystem du -s --raw .
echo
echo "== dedupe original into each file through /dev/fidedupe (16 MiB chunks:"
echo "   the near copy keeps its first two chunks shared, the prefix rule)"
"$tool" original copy1 copy2 copy3 near-copy || true
sync
echo
echo "== space after"
btrfs filesystem du -s --raw .
echo
if [ "$sums_before" = "$(md5sum original copy1 copy2 copy3 near-copy)" ]; then
	echo "== every file's md5sum is unchanged"
else
	echo "== FILE DATA CHANGED" >&2
	exit 1
fi
cd /
unload_module
dmesg >"${OUT:-/tmp}/dmesg.txt"
