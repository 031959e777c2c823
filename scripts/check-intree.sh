#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make check-intree: the kernel series make patches writes, built at
# every patch (scripts/series-build.sh), its selftests built in its tree,
# then booted twice in the test VM (qemu/guest-intree.sh): with the
# built-in Rust vfs_dedupe_file_range() the series' selftests must show
# its rules through plain FIDEDUPERANGE, and its KUnit suites
# (vfs_dedupe_*) must pass at boot; with the C default they must show
# mainline's.  Each boot's skips are those selftests/expected-skips.txt
# lists for the tier intree.  Prints one line per boot and, last, "N
# passed, N failed, N skipped"; fails on any failure.  The build folder is left with the Rust implementation.
# usage: check-intree.sh BUILDDIR KBUILD
set -u
build=$1 kbuild=$2
here=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${FIDEDUPE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fidedupe}
tree=$build/patches/kernel.tree
series=$CACHE/kbuild-series

"$here/scripts/series-build.sh" "$tree" "$kbuild" || exit 1
make -s -C "$tree/tools/testing/selftests/filesystems/dedupe" >/dev/null ||
	{ echo "check-intree: the series' selftests do not build" >&2; exit 1; }
passed=0 failed=0 skipped=0 status=0
for impl in rust c; do
	[ "$impl" = rust ] || "$here/scripts/series-build.sh" "$tree" "$kbuild" c || exit 1
	out=$build/vm-intree-$impl
	rm -rf "$out"
	mkdir -p "$out"
	start=$(date +%s)
	VM_TIMEOUT=${VM_TIMEOUT:-2400} "$here/qemu/vm.sh" "$series" "$out" \
		"$here/qemu/guest-intree.sh" "$out" "$tree" "$impl"
	vm_status=$?
	counter=("$here/scripts/results.py" "$out" --linux-tree "$LINUX_TREE"
		 --skips "$here/selftests/expected-skips.txt" --tier intree --whole
		 --vm-status "$vm_status")
	[ "$impl" = c ] || counter+=(--kunit-builtin vfs_dedupe_)
	summary=$("${counter[@]}") || status=1
	took=$(($(date +%s) - start))
	echo "check-intree: $impl: $((took / 60)) min $((took % 60)) s in the VM: $summary"
	read -r p _ f _ s _ <<<"$summary"
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
done
"$here/scripts/series-build.sh" "$tree" "$kbuild" rust || status=1
echo "$passed passed, $failed failed, $skipped skipped"
exit "$status"
