#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make check, make check-full and make check T=PROGRAM:CASE [V=VARIANT]
# after the builds: one VM boot (qemu/vm.sh, qemu/guest-check.sh), then
# one count of everything the guest wrote (scripts/results.py): the
# KTAP files, KUnit's runs in the whole kernel log, the expected skips
# (selftests/expected-skips.txt) and the tests review.rst names.  The
# very last line is "N passed, N failed, N skipped"; the exit status is
# non-zero on any failure, unexpected or missing skip, kernel splat, VM
# failure or time-out.
# usage: check.sh KBUILD BUILDDIR check|full|one [PROGRAM:CASE [VARIANT]]
set -u
kbuild=$1 build=$2 tier=$3
shift 3
here=$(cd "$(dirname "$0")/.." && pwd)
out=$build/vm-$tier
# Nothing from an earlier run may be counted.
rm -rf "$out"
mkdir -p "$out"

guest_args=()
case $tier in
check) timeout=${VM_TIMEOUT:-2400} ;;
full)
	timeout=${VM_TIMEOUT:-7200}
	# kmemleak's scan after the torture (qemu/guest-torture.sh).
	export VM_APPEND="kmemleak=on ${VM_APPEND:-}"
	;;
one)
	timeout=${VM_TIMEOUT:-600}
	case ${1:-} in
	*:?*) guest_args=("${1%%:*}" "${1#*:}" ${2:+"$2"}) ;;
	*) echo "check: T=PROGRAM:CASE, for example T=fidedupe_test:reserved_fields" >&2; exit 2 ;;
	esac
	if [ ! -x "$build/selftests/${guest_args[0]}" ]; then
		echo "check: no program $build/selftests/${guest_args[0]}" >&2
		exit 2
	fi
	;;
*) echo "check: no tier '$tier'" >&2; exit 2 ;;
esac

# The text symbols of btrfs and xfs, for the fault sweep, which leaves
# the filesystems' own sites out (as scripts/torture.sh).
for fs in btrfs xfs; do
	nm --defined-only "$kbuild/fs/$fs/built-in.a" 2>/dev/null |
		awk '$2 ~ /^[tT]$/ { print $3 }' | sort -u >"$out/$fs.syms"
done

vm_start=$(date +%s)
VM_TIMEOUT=$timeout "$here/qemu/vm.sh" "$kbuild" "$out" \
	"$here/qemu/guest-check.sh" "$out" "$build" "$tier" "${guest_args[@]}"
vm_status=$?
vm_end=$(date +%s)

"$here/scripts/case-times.py" "$out" 8 || true
counter=("$here/scripts/results.py" "$out" --linux-tree "$LINUX_TREE"
	 --skips "$here/selftests/expected-skips.txt" --tier "$tier" --vm-status "$vm_status")
[ "$tier" = one ] || counter+=(--whole --review "$here/Documentation/review.rst")
summary=$("${counter[@]}")
counted=$?
took=$((vm_end - vm_start))
echo "check: $((took / 60)) min $((took % 60)) s in the VM"
if [ -n "${FIDEDUPE_MAKE_START:-}" ]; then
	before=$((vm_start - FIDEDUPE_MAKE_START)) all=$(( $(date +%s) - FIDEDUPE_MAKE_START ))
	echo "check: $((before / 60)) min $((before % 60)) s before it (set-up, kernel, builds, lint)"
	echo "check: $((all / 60)) min $((all % 60)) s in all, since make started"
fi
echo "$summary"
exit "$counted"
