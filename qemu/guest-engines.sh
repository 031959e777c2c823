#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the test VM with fidedupe and its livepatch loaded: real
# stress engines that issue FIDEDUPERANGE unmodified, each for SECONDS on
# btrfs and on xfs: stress-ng --file-ioctl (as root, in a scratch
# directory), and trinity limited to ioctl(2) on victim files of a scratch
# directory, as nobody, with no other kind of descriptor.  Each must end,
# fidedupe must have served FIDEDUPERANGE calls during each engine's run
# (calls_fideduperange moved: an engine that never reached fidedupe tested
# nothing of it), and the VM's splat scan covers the kernel log.
# Writes OUTDIR/torture-engines.tap, in KTAP (kselftest's ktap_helpers.sh).
# usage: guest-engines.sh OUTDIR SECONDS
set -u
out=$1 seconds=$2
. "$(dirname "$0")/guest-lib.sh"
exec >"$out/torture-engines.tap"
served() { sed -n 's/^calls_fideduperange //p' /sys/kernel/debug/fidedupe/stats; }

ktap_print_header
ktap_set_plan 4
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

	# Victim files: a few duplicates of one another, owned by nobody.
	mkdir -p "$d/victims"
	head -c 1048576 /dev/urandom >"$d/victims/a"
	for v in b c d; do cp --reflink=never "$d/victims/a" "$d/victims/$v"; done
	chown -R 65534:65534 "$d/victims"
	before=$(served)
	# SIGINT ends trinity cleanly (its children too); SIGKILL 30 s later.
	(cd "$d" && timeout -k 30 -s INT "$seconds" setpriv --reuid=65534 --regid=65534 \
		--clear-groups trinity -l off -c ioctl -V "$d/victims" \
		--disable-fds=sockets,pipes,perf,epoll,eventfd,pseudo,timerfd,testfile,memfd,drm \
		-C 2 -N 200000 >"$out/trinity-$fs.log" 2>&1)
	rc=$?
	calls=$(($(served) - before))
	ktap_print_msg "trinity (ioctl on victim files, as nobody) on $fs: exit $rc, FIDEDUPERANGE calls served by fidedupe: $calls"
	tail -n 3 "$out/trinity-$fs.log" | sed 's/^/# /'
	# trinity may write to its victims with other ioctls, so their data are
	# not checked: it must have ended on SIGINT or by itself, and at least
	# one of its FIDEDUPERANGE calls must have reached fidedupe.
	{ [ "$rc" -eq 0 ] || [ "$rc" -eq 124 ]; } && [ "$calls" -gt 0 ]
	ktap_status $? "engines.trinity.$fs"
	rm -rf "$d"
done
ktap_finished
