#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make fuzz`: boot the test kernel and run the differential fuzzer
# (qemu/guest-fuzz.sh) for CASES cases per filesystem (SECONDS, if not 0,
# bounds each run too), then every saved reproducer of fuzz/regressions/.
# Copies each run's output to
# BUILDDIR/results/fuzz/<date>-<commit>-<kernel>-<fs>-<mode>.txt; any new
# reproducer is in BUILDDIR/fuzz-out/found/.
# usage: fuzz.sh KBUILD BUILDDIR KO CASES SECONDS SEED
set -u
shopt -s nullglob
kbuild=$1 build=$2 ko=$3 cases=$4 seconds=$5 seed=$6
here=$(cd "$(dirname "$0")/.." && pwd)
out="$build/fuzz-out"
rm -rf "$out" && mkdir -p "$out"
start=$(date +%s)
"$here/qemu/vm.sh" "$kbuild" "$out" \
	"$here/qemu/guest-fuzz.sh" "$out" "$ko" \
	"$build/fuzz/fidedupe-fuzz" "$cases" "$seconds" "$seed" \
	"$here/fuzz/regressions"
status=$?
took=$(( $(date +%s) - start ))
stamp="$(date +%Y-%m-%d)-$(git -C "$here" rev-parse --short HEAD)-$(basename "$kbuild")"
results="$build/results/fuzz"
mkdir -p "$results"
for f in "$out"/fuzz-*.txt; do
	[ -e "$f" ] || continue
	name=$(basename "$f" .txt)
	cp "$f" "$results/$stamp-${name#fuzz-}.txt"
	echo "$name: $(tail -n 1 "$f")"
done
echo "fuzz: seed $seed, $took s in the VM, results in ${results#"$here"/}/$stamp-*.txt"
exit "$status"
