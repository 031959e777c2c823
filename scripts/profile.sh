#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make profile`: boot the non-debug bench kernel, trace CALLS calls per
# filesystem, path and stage with function_graph (qemu/guest-profile.sh),
# and write BUILDDIR/results/bench/<date>-<commit>-profile.md
# (bench/profile.py).
# The tracer's own cost is in every figure, more in deeper trees: compare
# the paths with each other, not with `make bench`'s untraced latencies.
# usage: profile.sh KBUILD BUILDDIR CALLS
set -eu
kbuild=$1 build=$2 calls=$3
here=$(cd "$(dirname "$0")/.." && pwd)
out="$build/vm-profile"
results="$build/results/bench"
rm -rf "$out"
mkdir -p "$out" "$results"
VM_MEMORY=4G "$here/qemu/vm.sh" "$kbuild" "$out" \
	"$here/qemu/guest-profile.sh" "$out" "$build/module-bench/fidedupe.ko" \
	"$build/bench/fidedupe_bench" "$calls"
commit=$(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)
name="$results/$(date -u +%Y-%m-%d)-$commit-profile.md"
python3 "$here/bench/profile.py" "$out" "$name" \
	"# Profile of one call at $commit" "" \
	"- kernel: $(basename "$kbuild") (the bench kernel), TCG, $(nproc) CPUs on the host" \
	"- $calls traced calls per filesystem, path and stage, after as many untraced;" \
	"  function_graph under \`__x64_sys_ioctl\`, the same kernel functions on" \
	"  both paths (qemu/guest-profile.sh), interrupts left out; the Rust code" \
	"  is not traced, its time is in its callers' own time" \
	"- us: microseconds per ioctl, the tracer's cost included (the same per" \
	"  traced function on both paths); own us: without the traced callees" \
	"- functions under 1% of the call's time are left out"
echo "profile: ${name#"$here"/}"
