#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make faults`, `make stress`, `make torture`: boot the test kernel with
# kmemleak on and run qemu/guest-torture.sh with the given parts; copy the
# TAP outputs to BUILDDIR/results/torture/<date>-<commit>-<parts>/, with
# the reliability table of the run (scripts/torture-table.py) in table.md,
# and print the figures.  Exits non-zero on any failure or kernel splat.
# Environment: TORTURE_KO, another fidedupe.ko (its fidedupe_livepatch.ko
# beside it) than BUILDDIR's; TORTURE_TAG, the results directory's name
# (default <date>-<commit>-<parts>); TORTURE_OUT, the VM's output
# directory (default BUILDDIR/vm-torture).
# usage: torture.sh KBUILD BUILDDIR SECONDS PART...
set -u
kbuild=$1 build=$2 seconds=$3
shift 3
here=$(cd "$(dirname "$0")/.." && pwd)
out=${TORTURE_OUT:-$build/vm-torture}
ko=${TORTURE_KO:-$build/module/fidedupe.ko}
rm -rf "$out" && mkdir -p "$out"
# The text symbols of btrfs and xfs, which the fault sweep leaves out.
for fs in btrfs xfs; do
	nm --defined-only "$kbuild/fs/$fs/built-in.a" 2>/dev/null |
		awk '$2 ~ /^[tT]$/ { print $3 }' | sort -u >"$out/$fs.syms"
done
start=$(date +%s)
VM_APPEND="kmemleak=on" "$here/qemu/vm.sh" "$kbuild" "$out" \
	"$here/qemu/guest-torture.sh" "$out" "$ko" \
	"$build/torture" "$seconds" "$@"
status=$?
took=$(( $(date +%s) - start ))
tag=${TORTURE_TAG:-$(date +%Y-%m-%d)-$(git -C "$here" rev-parse --short HEAD)-$(IFS=-; echo "$*")}
dest="$build/results/torture/$tag"
rm -rf "$dest" && mkdir -p "$dest"
cp "$out"/torture-*.tap "$out"/torture-ranges.txt "$dest/" 2>/dev/null
cp "$out"/splats.txt "$dest/" 2>/dev/null
"$here/scripts/torture-table.py" "$dest" >"$dest/table.md"
grep -h -E '^# (faults|io-errors|stress|kmemleak|rmmod|round|[0-9]+ of)' "$out"/torture-*.tap 2>/dev/null
echo "torture: $*: $took s in the VM; results in ${dest#"$here"/}"
"$here/scripts/results.py" "$out" --linux-tree "$LINUX_TREE" \
	--skips "$here/selftests/expected-skips.txt" --tier torture --vm-status "$status"
