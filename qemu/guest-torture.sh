#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the test VM (booted with kmemleak=on): the torture runs of
# fidedupe, each printing TAP to OUTDIR/torture-<name>.tap.
#
#  faults    a fail-nth sweep of five call shapes on both paths and through
#            the livepatch (torture/fidedupe_faults), then read errors on
#            the loop device (fail_make_request) during the compare;
#  stress    callers against writers, freezes and SIGKILL for SECONDS per
#            filesystem without and with the livepatch
#            (torture/fidedupe_stress), then stress-ng --file-ioctl
#            through the livepatch;
#  unload    rmmod refused while callers are inside long calls, accepted
#            after; the livepatch disabled and enabled under callers that
#            are killed.
#  faults-short  the sweep on xfs only, and the read errors: for make check;
#  calls     one call through /dev/fidedupe on each filesystem.
# After all of them: the filesystems unmount (no leaked file reference)
# and kmemleak reports nothing new (a skip if the VM was not booted with
# kmemleak=on, as for make check).
# usage: guest-torture.sh [--no-setup] OUTDIR KO TORTUREDIR SECONDS
#                         [faults|faults-short] [stress] [calls] [unload]
#   --no-setup: the filesystems are made (guest-check.sh).
set -u
setup=1
if [ "$1" = --no-setup ]; then
	setup=0
	shift
fi
out=$1 ko=$2 bin=$3 seconds=$4
shift 4
parts=${*:-faults stress unload}
here=$(dirname "$0")
. "$here/guest-lib.sh"
lp=$(dirname "$ko")/fidedupe_livepatch.ko
status=0

# tap_begin NAME / tap RESULT TEXT / tap_skip TEXT WHY / tap_end: one KTAP
# file per part (OUTDIR/torture-NAME.tap), written with kselftest's
# ktap_helpers.sh; the plan comes at the end.
tap_begin() {
	tap_file=$out/torture-$1.tap
	KTAP_TESTNO=1 KTAP_CNT_PASS=0 KTAP_CNT_FAIL=0 KTAP_CNT_XFAIL=0 KTAP_CNT_SKIP=0
	ktap_print_header >"$tap_file"
}
tap_skip() {
	ktap_print_msg "$1: $2" >>"$tap_file"
	ktap_test_skip "$1" >>"$tap_file"
}
tap() {
	ktap_status "$1" "$2" >>"$tap_file"
	[ "$1" -eq 0 ] || status=1
}
tap_end() {
	ktap_set_plan $((KTAP_TESTNO - 1)) >>"$tap_file"
	ktap_print_totals >>"$tap_file"
	cat "$tap_file"
}

# watchdog NAME SECONDS PID: if PID still runs after SECONDS, writes what
# every task is doing (ps with the wait channel, the kernel stacks of the
# tasks that are running or blocked) and the kernel log's tail to
# OUTDIR/watchdog-NAME.txt, where the host can read it while the VM runs,
# then kills PID.
watchdog() {
	local name=$1 secs=$2 pid=$3 t st
	sleep "$secs"
	kill -0 "$pid" 2>/dev/null || return 0
	# No ps: reading some /proc files waits for the task's mmap_lock,
	# which a hung task may hold; each read here gives up after 2 s.
	{
		echo "# $name still running after $secs s"
		cat /proc/loadavg
		for t in /proc/[0-9]*/task/[0-9]*; do
			st=$(timeout -s KILL 2 cat "$t/stat" 2>/dev/null | sed 's/^.*) //' | cut -d' ' -f1)
			case $st in
			D|R)
				echo "== $t $(cat "$t/comm" 2>/dev/null) state $st wchan $(timeout -s KILL 2 cat "$t/wchan" 2>/dev/null)"
				timeout -s KILL 2 cat "$t/stack" 2>/dev/null
				;;
			esac
		done
		dmesg | tail -n 300
	} >"$out/watchdog-$name.txt" 2>&1
	kill -KILL "$pid"
}

# guarded NAME SECONDS TAP COMMAND...: runs COMMAND (output to TAP) under a
# watchdog of SECONDS; its exit status.
guarded() {
	local name=$1 secs=$2 tap=$3 pid wd rc
	shift 3
	"$@" >"$tap" 2>&1 &
	pid=$!
	watchdog "$name" "$secs" "$pid" &
	wd=$!
	wait "$pid"
	rc=$?
	kill "$wd" 2>/dev/null
	wait "$wd" 2>/dev/null
	return "$rc"
}

if [ $setup -eq 1 ]; then
	dmesg -n 1
	make_all_fs || exit 90
fi
# kmemleak is on only if the kernel was booted with kmemleak=on: root may
# write the file either way, but every command other than "clear" then
# fails with EPERM ("stack=on" is the default, a no-op).
kmemleak=/sys/kernel/debug/kmemleak
kmemleak_on=0
if echo stack=on 2>/dev/null >"$kmemleak"; then
	kmemleak_on=1
	echo clear >"$kmemleak"
fi

# knob FILE VALUE: a debugfs fault-injection setting.
knob() { echo "$2" >"/sys/kernel/debug/$1"; }

# reject_filesystem FS: no fault where FS's own code is on the stack.  An
# allocation that fails inside btrfs's transaction aborts it and turns the
# filesystem read-only, by btrfs's design and on both paths alike; the
# sweep is about the VFS layer and the calls around the filesystem.  FS's
# text is one range of vmlinux (fs/FS/built-in.a is linked in one piece):
# the longest run, in address order, of text symbols FS defines (a few
# others allowed between them), up to the first symbol after the run.
reject_filesystem() {
	local range f
	range=$(python3 - "$out/$1.syms" <<-'EOF'
	import sys
	mine = set(open(sys.argv[1]).read().split())
	syms = sorted((int(l.split()[0], 16), l.split()[2].split(".")[0])
	              for l in open("/proc/kallsyms") if l.split()[1] in "tT")
	best = (0, 0, 0)
	start = last = None
	count = gap = 0
	for i, (addr, name) in enumerate(syms):
	    if name in mine:
	        if start is None:
	            start, count = i, 0
	        last, gap = i, 0
	        count += 1
	        if count > best[0]:
	            best = (count, start, last)
	    elif start is not None:
	        gap += 1
	        if gap > 8:
	            start = None
	count, first, last = best
	if count > 100 and last + 1 < len(syms):
	    print(syms[first][0], syms[last + 1][0], count)
	EOF
	)
	[ -n "$range" ] || { echo "no text range for $1" >&2; return 1; }
	set -- "$1" $range
	echo "# faults: $1's text $(printf '%#x-%#x' "$2" "$3") ($4 functions) left out" \
		>>"$out/torture-ranges.txt"
	for f in failslab fail_page_alloc fail_usercopy; do
		knob $f/reject-start "$2"
		knob $f/reject-end "$3"
		knob $f/stacktrace-depth 32
	done
}

sweep_fs="btrfs xfs"
[[ " $parts " != *" faults-short "* ]] || { parts="$parts faults"; sweep_fs=xfs; }
if [[ " $parts " == *" faults "* ]]; then
	# fail-nth takes precedence over probability; let it reach GFP_KERNEL
	# allocations, and print nothing per injected failure.
	for f in failslab fail_page_alloc; do
		knob $f/ignore-gfp-wait N
		knob $f/verbose 0
	done
	knob fail_page_alloc/ignore-gfp-highmem N
	knob fail_page_alloc/min-order 0
	knob fail_usercopy/verbose 0
	load_module "$ko" chunk_bytes=16384 || exit 91
	for fs in $sweep_fs; do
		reject_filesystem "$fs" || exit 93
		"$bin/fidedupe_faults" "$fs" native >"$out/torture-faults-$fs-native.tap" 2>&1 || status=1
		"$bin/fidedupe_faults" "$fs" module >"$out/torture-faults-$fs-module.tap" 2>&1 || status=1
	done
	load_livepatch "$lp" || exit 95
	for fs in $sweep_fs; do
		reject_filesystem "$fs" || exit 93
		"$bin/fidedupe_faults" "$fs" native >"$out/torture-faults-$fs-livepatch.tap" 2>&1 || status=1
	done
	unload_livepatch || status=96
	# Read errors from the loop device, for this task only.
	knob fail_make_request/probability 100
	knob fail_make_request/times -1
	knob fail_make_request/task-filter Y
	knob fail_make_request/verbose 0
	for fs in btrfs xfs; do
		loop=$(basename "$(findmnt -n -o SOURCE "$FIDEDUPE_MNT/$fs")")
		echo 1 >"/sys/block/$loop/make-it-fail"
		for path in native module; do
			"$bin/fidedupe_faults" "$fs" "$path" io-errors \
				>"$out/torture-io-errors-$fs-$path.tap" 2>&1 || status=1
		done
		echo 0 >"/sys/block/$loop/make-it-fail"
	done
	knob fail_make_request/probability 0
	unload_module || status=92
	cat "$out"/torture-faults-*.tap "$out"/torture-io-errors-*.tap
fi

if [[ " $parts " == *" stress "* ]]; then
	load_module "$ko" chunk_bytes=65536 || exit 91
	# A run ends SECONDS / 4 after it starts, once its callers' last calls
	# (seconds each under TCG) return: 300 s more is a hang.
	for fs in btrfs xfs; do
		guarded "stress-$fs" $((seconds / 4 + 300)) "$out/torture-stress-$fs.tap" \
			"$bin/fidedupe_stress" "$fs" "$((seconds / 4))" || status=1
	done
	load_livepatch "$lp" || exit 95
	for fs in btrfs xfs; do
		guarded "stress-$fs-livepatch" $((seconds / 4 + 300)) \
			"$out/torture-stress-$fs-livepatch.tap" \
			"$bin/fidedupe_stress" "$fs" "$((seconds / 4))" || status=1
	done
	"$here/guest-engines.sh" "$out" "$((seconds / 4))" || status=1
	unload_livepatch || status=96
	unload_module || status=92
	cat "$out"/torture-stress-*.tap "$out"/torture-engines.tap
fi

if [[ " $parts " == *" calls "* ]]; then
	# One call through /dev/fidedupe on each filesystem (make torture-proof).
	tap_begin calls
	load_module "$ko" || exit 91
	for fs in btrfs xfs; do
		d=$FIDEDUPE_MNT/$fs/calls
		mkdir -p "$d" && head -c 1048576 /dev/urandom >"$d/a" &&
			cp --reflink=never "$d/a" "$d/b" && "$bin/../tools/fidedupe" "$d/a" "$d/b"
		tap $? "calls.$fs"
		rm -rf "$d"
	done
	unload_module || status=92
	tap_end
fi

if [[ " $parts " == *" unload "* ]]; then
	"$here/guest-unload.sh" "$ko" "$bin" >"$out/torture-unload.tap" 2>&1 || status=1
	cat "$out/torture-unload.tap"
fi

# No leaked file reference: every filesystem unmounts.  Nothing leaked.
tap_begin final
for fs in btrfs xfs ext4; do
	for m in "$FIDEDUPE_MNT/$fs-ro" "$FIDEDUPE_MNT/$fs-bind" "$FIDEDUPE_MNT/$fs"; do
		umount "$m"
		tap $? "unmount $m"
	done
done
if [ "$kmemleak_on" = 1 ]; then
	echo scan >"$kmemleak"
	sleep 5
	echo scan >"$kmemleak"
	leaks=$(grep -c '^unreferenced object' "$kmemleak")
	echo "# kmemleak: $leaks unreferenced objects" >>"$tap_file"
	grep -A12 '^unreferenced object' "$kmemleak" | head -60 | sed 's/^/# /' >>"$tap_file"
	[ "$leaks" -eq 0 ]
	tap $? "kmemleak reports nothing"
else
	tap_skip "kmemleak reports nothing" "kmemleak is off (boot with kmemleak=on)"
fi
tap_end
exit "$status"
