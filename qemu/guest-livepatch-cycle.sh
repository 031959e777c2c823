#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the test VM, fidedupe.ko loaded and the livepatch not: load,
# disable, unload and reload fidedupe_livepatch.ko while other processes
# keep deduping in a loop (xfs_io on btrfs and on xfs through
# FIDEDUPERANGE, the fidedupe tool through /dev/fidedupe).  Every call in
# every loop must succeed and no file may change; the VM's splat check
# covers the kernel log.  Prints KTAP (kselftest's ktap_helpers.sh).
# usage: guest-livepatch-cycle.sh LIVEPATCH_KO FIDEDUPE_TOOL [CYCLES]
set -u
lp=$1 tool=$2 cycles=${3:-3}
. "$(dirname "$0")/guest-lib.sh"

work=/tmp/fidedupe-cycle
mkdir -p "$work"

# dedupe_loop NAME DIR LINE N CMD...: runs CMD in DIR until $work/stop
# exists; counts in $work/NAME.{ok,bad} the calls that did and did not
# print LINE: a run must exit 0 and print it N times.
dedupe_loop() {
	local name=$1 dir=$2 line=$3 want=$4 ok=0 bad=0 said got
	shift 4
	while [ ! -e "$work/stop" ]; do
		if said=$(cd "$dir" && "$@" 2>&1); then
			got=$(grep -cF -- "$line" <<<"$said")
		else
			got=0
		fi
		ok=$((ok + got))
		if [ "$got" -ne "$want" ]; then
			bad=$((bad + want - got))
			while IFS= read -r l; do ktap_print_msg "$name: $l"; done <<<"$said"
		fi
	done
	echo "$ok" >"$work/$name.ok"
	echo "$bad" >"$work/$name.bad"
}

ktap_print_header
ktap_set_plan $((cycles * 2 + 7))
rm -f "$work/stop"
for fs in btrfs xfs; do
	d=$FIDEDUPE_MNT/$fs/cycle
	mkdir -p "$d"
	head -c 1048576 /dev/urandom >"$d/a"
	cp --reflink=never "$d/a" "$d/b"
done
sync
sums=$(md5sum "$FIDEDUPE_MNT"/{btrfs,xfs}/cycle/*)
calls=$(sed -n 's/^calls_fideduperange //p' /sys/kernel/debug/fidedupe/stats)

# xfs_io: 20 calls per process, so that most of the time is spent in them.
xfs_io_calls=()
for i in $(seq 20); do xfs_io_calls+=(-c "dedupe a 0 0 1048576"); done
deduped="deduped 1048576/1048576 bytes"
dedupe_loop xfs_io-btrfs "$FIDEDUPE_MNT/btrfs/cycle" "$deduped" 20 \
	xfs_io "${xfs_io_calls[@]}" b &
dedupe_loop xfs_io-xfs "$FIDEDUPE_MNT/xfs/cycle" "$deduped" 20 \
	xfs_io "${xfs_io_calls[@]}" b &
dedupe_loop fidedupe-tool "$FIDEDUPE_MNT/btrfs/cycle" SAME 1 "$tool" a b &

for i in $(seq "$cycles"); do
	sleep 1
	load_livepatch "$lp"
	ktap_status $? "livepatch-cycle.load_$i"
	sleep 1
	unload_livepatch
	ktap_status $? "livepatch-cycle.unload_$i"
done
sleep 1
touch "$work/stop"
wait

for name in xfs_io-btrfs xfs_io-xfs fidedupe-tool; do
	ok=$(cat "$work/$name.ok" 2>/dev/null || echo 0)
	bad=$(cat "$work/$name.bad" 2>/dev/null || echo 1)
	ktap_print_msg "$name: $ok calls, $bad failed"
	[ "$ok" -gt 0 ] && [ "$bad" -eq 0 ]
	ktap_status $? "livepatch-cycle.loop_$name"
done
[ "$sums" = "$(md5sum "$FIDEDUPE_MNT"/{btrfs,xfs}/cycle/*)" ]
ktap_status $? "livepatch-cycle.data_unchanged"
# The patched FIDEDUPERANGE served some of the xfs_io calls.
now=$(sed -n 's/^calls_fideduperange //p' /sys/kernel/debug/fidedupe/stats)
ktap_print_msg "calls_fideduperange moved by $((now - calls))"
[ "$now" -gt "$calls" ]
ktap_status $? "livepatch-cycle.patched_calls_served"
livepatch_gone
ktap_status $? "livepatch-cycle.patch_gone"
# Reloadable after the cycles, and fidedupe.ko is not pinned.
load_livepatch "$lp" && unload_livepatch
ktap_status $? "livepatch-cycle.reload_after_load"
rm -rf "$FIDEDUPE_MNT"/{btrfs,xfs}/cycle "$work"
ktap_finished
