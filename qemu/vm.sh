#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The one way into the test VM, for every target that boots (check,
# check-full, shell, run, bench, fuzz, torture, mutants, insns, ...), as
# the kernel's tools/testing/selftests/hid/vmtest.sh is for HID: boots
# KBUILD with virtme-ng under TCG (this machine's /dev/kvm cannot run a
# mainline guest), runs one command in it, and returns its exit status
# (255 if the guest never finished it, 124 if it timed out).
#
# - The whole kernel log, from boot to power-off, reaches OUTDIR/kmsg.txt
#   (qemu/kmsg.py reads /dev/kmsg in the guest for the whole run,
#   whatever the console's level); a lost record fails the run.
# - Any kernel splat in that log or on the console fails the run
#   (VM_SPLAT_LOG: another log to scan instead, as the mutants keep
#   their own kernel log apart from the log of their deliberate bugs).
# - VM_TIMEOUT seconds (default 5400): past it the VM is killed and the
#   run fails, naming the stage (OUTDIR/stage, which the guest scripts
#   write) and the kselftest case it was in.
# - VM_BOOT_TIMEOUT seconds (default 300): a guest whose userspace has
#   not started by then (no OUTDIR/kmsg.txt) is killed and booted once
#   more.  Under TCG a boot once hung after "clocksource: Switched to
#   clocksource tsc-early" with qemu busy and no output for 15 minutes.
# - VM_SHELL=1: COMMAND is the guest's interactive shell (make shell).
# The guest's command gets LINUX_TREE (the kernel's selftest helpers).
# VM_QEMU_OPTS: more options for QEMU (make insns: its plugin).
# usage: vm.sh KBUILD OUTDIR COMMAND...
set -u
kbuild=$1 out=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
console="$out/console.log"
# One VM at a time on this machine (2 cores): later callers wait here.
exec 9>"${TMPDIR:-/tmp}/fidedupe-vm.lock"
flock 9
rm -f "$console" "$out/kmsg.txt" "$out/exit-status" "$out/stage" "$out/splats.txt"

# no5lvl: TCG offers LA57, and with 5-level paging the KASAN kernel
# intermittently reported a wild-memory-access in handle_edge_irq() at
# 0.004 s of boot, before any of our code (2 of 3 boots in one series, 0
# of 6 with no5lvl); 4-level paging is what most hardware runs.
vng_args=(--run "$kbuild" --disable-kvm --cpus 2 --memory "${VM_MEMORY:-4G}"
	  --append "no5lvl ${VM_APPEND:-}" --rwdir "$out"
	  ${VM_QEMU_OPTS:+"--qemu-opts=$VM_QEMU_OPTS"})
kmsg="python3 $here/kmsg.py $out/kmsg.txt & kmsg=\$!"
if [ "${VM_SHELL:-0}" = 1 ]; then
	# The guest's console takes input only as vng's interactive shell:
	# COMMAND is that shell (it reads the kernel log itself, sets up and
	# execs bash -i), and takes no arguments.
	exec vng "${vng_args[@]}" --shell "$1"
fi

# vng itself exits 255 here whatever the command did, so the guest writes
# its command's exit status to a file in the shared directory.
boot() {
	setsid vng "${vng_args[@]}" --verbose \
		--exec "$kmsg; ( export LINUX_TREE=${LINUX_TREE:-}; $* ); echo \$? >$out/exit-status; sleep 1; kill \$kmsg" \
		>"$console" 2>&1 </dev/null &
	vm=$!
}
boot "$@"

# in_progress: the stage the guest said it was in, and every kselftest
# case that started ("#  RUN") and reported nothing after it.
in_progress() {
	local tap
	[ -s "$out/stage" ] && echo "vm: in stage $(cat "$out/stage")" >&2
	for tap in "$out"/*.tap; do
		[ -e "$tap" ] || continue
		awk -v f="$(basename "$tap")" '
			/^#  RUN / { run = $3; next }
			/^(not )?ok / { run = "" }
			END { if (run != "") print "vm: in case " run " (" f ")" }' "$tap" >&2
	done
}

# A progress line every 30 s on stderr: time in the VM, and the TAP
# results the guest has written to OUTDIR so far.
start=$(date +%s) timeout=${VM_TIMEOUT:-5400} timed_out=0
boot_timeout=${VM_BOOT_TIMEOUT:-300} booted_again=0
while kill -0 "$vm" 2>/dev/null; do
	for _ in $(seq 30); do
		kill -0 "$vm" 2>/dev/null || break 2
		if [ $(( $(date +%s) - start )) -ge "$timeout" ]; then
			timed_out=1
			break 2
		fi
		if [ ! -e "$out/kmsg.txt" ] && [ "$booted_again" = 0 ] &&
		   [ $(( $(date +%s) - start )) -ge "$boot_timeout" ]; then
			echo "vm: no guest userspace after $boot_timeout s (VM_BOOT_TIMEOUT): booting again" >&2
			cp "$console" "$out/console-hung-boot.log"
			kill -KILL -- "-$vm" 2>/dev/null
			wait "$vm" 2>/dev/null
			booted_again=1
			start=$(date +%s)
			boot "$@"
		fi
		sleep 1
	done
	echo "vm: $(( $(date +%s) - start )) s, $(cat "$out"/*.tap 2>/dev/null | grep -c '^ok ') passed," \
	     "$(cat "$out"/*.tap 2>/dev/null | grep -c '^not ok ') failed so far" >&2
done
if [ "$timed_out" = 1 ]; then
	echo "vm: timed out after $timeout s (VM_TIMEOUT)" >&2
	in_progress
	kill -TERM -- "-$vm" 2>/dev/null
	sleep 5
	kill -KILL -- "-$vm" 2>/dev/null
fi
wait "$vm"
status=$(cat "$out/exit-status" 2>/dev/null || echo 255)
[ "$timed_out" = 0 ] || status=124
[ "$status" != 255 ] || in_progress

# Guest output without the kernel's own lines, for the caller to read.
grep -v -E '^\[ *[0-9]+\.[0-9]+\]' "$console" | grep -v '^virtme-ng-init:' || true

# The whole log must have reached the host.
if [ ! -s "$out/kmsg.txt" ]; then
	echo "vm: no kernel log from the guest (qemu/kmsg.py)" >&2
	[ "$status" -ne 0 ] || status=98
elif grep -q '^kmsg: .* lost$' "$out/kmsg.txt"; then
	grep '^kmsg: .* lost$' "$out/kmsg.txt" >&2
	[ "$status" -ne 0 ] || status=98
fi

# WARN/BUG/Oops, KASAN, UBSAN, lockdep and might_sleep reports.
splats='WARNING:|BUG:|Oops|KASAN:|UBSAN:|possible recursive locking|possible circular locking|inconsistent lock state|suspicious RCU usage|Call Trace:|Kernel panic|general protection fault|sleeping function called from invalid context|blocked for more than'
if grep -E "$splats" "$console" "${VM_SPLAT_LOG:-$out/kmsg.txt}" 2>/dev/null | head -20 | grep . >"$out/splats.txt"; then
	echo "vm: kernel splat in the guest log:" >&2
	cat "$out/splats.txt" >&2
	[ "$status" -ne 0 ] || status=99
fi
exit "$status"
