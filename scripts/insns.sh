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
VM_MEMORY=4G VM_QEMU_OPTS="-plugin $build/bench/insns_plugin.so -d plugin -D $out/plugin.log" \
	"$here/qemu/vm.sh" "$kbuild" "$out" \
	"$here/qemu/guest-insns.sh" "$out" "$build/module-bench/fidedupe.ko" \
	"$build/bench/fidedupe_bench" "$rounds"
python3 "$here/bench/insns.py" "$out" "$results" "$(basename "$kbuild")" "$rounds"
