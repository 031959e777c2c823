#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make insns`: what one call runs, counted by the emulator instead of
# timed.  Boots the bench kernel with bench/insns_plugin.c loaded into
# QEMU, runs ROUNDS rounds of marked calls per filesystem, stage and path
# (qemu/guest-insns.sh); bench/insns.py writes
# BUILDDIR/results/bench/<date>-<commit>-insns.md: instructions, memory
# accesses and distinct pages per call, and the instructions of each
# function that differ between the paths.  Unlike a time, these do not
# drift with the machine.
# usage: insns.sh KBUILD BUILDDIR ROUNDS
set -eu
kbuild=$1 build=$2 rounds=$3
here=$(cd "$(dirname "$0")/.." && pwd)
out=$build/vm-insns
results=$build/results/bench
rm -rf "$out"
mkdir -p "$out" "$results"

# The plugin's arguments (bench/insns_plugin.c), from the kernel the VM
# boots, which has no KASLR: the two stack switches of __switch_to_asm and
# the interrupts' entries.
start=$(awk '$3 == "__switch_to_asm" { print $1 }' "$kbuild/System.map")
irqs=$(awk '$3 ~ /^asm_(sysvec_|common_interrupt$|spurious_interrupt$)/ { printf ",irq=%s", $1 }' \
	"$kbuild/System.map")
read -r switch_out switch_in < <(objdump -d --no-show-raw-insn \
	--start-address="0x$start" --stop-address="$(printf '0x%x' $((0x$start + 64)))" \
	"$kbuild/vmlinux" | awk '
	/mov +%rsp,0x[0-9a-f]+\(%rdi\)/ { out = $1 }
	/mov +0x[0-9a-f]+\(%rsi\),%rsp/ { in_ = $1 }
	END { sub(":", "", out); sub(":", "", in_); print out, in_ }')
if [ -z "$start" ] || [ -z "$irqs" ] || [ -z "$switch_out" ] || [ -z "$switch_in" ]; then
	echo "insns: __switch_to_asm's stack switches or the interrupts' entries not found in $kbuild" >&2
	exit 1
fi
plugin="$build/bench/insns_plugin.so,switch_out=$switch_out,switch_in=$switch_in$irqs"

VM_MEMORY=4G VM_QEMU_OPTS="-plugin $plugin -d plugin -D $out/plugin.log" \
	"$here/qemu/vm.sh" "$kbuild" "$out" \
	"$here/qemu/guest-insns.sh" "$out" "$build/module-bench/fidedupe.ko" \
	"$build/bench/fidedupe_bench" "$rounds" \
	"$build/module-bench/fidedupe_livepatch.ko"
python3 "$here/bench/insns.py" "$out" "$results" "$(basename "$kbuild")" "$rounds"
