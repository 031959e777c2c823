#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make mutants`: mutation testing of the suite.  Each patch in
# selftests/mutants/ breaks one rule of Documentation/fidedupe.rst (its
# "Rule:" line says which).  Builds fidedupe.ko (and its livepatch) once
# unchanged, the control, and once per patch, from one snapshot of the
# module's sources, into BUILDDIR/mutants/NAME/; boots the test kernel once
# and runs qemu/guest-mutants.sh, which loads each module in turn and runs
# the KUnit suites, the kselftests and the fuzzer's smoke run (if
# BUILDDIR/fuzz/fidedupe-fuzz exists) until a test fails; then writes the
# table of which test killed which mutant, ending with the line
# "mutants: N, killed N, survived N", to
# BUILDDIR/results/mutants/<date>-<commit>[-NAME...].md.  The table of the
# last run of every mutant, with the rows of later runs of some merged in
# (scripts/mutants-merge.py), is BUILDDIR/results/mutants/table.md; until
# a run of every mutant makes it, the others merge into nothing.
# Fails if a patch does not apply or does not build, if the control fails
# a test, or if a mutant survives.
# Environment: MUTANTS_CONTROL=0 skips the control (the cases then run in
# the order of the last control run); MUTANTS_FUZZ_ARGS replaces the
# fuzzer's arguments; MUTANTS_FIRST, an extended regular expression of
# test names (program:case:variant), runs those cases before the others;
# MUTANTS_TIMEOUT bounds the VM, with the wait for
# another VM to end (seconds, default 21600); MUTANTS_BUILD_ONLY=1 stops
# after the builds.
# usage: mutants.sh KBUILD BUILDDIR [NAME...]
#   NAME: only the patches whose names start with NAME (e.g. 07 or 07-same).
set -u
kbuild=$1 build=$2
shift 2
here=$(cd "$(dirname "$0")/.." && pwd)
patches=$here/selftests/mutants
mdir=$build/mutants
out=$build/vm-mutants
rdir=$build/results/mutants
started=$(date +%s)

fail() {
	echo "mutants: $*" >&2
	exit 1
}

# The patches to run: all, or those named on the command line.
names=()
for p in "$patches"/*.patch; do
	n=$(basename "$p" .patch)
	if [ $# -gt 0 ]; then
		for want in "$@"; do
			[[ $n == "$want"* ]] && names+=("$n") && break
		done
	else
		names+=("$n")
	fi
done
[ ${#names[@]} -gt 0 ] || fail "no patch in $patches matches: $*"
for n in "${names[@]}"; do
	grep -q '^Rule: ' "$patches/$n.patch" || fail "$n.patch has no 'Rule:' line"
done

# One snapshot of the module's sources for the control and every mutant,
# made reproducibly so that its hash names what was built.
mkdir -p "$mdir"
tar -C "$here" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
	-cf "$mdir/src.tar" Kbuild rust include livepatch || fail "cannot snapshot the sources"
src_hash=$(sha256sum "$mdir/src.tar" | cut -c1-12)

# build NAME [PATCH]: BUILDDIR/mutants/NAME/fidedupe.ko and
# fidedupe_livepatch.ko from the snapshot with PATCH applied
# (scripts/build-variant.sh).
build() {
	"$here/scripts/build-variant.sh" "$kbuild" "$mdir/src.tar" "$mdir/$1" ${2:+"$2"} ||
		{ echo "mutants: $1 failed to build" >&2; return 1; }
}

# The test programs and the fuzzer as they are now, so that a rebuild
# during the run changes nothing in it.
rm -rf "$mdir/bin"
mkdir -p "$mdir/bin"
cp "$build"/selftests/*_test "$mdir/bin/" || fail "no test programs in $build/selftests"
[ ! -x "$build/fuzz/fidedupe-fuzz" ] || cp "$build/fuzz/fidedupe-fuzz" "$mdir/bin/" ||
	fail "cannot copy the fuzzer"

echo "mutants: building the control and ${#names[@]} mutants (sources $src_hash)"
build control || fail "the unchanged sources do not build"
for n in "${names[@]}"; do
	build "$n" "$patches/$n.patch" || exit 1
done
built=$(date +%s)
echo "mutants: built in $((built - started)) s"
[ "${MUTANTS_BUILD_ONLY:-0}" = 0 ] || exit 0

rm -rf "$out"
mkdir -p "$out"
# What the guest runs goes through files: the kernel's command line, which
# carries the guest's command, is too short for 39 names.
printf '%s\n' "${names[@]}" >"$out/names"
{
	printf 'MUTANTS_CONTROL=%q\n' "${MUTANTS_CONTROL:-1}"
	printf 'MUTANTS_FUZZ_ARGS=%q\n' "${MUTANTS_FUZZ_ARGS:---smoke --fs btrfs}"
	printf 'MUTANTS_FIRST=%q\n' "${MUTANTS_FIRST:-}"
} >"$out/settings"
VM_SPLAT_LOG=$out/dmesg.txt VM_TIMEOUT=${MUTANTS_TIMEOUT:-21600} "$here/qemu/vm.sh" "$kbuild" "$out" \
	"$here/qemu/guest-mutants.sh" "$out" "$build"
vm_status=$?
finished=$(date +%s)
[ -s "$out/control-times.tsv" ] && cp "$out/control-times.tsv" "$mdir/control-times.tsv"

# The table.
results=$out/results.tsv
total=0 killed=0 survived=0 missing=0
table=$(
	echo "| mutant | rule it breaks | first test that killed it | s |"
	echo "| --- | --- | --- | --- |"
	for n in "${names[@]}"; do
		rule=$(sed -n 's/^Rule: //p' "$patches/$n.patch" | head -n1 | sed 's/|/\\|/g')
		line=$(awk -F'\t' -v n="$n" '$1 == n' "$results" 2>/dev/null | tail -n1)
		IFS=$'\t' read -r _ verdict killer secs <<<"$line"
		case ${verdict:-} in
		killed) echo "| $n | $rule | \`$killer\` | ${secs%.*} |" ;;
		survived) echo "| $n | $rule | **survived** | ${secs%.*} |" ;;
		*) echo "| $n | $rule | **not run**${verdict:+ ($verdict: $killer)} | |" ;;
		esac
	done
)
for n in "${names[@]}"; do
	total=$((total + 1))
	verdict=$(awk -F'\t' -v n="$n" '$1 == n { v = $2 } END { print v }' "$results" 2>/dev/null)
	case $verdict in
	killed) killed=$((killed + 1)) ;;
	survived) survived=$((survived + 1)) ;;
	*) missing=$((missing + 1)) ;;
	esac
done
control=$(awk -F'\t' '$1 == "control" { print $2 " in " $4 " s" ($2 == "failed" ? ", at " $3 : "") }' \
	  "$results" 2>/dev/null)
closing="mutants: $total, killed $killed, survived $survived"
[ "$missing" -eq 0 ] || closing="$closing, not run $missing"

commit=$(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)
name=$(date -u +%Y-%m-%d)-$commit${*:+-$(IFS=-; echo "$*")}
git -C "$here" diff --quiet HEAD -- Kbuild rust include livepatch 2>/dev/null ||
	commit="$commit with uncommitted changes to the module"
vm_min=$(((finished - built) / 60)) vm_s=$(((finished - built) % 60))
all_min=$(((finished - started) / 60)) all_s=$(((finished - started) % 60))
report=$(
	echo "# Mutants: last run"
	echo
	echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "- commit: $commit; module sources (Kbuild, rust/, include/, livepatch/) sha256 $src_hash"
	echo "- kernel: $(basename "$kbuild"), TCG, $(nproc) CPUs on the host"
	echo "- duration: $all_min min $all_s s in all; building $((built - started)) s," \
	     "one VM boot $vm_min min $vm_s s"
	echo "- control (the unchanged module, every case): ${control:-not run}"
	if [ -s "$out/control-failed.txt" ]; then
		echo "- cases that failed on the control, left out of the mutants' runs:"
		sed 's/^/  - `/; s/$/`/' "$out/control-failed.txt"
	fi
	if [ -x "$mdir/bin/fidedupe-fuzz" ]; then
		echo "- fuzzer: \`fidedupe-fuzz ${MUTANTS_FUZZ_ARGS:---smoke --fs btrfs}\`"
	else
		echo "- fuzzer: not built ($build/fuzz/fidedupe-fuzz), not run"
	fi
	echo "- the seconds are those of the whole mutant: loads, KUnit, the cases run, unload"
	echo
	echo "$table"
	echo
	echo "$closing"
)
mkdir -p "$rdir"
echo "$report" >"$rdir/$name.md"
# table.md is the table of the last complete run of every mutant; any
# other run replaces the rows of the mutants it killed or saw survive
# (scripts/mutants-merge.py), says so, and the closing line is counted
# again over the whole table.
if [ $# -eq 0 ] && [ "$missing" -eq 0 ]; then
	echo "$report" >"$rdir/table.md"
elif [ -s "$rdir/table.md" ]; then
	"$here/scripts/mutants-merge.py" "$rdir/table.md" "$results" "$patches" \
		"Rows run again on $(date -u '+%Y-%m-%d') at $commit (seconds: that run's)" \
		>/dev/null || true
fi
echo "$report"
echo "mutants: this run: ${rdir#"$here"/}/$name.md"
[ ! -s "$rdir/table.md" ] || echo "mutants: every mutant's last verdict: ${rdir#"$here"/}/table.md"

status=0
if [ "$vm_status" -ne 0 ]; then
	echo "mutants: the VM exited with status $vm_status (see $out/console.log)" >&2
	status=1
fi
if grep -q '^control	failed	' "$results" 2>/dev/null; then
	echo "mutants: the suite fails on the unchanged module: $control" >&2
	status=1
fi
[ "$survived" -eq 0 ] && [ "$missing" -eq 0 ] || status=1
exit $status
