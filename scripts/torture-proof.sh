#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make torture-proof`: shows that the torture's checks that found nothing
# can find something.  Builds fidedupe.ko three times with a deliberate
# bug and runs the torture part that must catch it; each run must fail,
# at the check named:
#   changes-data (selftests/mutants/23-remap-without-dedup-flag.patch:
#     the filesystem clones without comparing): the fault sweep's and the
#     stress run's "no byte changed";
#   leak-file-reference (torture/broken/): the final unmount;
#   leak-memory (torture/broken/): kmemleak.
# Results under BUILDDIR/results/torture/<date>-<commit>-proof-NAME/.
# usage: torture-proof.sh KBUILD BUILDDIR
set -u
kbuild=$1 build=$2
here=$(cd "$(dirname "$0")/.." && pwd)
work=$build/torture-proof
stamp=$(date +%Y-%m-%d)-$(git -C "$here" rev-parse --short HEAD)
status=0

# build NAME PATCH: $work/NAME/fidedupe.ko from the sources with PATCH.
build() {
	local dir=$work/$1
	rm -rf "$dir" && mkdir -p "$dir/src" &&
	tar -C "$here" -cf - Kbuild rust include livepatch | tar -C "$dir/src" -xf - &&
	patch -d "$dir/src" -p1 -F0 -s --no-backup-if-mismatch <"$2" &&
	make -s -C "$kbuild" M="$dir/src" MO="$dir/out" LLVM=-19 modules >"$dir/build.log" 2>&1 &&
	cp "$dir/out/fidedupe.ko" "$dir/out/fidedupe_livepatch.ko" "$dir/"
}

# prove NAME PATCH SECONDS "PARTS" REGEX...: the run fails, and each REGEX
# matches a line of its TAP.
prove() {
	local name=$1 patch=$2 seconds=$3 parts=$4 re found
	shift 4
	if ! build "$name" "$patch"; then
		echo "torture-proof: $name does not build (see $work/$name/build.log)" >&2
		status=1
		return
	fi
	# shellcheck disable=SC2086
	if TORTURE_KO=$work/$name/fidedupe.ko TORTURE_TAG=$stamp-proof-$name \
	   TORTURE_OUT=$work/$name/vm "$here/scripts/torture.sh" "$kbuild" "$build" \
	   "$seconds" $parts >"$work/$name/torture.log" 2>&1; then
		echo "torture-proof: $name: the torture passed; it must not" >&2
		status=1
	fi
	for re; do
		found=$(cat "$work/$name"/vm/torture-*.tap 2>/dev/null | grep -E -m1 "$re")
		if [ -n "$found" ]; then
			echo "torture-proof: $name: found: $found"
		else
			echo "torture-proof: $name: nothing matches /$re/" >&2
			status=1
		fi
	done
}

mkdir -p "$work"
prove changes-data "$here/selftests/mutants/23-remap-without-dedup-flag.patch" 40 \
	"faults-short stress" \
	'^# [a-z_]+ n=[0-9]+: file data changed' '^not ok [0-9]+ stress\.[a-z]+\.no_byte_changed'
prove leak-file-reference "$here/torture/broken/leak-file-reference.patch" 0 calls \
	'^not ok [0-9]+ unmount '
prove leak-memory "$here/torture/broken/leak-memory.patch" 0 calls \
	'^not ok [0-9]+ kmemleak reports nothing'
echo "torture-proof: results in ${build#"$here"/}/results/torture/$stamp-proof-*/"
[ "$status" -eq 0 ] && echo "torture-proof: every check found its bug"
exit "$status"
