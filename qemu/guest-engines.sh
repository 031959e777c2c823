#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the test VM with fidedupe and its livepatch loaded: a real
# stress engine that issues FIDEDUPERANGE unmodified, for SECONDS on btrfs
# and on xfs: stress-ng --file-ioctl (as root, in a scratch directory).
# It must end, fidedupe must have served FIDEDUPERANGE calls during its
# run (calls_fideduperange moved: an engine that never reached fidedupe
# tested nothing of it), and the VM's splat scan covers the kernel log.
# trinity is not among the engines: under TCG it made 2 to 11 system
# calls a minute, and none reached vfs_dedupe_file_range().
# Writes OUTDIR/torture-engines.tap, in KTAP (kselftest's ktap_helpers.sh).
# usage: guest-engines.sh OUTDIR SECONDS
set -u
out=$1 seconds=$2
. "$(dirname "$0")/guest-lib.sh"
exec >"$out/torture-engines.tap"
served() { sed -n 's/^calls_fideduperange //p' /sys/kernel/debug/fidedupe/stats; }

ktap_print_header
ktap_set_plan 2
for fs in btrfs xfs; do
	d=$FIDEDUPE_MNT/$fs/engines
	rm -rf "$d" && mkdir -p "$d" && chmod 0777 "$d"
	before=$(served)
	timeout -s KILL $((seconds + 60)) stress-ng --file-ioctl 2 --temp-path "$d" \
		--timeout "${seconds}s" --metrics-brief >"$out/stress-ng-$fs.log" 2>&1
	rc=$?
	calls=$(($(served) - before))
	ktap_print_msg "stress-ng --file-ioctl on $fs: exit $rc, FIDEDUPERANGE calls served by fidedupe: $calls"
	grep -E "file-ioctl|successful|unsuccessful" "$out/stress-ng-$fs.log" | sed 's/^/# /'
	[ "$rc" -eq 0 ] && [ "$calls" -gt 0 ]
	ktap_status $? "engines.stress-ng.$fs"

	rm -rf "$d"
done
ktap_finished
