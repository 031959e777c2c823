#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make run` inside the test VM: a small btrfs with duplicate files,
# deduped through /dev/fidedupe (MODE device) or by an unmodified
# duperemove through FIDEDUPERANGE with fidedupe_livepatch loaded (MODE
# livepatch), with the space shared before and after.
# usage: guest-run.sh KO FIDEDUPE_TOOL [device|livepatch]
set -eu
ko=$1 tool=$2 mode=${3:-device}
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
counters() {
	grep -E '^(calls|calls_fideduperange|destinations_same|bytes_deduped) ' \
		/sys/kernel/debug/fidedupe/stats | paste -sd' '
}
if [ "$mode" = livepatch ]; then
	load_livepatch "$(dirname "$ko")/fidedupe_livepatch.ko"
	echo "== fidedupe_livepatch loaded: vfs_dedupe_file_range() is fidedupe's"
	grep . /sys/kernel/livepatch/fidedupe_livepatch/{enabled,transition}
	echo "== fidedupe counters before: $(counters)"
	echo "== duperemove -dr . (unmodified; it calls FIDEDUPERANGE)"
	duperemove -dr . 2>&1 | tail -n 4
	echo "== fidedupe counters after:  $(counters)"
else
	echo "== dedupe original into each file through /dev/fidedupe (16 MiB chunks:"
	echo "   the near copy keeps its first two chunks shared, the prefix rule)"
	"$tool" original copy1 copy2 copy3 near-copy || true
fi
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
[ "$mode" != livepatch ] || unload_livepatch
unload_module
