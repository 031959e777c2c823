#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make check, make check-full and make check T=PROGRAM:CASE [V=VARIANT]
# after the builds.  Each tier is one VM boot (qemu/vm.sh,
# qemu/guest-check.sh) and one count of everything the guest wrote
# (scripts/results.py): the KTAP files, KUnit's runs in the whole kernel
# log, the expected skips (selftests/expected-skips.txt) and the tests
# review.rst names.  make check-full is make check's boot and then a
# second boot for the long tier.  The very last line is "N passed, N
# failed, N skipped"; the exit status is non-zero on any failure,
# unexpected or missing skip, kernel splat, VM failure or time-out.
# STAGES (make check STAGES=a,b): only those stages of each tier
# (qemu/guest-check.sh); the skips and review.rst are then not checked
# whole.
# usage: check.sh KBUILD BUILDDIR check|full|one [PROGRAM:CASE [VARIANT]]
set -u
kbuild=$1 build=$2 goal=$3
shift 3
here=$(cd "$(dirname "$0")/.." && pwd)

guest_args=()
case $goal in
check) tiers=check ;;
full) tiers="check long" ;;
one)
	tiers=one
	case ${1:-} in
	*:?*) guest_args=("${1%%:*}" "${1#*:}" ${2:+"$2"}) ;;
	*) echo "check: T=PROGRAM:CASE, for example T=fidedupe_test:reserved_fields" >&2; exit 2 ;;
	esac
	if [ ! -x "$build/selftests/${guest_args[0]}" ]; then
		echo "check: no program $build/selftests/${guest_args[0]}" >&2
		exit 2
	fi
	;;
*) echo "check: no goal '$goal'" >&2; exit 2 ;;
esac

passed=0 failed=0 skipped=0 vm_time=0
vm_start=$(date +%s)
for tier in $tiers; do
	out=$build/vm-$tier
	# Nothing from an earlier run may be counted.
	rm -rf "$out"
	mkdir -p "$out"
	# The text symbols of btrfs and xfs, for the fault sweep, which
	# leaves the filesystems' own sites out (as scripts/torture.sh).
	for fs in btrfs xfs; do
		nm --defined-only "$kbuild/fs/$fs/built-in.a" 2>/dev/null |
			awk '$2 ~ /^[tT]$/ { print $3 }' | sort -u >"$out/$fs.syms"
	done
	append=${VM_APPEND:-} timeout=600
	case $tier in
	check) timeout=2400 ;;
	# kmemleak's scan after the torture (qemu/guest-torture.sh).
	long) timeout=5400 append="kmemleak=on $append" ;;
	esac
	start=$(date +%s)
	VM_APPEND=$append VM_TIMEOUT=${VM_TIMEOUT:-$timeout} "$here/qemu/vm.sh" "$kbuild" "$out" \
		FIDEDUPE_STAGES="${STAGES:-}" "$here/qemu/guest-check.sh" "$out" "$build" "$tier" \
		"${guest_args[@]}"
	vm_status=$?
	took=$(( $(date +%s) - start ))
	vm_time=$((vm_time + took))

	"$here/scripts/case-times.py" "$out" 8 || true
	counter=("$here/scripts/results.py" "$out" --linux-tree "$LINUX_TREE"
		 --skips "$here/selftests/expected-skips.txt" --tier "$tier"
		 --vm-status "$vm_status")
	if [ "$tier" != one ] && [ -z "${STAGES:-}" ]; then
		counter+=(--whole)
		[ "$tier" != check ] || counter+=(--review "$here/Documentation/review.rst")
	fi
	summary=$("${counter[@]}")
	echo "check: $tier: $((took / 60)) min $((took % 60)) s in the VM: $summary"
	read -r p _ f _ s _ <<<"$summary"
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
done

if [ -n "${FIDEDUPE_MAKE_START:-}" ]; then
	before=$((vm_start - FIDEDUPE_MAKE_START)) all=$(( $(date +%s) - FIDEDUPE_MAKE_START ))
	echo "check: $((before / 60)) min $((before % 60)) s before the VM (set-up, kernel, builds, lint)," \
	     "$((vm_time / 60)) min $((vm_time % 60)) s in it, $((all / 60)) min $((all % 60)) s in all"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
