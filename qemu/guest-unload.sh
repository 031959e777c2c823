#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the test VM, fidedupe not loaded: unload under load.
#  - rmmod fidedupe while callers are inside long /dev/fidedupe calls is
#    refused and breaks nothing; once they are done it succeeds;
#  - the livepatch is disabled and enabled, ROUNDS times, while xfs_io
#    keeps issuing long FIDEDUPERANGE calls (many chunks each) and a
#    killer SIGKILLs some of them; every transition completes, every call
#    that was not killed succeeds, no data changes.
# Prints KTAP (kselftest's ktap_helpers.sh).
# usage: guest-unload.sh KO BINDIR [ROUNDS]
set -u
ko=$1 rounds=${3:-5}
here=$(dirname "$0")
. "$here/guest-lib.sh"
lp=$(dirname "$ko")/fidedupe_livepatch.ko
tool=$here/../build/tools/fidedupe
[ -x "$tool" ] || tool=$(dirname "$ko")/../tools/fidedupe
work=/tmp/fidedupe-unload
rm -rf "$work" && mkdir -p "$work"

ktap_print_header
d=$FIDEDUPE_MNT/btrfs/unload
mkdir -p "$d"
head -c $((64 << 20)) /dev/urandom >"$d/a"
cp --reflink=never "$d/a" "$d/b"
sync
sums=$(md5sum "$d/a" "$d/b")

# 1. rmmod while callers are inside calls of 4096 chunks.
load_module "$ko" chunk_bytes=16384
for i in 1 2; do
	(while [ ! -e "$work/stop" ]; do
		"$tool" "$d/a" "$d/b" >/dev/null 2>&1 || touch "$work/failed"
	done) &
done
sleep 2
rmmod fidedupe 2>"$work/rmmod.err"
refused=$?
ktap_print_msg "rmmod while in use: exit $refused, $(cat "$work/rmmod.err")"
[ "$refused" -ne 0 ] && [ -e /dev/fidedupe ]
ktap_status $? "unload.rmmod_refused_while_in_use"
touch "$work/stop"
wait
[ ! -e "$work/failed" ]
ktap_status $? "unload.callers_unaffected"
rmmod fidedupe
ktap_status $? "unload.rmmod_after_callers"
[ ! -e /sys/module/fidedupe ]
ktap_status $? "unload.module_gone"

# 2. The livepatch under long FIDEDUPERANGE calls, some of them killed.
rm -f "$work/stop" "$work/failed"
load_module "$ko" chunk_bytes=16384
load_livepatch "$lp"
loops=0
for i in 1 2; do
	(while [ ! -e "$work/stop" ]; do
		out=$(cd "$d" && xfs_io -c "dedupe a 0 0 $((64 << 20))" b 2>&1)
		rc=$?
		# Killed calls (137) are expected; any other failure is not.
		if [ "$rc" -ne 0 ] && [ "$rc" -ne 137 ]; then
			echo "$out" >>"$work/failed"
		fi
	done) &
done
(while [ ! -e "$work/stop" ]; do
	sleep 0.$((RANDOM % 9 + 1))
	pkill -KILL -n -x xfs_io && echo x >>"$work/killed"
done) &
ok_rounds=0
for i in $(seq "$rounds"); do
	sleep 1
	start=$(date +%s)
	echo 0 >"$LIVEPATCH_SYSFS/enabled" && wait_until 120 livepatch_gone &&
		rmmod fidedupe_livepatch && load_livepatch "$lp" &&
		ok_rounds=$((ok_rounds + 1))
	ktap_print_msg "round $i: disable, unload, reload in $(($(date +%s) - start)) s"
done
touch "$work/stop"
wait
ktap_print_msg "$ok_rounds of $rounds rounds; $(wc -l <"$work/killed" 2>/dev/null || echo 0) callers killed"
[ "$ok_rounds" -eq "$rounds" ]
ktap_status $? "unload.livepatch_cycles_under_load"
[ ! -e "$work/failed" ] || sed 's/^/# /' "$work/failed"
[ ! -e "$work/failed" ]
ktap_status $? "unload.livepatch_callers_unaffected"
[ "$sums" = "$(md5sum "$d/a" "$d/b")" ]
ktap_status $? "unload.data_unchanged"
unload_livepatch
ktap_status $? "unload.livepatch_unloaded"
unload_module
ktap_status $? "unload.module_unloaded"
rm -rf "$d" "$work"
ktap_set_plan $((KTAP_TESTNO - 1))
ktap_finished
