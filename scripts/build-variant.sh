#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Builds fidedupe.ko and fidedupe_livepatch.ko from SNAPSHOT (a tar of the
# module's sources: Kbuild rust include livepatch) with PATCH applied, if
# given, against KBUILD, into DIR/; keeps DIR's modules from the last build
# if neither the snapshot, the patch nor the kernel changed.  For
# scripts/mutants.sh (a patch that breaks a rule) and scripts/ablation.sh
# (a patch that removes a piece of work, to see what it costs).
# usage: build-variant.sh KBUILD SNAPSHOT DIR [PATCH]
set -u
kbuild=$1 snapshot=$2 dir=$(realpath -m "$3") patch=${4:-}
key=$( { cat "$snapshot" ${patch:+"$patch"}; echo "$kbuild"; } | sha256sum)
if [ -f "$dir/fidedupe.ko" ] && [ "$(cat "$dir/key" 2>/dev/null)" = "$key" ]; then
	exit 0
fi
rm -rf "$dir"
mkdir -p "$dir/src"
tar -C "$dir/src" -xf "$snapshot" || exit 1
if [ -n "$patch" ] &&
   ! patch -d "$dir/src" -p1 -F0 -s --no-backup-if-mismatch <"$patch" >"$dir/patch.log" 2>&1; then
	cat "$dir/patch.log" >&2
	echo "$(basename "$patch") does not apply to the current sources" >&2
	exit 1
fi
if ! make -s -C "$kbuild" M="$dir/src" MO="$dir/out" LLVM=-19 modules \
     >"$dir/build.log" 2>&1; then
	tail -n 30 "$dir/build.log" >&2
	echo "$(basename "$dir") does not build (log: $dir/build.log)" >&2
	exit 1
fi
cp "$dir/out/fidedupe.ko" "$dir/out/fidedupe_livepatch.ko" "$dir/" || exit 1
echo "$key" >"$dir/key"
