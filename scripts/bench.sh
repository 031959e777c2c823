#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make bench`: boot the non-debug test kernel, run bench/fidedupe_bench on
# btrfs and xfs in one VM, write BUILDDIR/results/bench/<date>-<commit>.md
# and .png (bench/report.py).  The run kept in the tree is
# Documentation/results/bench.md and .png, copied there by hand.
# usage: bench.sh KBUILD BUILDDIR
set -eu
kbuild=$1 build=$2
here=$(cd "$(dirname "$0")/.." && pwd)
out="$build/vm-bench"
results="$build/results/bench"
mkdir -p "$out" "$results"
VM_MEMORY=12G "$here/qemu/vm.sh" "$kbuild" "$out" \
	"$here/qemu/guest-bench.sh" "$out" "$build/module-bench/fidedupe.ko" \
	"$build/bench/fidedupe_bench" "$build/module-bench/fidedupe_livepatch.ko"
commit=$(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)
name="$results/$(date -u +%Y-%m-%d)-$commit"
python3 "$here/bench/report.py" "$out/bench.tsv" "$name" \
	"$(make -s --no-print-directory -C "$kbuild" kernelversion 2>/dev/null || echo 7.3)" \
	"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')" \
	"TCG (qemu-system-x86_64 --disable-kvm)" "$commit"
echo "bench: ${name#"$here"/}.md and .png (the run kept in the tree: Documentation/results/bench.md and .png)"
