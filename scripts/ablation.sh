#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make ablation`: where the module's extra time goes, by subtraction.
# function_graph does not see the Rust code (it has no fentry hooks) and
# perf's software clock gets a few samples a second under TCG, so each
# patch in bench/ablations/ removes one piece of work from the call (such
# a module is wrong on purpose: for measurement only).  Builds the module
# unchanged (the control) and once per patch against the bench kernel,
# boots it once and runs the split stages of bench/fidedupe_bench with
# each module in turn, ROUNDS rounds (qemu/guest-ablation.sh), then writes
# BUILDDIR/results/bench/<date>-<commit>-ablation.md (bench/ablation.py).
# With ABLATION_4K=1 in the environment the stages include the 4 KiB call
# (fidedupe_bench's split-4k), in the same interleaving.
# usage: ablation.sh KBUILD BUILDDIR ROUNDS
set -eu
kbuild=$1 build=$2 rounds=$3
split=split
[ "${ABLATION_4K:-0}" = 1 ] && split=split-4k
here=$(cd "$(dirname "$0")/.." && pwd)
adir=$build/ablation
out=$build/vm-ablation
results=$build/results/bench
mkdir -p "$adir" "$results"
tar -C "$here" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
	-cf "$adir/src.tar" Kbuild rust include livepatch
names=(control)
"$here/scripts/build-variant.sh" "$kbuild" "$adir/src.tar" "$adir/control"
for p in "$here"/bench/ablations/*.patch; do
	n=$(basename "$p" .patch)
	"$here/scripts/build-variant.sh" "$kbuild" "$adir/src.tar" "$adir/$n" "$p"
	names+=("$n")
done
rm -rf "$out"
mkdir -p "$out"
VM_MEMORY=4G "$here/qemu/vm.sh" "$kbuild" "$out" \
	"$here/qemu/guest-ablation.sh" "$out" "$adir" "$build/bench/fidedupe_bench" \
	"$rounds" "$split" "${names[@]}"
commit=$(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)
name="$results/$(date -u +%Y-%m-%d)-$commit-ablation.md"
python3 "$here/bench/ablation.py" "$out/ablation.tsv" "$name" "$here/bench/ablations" \
	"# Where the module's extra time goes, by subtraction, at $commit" "" \
	"- kernel: $(basename "$kbuild") (the bench kernel), TCG, $(nproc) CPUs on the host" \
	"- each round loads every module in turn and runs the split stages of" \
	"  \`fidedupe_bench DIR FS $split\` (20000 calls per path and stage," \
	"  interleaved in blocks of 100) on btrfs and xfs; $rounds rounds"
echo "ablation: ${name#"$here"/}"
