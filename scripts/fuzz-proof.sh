#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make fuzz-proof`: shows that the fuzzer finds real divergences.  Builds
# fidedupe.ko as it was at commit OLD (default b3d939b, whose ioctl magic
# was 0xfd) against the test kernel, boots, and lets the fuzzer run
# against it for SECONDS per filesystem (qemu/guest-fuzz-proof.sh).  The
# outputs go to BUILDDIR/results/fuzz/<date>-proof-<OLD>-<fs>.txt; each
# lists every distinct difference with the cases and seconds it took to
# find.
# usage: fuzz-proof.sh KBUILD BUILDDIR SECONDS SEED [OLD] [MAGIC]
set -u
kbuild=$1 build=$2 seconds=$3 seed=$4 old=${5:-b3d939b} magic=${6:-0xfd}
here=$(cd "$(dirname "$0")/.." && pwd)
src="$build/proof-src" mod="$build/proof-module" out="$build/fuzz-proof"
rm -rf "$src" "$mod" "$out" && mkdir -p "$src" "$out"
git -C "$here" archive "$old" | tar -x -C "$src" || exit 1
make -s -C "$kbuild" M="$src" MO="$mod" LLVM=-19 modules || exit 1
"$here/qemu/vm.sh" "$kbuild" "$out" \
	"$here/qemu/guest-fuzz-proof.sh" "$out" "$mod/fidedupe.ko" \
	"$build/fuzz/fidedupe-fuzz" "$seconds" "$seed" "$magic"
status=$?
stamp="$(date +%Y-%m-%d)-proof-$old"
results="$build/results/fuzz"
mkdir -p "$results"
for fs in btrfs xfs; do
	f="$out/fuzz-$fs-proof.txt"
	[ -e "$f" ] || continue
	cp "$f" "$results/$stamp-$fs.txt"
	echo "$fs: $(grep -c '^# found:' "$f") distinct differences; $(tail -n 1 "$f")"
done
echo "fuzz-proof: results in ${results#"$here"/}/$stamp-*.txt"
exit "$status"
