#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Boots the test kernel with virtme-ng under TCG (this machine's /dev/kvm
# cannot run a mainline guest), runs one command in it and returns its exit
# status (255 if the guest never finished it).  Fails as well on any kernel splat in the guest's log.
# The guest's command gets LINUX_TREE (the kernel's selftest helpers).
# VM_QEMU_OPTS in the environment: more options for QEMU (make insns: its
# plugin).
# usage: vm.sh KBUILD OUTDIR COMMAND...
set -u
kbuild=$1 out=$2
shift 2
mkdir -p "$out"
console="$out/console.log"
# One VM at a time on this machine (2 cores): later callers wait here.
exec 9>"${TMPDIR:-/tmp}/fidedupe-vm.lock"
flock 9
rm -f "$console" "$out/dmesg.txt" "$out/exit-status"

# vng itself exits 255 here whatever the command did, so the guest writes
# its command's exit status to a file in the shared directory.
# no5lvl: TCG offers LA57, and with 5-level paging the KASAN kernel
# intermittently reported a wild-memory-access in handle_edge_irq() at
# 0.004 s of boot, before any of our code (2 of 3 boots in one series, 0
# of 6 with no5lvl); 4-level paging is what most hardware runs.
vng --run "$kbuild" --disable-kvm --cpus 2 --memory "${VM_MEMORY:-4G}" \
	--append "no5lvl ${VM_APPEND:-}" --rwdir "$out" --verbose \
	${VM_QEMU_OPTS:+"--qemu-opts=$VM_QEMU_OPTS"} \
	--exec "( export LINUX_TREE=${LINUX_TREE:-}; $* ); echo \$? >$out/exit-status" >"$console" 2>&1 &
vm=$!
# A progress line every 30 s on stderr: time in the VM, and the TAP
# results the guest has written to OUTDIR so far.
start=$(date +%s)
while kill -0 "$vm" 2>/dev/null; do
	for _ in $(seq 30); do
		kill -0 "$vm" 2>/dev/null || break 2
		sleep 1
	done
	echo "vm: $(( $(date +%s) - start )) s, $(cat "$out"/*.tap 2>/dev/null | grep -c '^ok ') passed," \
	     "$(cat "$out"/*.tap 2>/dev/null | grep -c '^not ok ') failed so far" >&2
done
wait "$vm"
status=$(cat "$out/exit-status" 2>/dev/null || echo 255)

# Guest output without the kernel's own lines, for the caller to read.
grep -v -E '^\[ *[0-9]+\.[0-9]+\]' "$console" | grep -v '^virtme-ng-init:' || true

# WARN/BUG/Oops, KASAN, UBSAN, lockdep and might_sleep reports.
splats='WARNING:|BUG:|Oops|KASAN:|UBSAN:|possible recursive locking|possible circular locking|inconsistent lock state|suspicious RCU usage|Call Trace:|Kernel panic|general protection fault|sleeping function called from invalid context|blocked for more than'
if grep -E "$splats" "$console" "$out/dmesg.txt" 2>/dev/null | head -20 | grep . >"$out/splats.txt"; then
	echo "vm: kernel splat in the guest log:" >&2
	cat "$out/splats.txt" >&2
	[ "$status" -ne 0 ] || status=99
fi
exit "$status"
