#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the test VM for `make mutants`: loads each build of
# fidedupe.ko in BUILDDIR/mutants/NAME/ in turn, the unchanged control
# first, and runs the suite against it until a test fails.  Per module: a
# load with a parameter of 0 (must be refused), the load itself (the KUnit
# suites run at load), then every kselftest case that reaches fidedupe, one
# harness run per case: the *_module variants, the small-limits cases, the
# *_native variants and fidedupe_clients_test with fidedupe_livepatch.ko
# loaded, and, if the fuzzer was built, its smoke run with the small limits.
# The test programs and the fuzzer are the host's copies in
# BUILDDIR/mutants/bin/.  The mutants run the cases cheapest first, by
# the control's times (those of the last control run, BUILDDIR/mutants/
# control-times.tsv, if this run has no control).
#
# A mutant is killed by the first case that fails twice in a row, by a
# kernel splat, or by a case that passed on the control and skips on the
# mutant.  The control runs every case and must pass them all; a case that
# fails on it is left out of the mutants' runs.  Cases of one program and
# setup run in one harness run (the mutants: those under 2 s on the
# control), and a failure is confirmed alone.  Writes to OUTDIR:
#   results.tsv     NAME, killed|survived|passed|failed|error, the test, seconds
#   runs.tsv        every case run: NAME, test, pass|fail|skip|splat, seconds
#   control-times.tsv  the control's runs, for the next run's order
#   control-failed.txt the cases that failed on the control
#   logs/NAME.log   the module's kernel log and the output of its last case
#   dmesg.txt       the kernel log outside the mutants (qemu/vm.sh checks it)
# A test is named program:case:variant, with +small for the small module
# limits and +livepatch for FIDEDUPERANGE through the livepatch.
# The host writes OUTDIR/names, the mutants to run, one a line, and
# OUTDIR/settings, sourced here: MUTANTS_CONTROL=0 skips the control;
# MUTANTS_FUZZ_ARGS are the fuzzer's arguments (default "--smoke --fs
# btrfs"); MUTANTS_FIRST, a regular expression, names cases to run first.
# usage: guest-mutants.sh OUTDIR BUILDDIR
set -u
out=$1 build=$2
here=$(dirname "$0")
. "$here/guest-lib.sh"
MUTANTS_CONTROL=1 MUTANTS_FUZZ_ARGS= MUTANTS_FIRST=
# shellcheck disable=SC1091
[ ! -f "$out/settings" ] || . "$out/settings"
mdir=$build/mutants
# The host's copies of the test programs and the fuzzer for this run.
tests=$mdir/bin
fuzz=$mdir/bin/fidedupe-fuzz
fuzz_args=${MUTANTS_FUZZ_ARGS:---smoke --fs btrfs}
# The small limits: module parameters, and the same for the tests.
small_params=(max_request_bytes=1048576 chunk_bytes=65536)
small_env=(FIDEDUPE_MAX_REQUEST_BYTES=1048576 FIDEDUPE_CHUNK_BYTES=65536)
small_cases=" prefix_rule max_request_shortens cap_before_destination_checks
	      overlap_judged_on_the_whole_range error_after_shared_prefix "
# duperemove's results without the livepatch, compared with those with it.
export FIDEDUPE_CLIENTS_BASELINE=$out/clients

# The splats qemu/vm.sh fails a run on.
splats='WARNING:|BUG:|Oops|KASAN:|UBSAN:|possible recursive locking|possible circular locking|inconsistent lock state|suspicious RCU usage|Call Trace:|Kernel panic|general protection fault|sleeping function called from invalid context|blocked for more than'

mkdir -p "$out/logs"
rm -f "$out"/results.tsv "$out"/runs.tsv "$out"/control-times.tsv "$out"/logs/*
klog=$out/dmesg.txt
: >"$klog"

# take_klog: moves the kernel log since the last call to $klog and to
# $newlog; fails if it holds a splat.
newlog=$out/.klog-new
take_klog() {
	dmesg -c >"$newlog"
	cat "$newlog" >>"$klog"
	! grep -qE "$splats" "$newlog"
}

# kunit_verdict LOG: "ok", or the first KUnit case of fidedupe's suites that
# failed (kunit:suite:case), or kunit:SUITE:incomplete, or kunit:none.
kunit_verdict() {
	sed 's/^\[[ 0-9.]*\] //' "$1" | awk '
	/^ *# Subtest: fidedupe_/ { s = $NF; started[s] = 1; order[++n] = s; next }
	/^ *not ok [0-9]+ / && !bad {
		bad = ($4 in started) ? "kunit:" $4 : "kunit:" s ":" $4
	}
	/^ *# fidedupe_[a-z_]*: pass:[0-9]+ fail:[0-9]+/ {
		name = $2; sub(/:$/, "", name); done[name] = 1
		if ($4 != "fail:0" && !bad) bad = "kunit:" name
	}
	END {
		if (bad) { print bad; exit }
		if (!n) { print "kunit:none"; exit }
		for (i = 1; i <= n; i++)
			if (!(order[i] in done)) { print "kunit:" order[i] ":incomplete"; exit }
		print "ok"
	}'
}

# The cases, one a line, tab-separated: "test setup program fixture variant
# case", in the default order.  Setups: default (the module as loaded by
# default), small (small limits), livepatch and livepatch-small
# (FIDEDUPERANGE through the livepatch).  A test is named
# program:case:variant, +small and +livepatch added for those setups.
list_cases() {
	"$1" -l 2>&1 | awk 'NR > 1 && !/^---/ {
		f = substr($0, 1, 20); v = substr($0, 22, 25); t = substr($0, 48)
		gsub(/ /, "", f); gsub(/ /, "", v); gsub(/ /, "", t)
		if (f != "") { cur = f; order[++nf] = f }
		if (v != "") vars[cur] = vars[cur] " " v
		if (t != "") cases[cur] = cases[cur] " " t
	}
	END {
		for (i = 1; i <= nf; i++) {
			f = order[i]; nv = split(vars[f], V); nt = split(cases[f], T)
			for (a = 1; a <= nv; a++)
				for (b = 1; b <= nt; b++)
					print f, V[a], T[b]
		}
	}'
}

# The programs, broad and cheap ones first, then any other.
programs="fidedupe_test fidedupe_range_test fidedupe_perm_test fidedupe_hooks_test
	  fidedupe_signal_test fidedupe_clients_test"
for t in "$tests"/*_test; do
	[[ " $programs " == *[[:space:]]$(basename "$t")[[:space:]]* ]] ||
		programs="$programs $(basename "$t")"
done

all_cases() {
	local setup suffix prog f v c
	for setup in default small livepatch livepatch-small; do
		case $setup in
		default) suffix= ;;
		small) suffix=+small ;;
		livepatch) suffix=+livepatch ;;
		livepatch-small) suffix=+small+livepatch ;;
		esac
		for prog in $programs; do
			list_cases "$tests/$prog" | while read -r f v c; do
				case $setup:$v in
				default:*_module | livepatch:*_native) ;;
				small:*_module | livepatch-small:*_native)
					[ "$prog" = fidedupe_range_test ] &&
					[[ $small_cases == *" $c "* ]] || continue ;;
				*) continue ;;
				esac
				printf '%s:%s:%s%s\t%s\t%s\t%s\t%s\t%s\n' \
					"$prog" "$c" "$v" "$suffix" "$setup" "$prog" "$f" "$v" "$c"
			done
		done
	done
	# The fuzzer with the small limits, so that short files span many
	# chunks and pass the cap; it is told the limits the module has.
	if [ -x "$fuzz" ]; then
		printf 'fidedupe-fuzz:smoke:small\tsmall\tfidedupe-fuzz\t-\t-\t-\n'
	fi
}

# ordered_cases TIMES: all_cases cheapest first by the control's seconds in
# TIMES, with the tier in front: 0 under 2 s, 1 under 15 s, 2 the rest, 3
# the cases TIMES does not know (added since that control ran: last, as
# their cost is unknown); the default order within each.  Without the
# cases the control skipped or failed.  TIMES may be empty (every case in
# tier 0).  Cases whose names match the extended regular expression
# MUTANTS_FIRST run before all others, in their tiers' order.
ordered_cases() {
	all_cases | awk -F'\t' -v times="$1" -v first="$MUTANTS_FIRST" '
	BEGIN {
		while (times != "" && (getline line < times) > 0) {
			split(line, a, "\t"); res[a[2]] = a[3]; sec[a[2]] = a[4]
		}
	}
	{
		tier = times == "" ? 0 : 3
		if ($1 in res) {
			if (res[$1] != "pass") next
			tier = sec[$1] < 2 ? 0 : sec[$1] < 15 ? 1 : 2
		}
		printf "%d\t%d\t%05d\t%s\n", first == "" || $1 !~ first, tier, NR, $0
	}' | sort -t"$(printf '\t')" -k1,1n -k2,2n -k3,3n | cut -f2,4-
}

# run_once NAME TEST SETUP PROGRAM FIXTURE VARIANT CASE: runs a case
# against module NAME into $caseout, logs it in runs.tsv, and says pass,
# fail, skip or splat.
caseout=$out/.case
run_once() {
	local t0 result secs
	t0=$(date +%s.%N)
	result=$(run_case "$3" "$4" -r "$5.$6.$7")
	secs=$(elapsed "$t0")
	take_klog || result=splat
	printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$result" "$secs" >>"$out/runs.tsv"
	echo "$result"
}

# passed_on_control TIMES TEST: TEST passed on the control.  A case that
# passed there must not skip on a mutant.
passed_on_control() {
	[ -n "$1" ] && awk -F'\t' -v t="$2" '$2 == t && $3 == "pass" { f = 1 }
		END { exit !f }' "$1"
}

# run_batch NAME TIMES CASE...: runs CASEs (lines of the order file, one
# program and setup) in one harness run against mutant NAME and prints the
# killer, if any: the first case that failed (or skipped after passing on
# the control) and fails again alone.  After a splat, the cases run alone
# until one splats or fails.
run_batch() {
	local name=$1 times=$2 line tier test setup prog f v c filters=() t0 secs
	local results=() result n=0 killer= rerun=0 each
	shift 2
	for line; do
		IFS=$'\t' read -r tier test setup prog f v c <<<"$line"
		filters+=(-r "$f.$v.$c")
	done
	t0=$(date +%s.%N)
	run_case "$setup" "$prog" "${filters[@]}" >/dev/null
	secs=$(elapsed "$t0")
	each=$(awk -v s="$secs" -v k="$#" 'BEGIN { printf "%.1f", s / k }')
	take_klog || rerun=1
	# Each case's line of TAP; a case without one failed.
	mapfile -t results < <(printf '%s\n' "${filters[@]}" | grep -v '^-r$' |
		awk 'FILENAME == ARGV[1] {
			if ($1 == "ok") r[$3] = ($0 ~ / # SKIP/) ? "skip" : "pass"
			if ($1 == "not" && $2 == "ok") r[$4] = "fail"
			next
		}
		{ print ($1 in r) ? r[$1] : "fail" }' "$caseout" -)
	for line; do
		IFS=$'\t' read -r tier test setup prog f v c <<<"$line"
		result=${results[n]}
		n=$((n + 1))
		printf '%s\t%s\t%s\t%s\n' "$name" "$test" "$result" "$each" >>"$out/runs.tsv"
		{ [ "$result" = skip ] && passed_on_control "$times" "$test"; } && result=fail
		[ "$rerun" = 1 ] || [ "$result" = fail ] || continue
		# Alone, as a single case does: confirm the failure, or find the
		# case that splats.
		result=$(run_once "$name" "$test" "$setup" "$prog" "$f" "$v" "$c")
		case $result in
		fail) killer=$test ;;
		splat) killer="$test (kernel splat)" ;;
		skip) passed_on_control "$times" "$test" &&
		      killer="$test (skipped; passed on the control)" ;;
		esac
		[ -z "$killer" ] || break
	done
	if [ -z "$killer" ] && [ "$rerun" = 1 ]; then
		IFS=$'\t' read -r tier test _ <<<"$1"
		killer="$test and the $(($# - 1)) cases after it (kernel splat; none alone)"
	fi
	echo "$killer"
}

# elapsed T0: seconds since T0 (date +%s.%N), to a tenth.
elapsed() {
	awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'
}

# The module and livepatch state: what is loaded now.
loaded_ko= loaded_params= loaded_lp=0

unload_all() {
	if [ "$loaded_lp" = 1 ]; then
		unload_livepatch || return 1
		loaded_lp=0
	fi
	if [ -n "$loaded_ko" ]; then
		# A case that failed may leave a child of its own holding
		# /dev/fidedupe for a while: wait for it.
		wait_until 30 unload_module 2>/dev/null || return 1
		loaded_ko=
	fi
}

# setup_for KO SETUP: loads KO with SETUP's parameters and livepatch.
setup_for() {
	local ko=$1 params= lp=0
	case $2 in
	small) params=${small_params[*]} ;;
	livepatch) lp=1 ;;
	livepatch-small) params=${small_params[*]} lp=1 ;;
	esac
	if [ "$loaded_ko" != "$ko" ] || [ "$loaded_params" != "$params" ]; then
		unload_all || return 1
		# shellcheck disable=SC2086
		load_module "$ko" $params || return 1
		loaded_ko=$ko loaded_params=$params
	fi
	if [ "$loaded_lp" != "$lp" ]; then
		if [ "$lp" = 1 ]; then
			load_livepatch "$(dirname "$ko")/fidedupe_livepatch.ko" || return 1
		else
			unload_livepatch || return 1
		fi
		loaded_lp=$lp
	fi
}

# run_case SETUP PROGRAM HARNESS-ARGS...: runs a program into $caseout and
# says pass, fail or skip (of the first case, for several).
run_case() {
	local setup=$1 prog=$2 env=() status
	shift 2
	case $setup in
	small) env=("${small_env[@]}") ;;
	livepatch) env=(FIDEDUPE_LIVEPATCH=1) ;;
	livepatch-small) env=(FIDEDUPE_LIVEPATCH=1 "${small_env[@]}") ;;
	esac
	if [ "$prog" = fidedupe-fuzz ]; then
		# shellcheck disable=SC2086
		timeout -k 10 1200 "$fuzz" $fuzz_args \
			--max-request-bytes 1048576 --chunk-bytes 65536 </dev/null >"$caseout" 2>&1
		status=$?
		[ "$status" -eq 0 ] && echo pass || echo fail
		return
	fi
	env "${env[@]}" timeout -k 10 3600 "$tests/$prog" "$@" </dev/null >"$caseout" 2>&1
	if grep -q '^not ok ' "$caseout"; then echo fail
	elif grep -q '^ok .* # SKIP' "$caseout"; then echo skip
	elif grep -q '^ok ' "$caseout"; then echo pass
	else echo fail
	fi
}

# Leftovers of a case that failed halfway: a frozen filesystem, a swapfile
# in use, fixture directories.
clean_filesystems() {
	local fs
	swapoff -a 2>/dev/null
	for fs in btrfs xfs ext4; do
		fsfreeze --unfreeze "$FIDEDUPE_MNT/$fs" 2>/dev/null
		rm -rf "${FIDEDUPE_MNT:?}/$fs"/t.* "${FIDEDUPE_MNT:?}/$fs"/c.* \
			"${FIDEDUPE_MNT:?}/$fs"/kind.*
	done
}

# run_module NAME KO ORDER TIMES: the whole suite against one build of
# fidedupe.ko, the cases in the file ORDER, until a test fails; one line in
# results.tsv.  TIMES are the control's runs (or empty), for skips.  Fails
# if the module could not be loaded, set up or unloaded: the run cannot go
# on with a module in an unknown state.
run_module() {
	local name=$1 ko=$2 order=$3 times=$4 log=$out/logs/$1.log
	local started killer= verdict param tier test setup prog f v c result secs last=
	local i j t2 s2 p2 cases
	started=$(date +%s.%N)
	take_klog || echo "# a splat before $name" >>"$log"
	klog=$log

	# Parameters that cannot work are refused at load, with a message.
	for param in max_request_bytes=0 chunk_bytes=0; do
		if insmod "$ko" "$param" 2>/dev/null; then
			rmmod fidedupe
			killer="module-params:refuse_$param"
		elif ! take_klog; then
			killer="module-params:refuse_$param (kernel splat)"
		elif ! grep -q "fidedupe: .*$param.*neither may be 0" "$newlog"; then
			killer="module-params:refuse_$param (no message)"
		fi
		[ -z "$killer" ] || break
	done

	# The KUnit suites run at load.
	if [ -z "$killer" ]; then
		if ! setup_for "$ko" default; then
			take_klog
			klog=$out/dmesg.txt
			printf '%s\terror\tinsmod failed\t0\n' "$name" >>"$out/results.tsv"
			return 1
		fi
		if ! take_klog; then
			killer="kunit (kernel splat)"
		else
			verdict=$(kunit_verdict "$newlog")
			[ "$verdict" = ok ] || killer=$verdict
		fi
	fi

	mapfile -t cases <"$order"
	i=0
	while [ -z "$killer" ] && [ "$i" -lt "${#cases[@]}" ]; do
		IFS=$'\t' read -r tier test setup prog f v c <<<"${cases[i]}"
		# The cheap cases of one program and setup run in one harness
		# run (for the control, which has no times yet, every case); a
		# case's time is then its batch's divided among its cases.
		j=$((i + 1))
		if [ "$tier" = 0 ] && [ "$prog" != fidedupe-fuzz ]; then
			while [ "$j" -lt "${#cases[@]}" ] && [ $((j - i)) -lt 60 ]; do
				IFS=$'\t' read -r t2 _ s2 p2 _ <<<"${cases[j]}"
				[ "$t2" = 0 ] && [ "$s2" = "$setup" ] && [ "$p2" = "$prog" ] || break
				j=$((j + 1))
			done
		fi
		if ! setup_for "$ko" "$setup" </dev/null; then
			take_klog
			klog=$out/dmesg.txt
			printf '%s\terror\tcould not set up %s\t0\n' "$name" "$setup" >>"$out/results.tsv"
			return 1
		fi
		if [ $((j - i)) -gt 1 ]; then
			killer=$(run_batch "$name" "$times" "${cases[@]:i:j-i}")
			last="$test and the $((j - i - 1)) cases after it"
			i=$j
			if [ "$name" = control ] && [ -n "$killer" ]; then
				echo "$killer" >>"$out/control-failed.txt"
				{ echo "# failed: $killer"; cat "$caseout"; } >>"$log"
				killer=
			fi
			continue
		fi
		i=$j
		last=$test
		result=$(run_once "$name" "$test" "$setup" "$prog" "$f" "$v" "$c")
		# A failure is confirmed by a second run, so that a case that
		# fails now and then does not kill a mutant; a splat is final.
		if [ "$result" = fail ] && [ "$name" != control ]; then
			result=$(run_once "$name" "$test" "$setup" "$prog" "$f" "$v" "$c")
		fi
		case $result in
		fail) killer=$test ;;
		splat) killer="$test (kernel splat)" ;;
		skip)
			if passed_on_control "$times" "$test"; then
				killer="$test (skipped; passed on the control)"
			fi ;;
		esac
		# The control runs every case; what fails on it is listed.
		if [ "$name" = control ] && [ -n "$killer" ]; then
			echo "$killer" >>"$out/control-failed.txt"
			{ echo "# failed: $killer"; cat "$caseout"; } >>"$log"
			killer=
		fi
	done
	if [ -n "$last" ] && [ "$name" != control ]; then
		{ echo "# the last case run: $last"; cat "$caseout"; } >>"$log"
	fi
	if [ "$name" = control ] && [ -s "$out/control-failed.txt" ]; then
		killer="$(wc -l <"$out/control-failed.txt") cases failed"
	fi

	if ! unload_all </dev/null; then
		take_klog
		klog=$out/dmesg.txt
		printf '%s\terror\tcould not unload (killed by %s)\t0\n' "$name" "${killer:--}" \
			>>"$out/results.tsv"
		return 1
	fi
	take_klog || echo "# a splat at unload of $name" >>"$log"
	klog=$out/dmesg.txt
	clean_filesystems
	secs=$(elapsed "$started")
	if [ "$name" = control ]; then
		verdict=passed
		[ -z "$killer" ] || verdict=failed
	else
		verdict=survived
		[ -z "$killer" ] || verdict=killed
	fi
	printf '%s\t%s\t%s\t%s\n' "$name" "$verdict" "${killer:--}" "$secs" >>"$out/results.tsv"
	echo "mutants: $name $verdict ${killer:-} (${secs} s)"
}

dmesg -n 1
make_all_fs || exit 90

# The clients' baselines: what each client did through mainline's
# FIDEDUPERANGE (the clients test reads fidedupe's counters, so a
# fidedupe.ko is loaded).
setup_for "$mdir/control/fidedupe.ko" default || exit 91
for v in btrfs_native xfs_native; do
	for c in duperemove_tree jdupes_tree rmlint_tree stress_ng_file_ioctl; do
		"$tests/fidedupe_clients_test" -r "clients.$v.$c" </dev/null \
			>>"$out/logs/clients-baseline.$v" 2>&1
	done
done
unload_all || exit 92
clean_filesystems
take_klog

# The control runs every case, in the default order, and must pass them;
# a case that fails on it cannot judge a mutant and is left out of their
# runs (and listed in control-failed.txt).  The mutants run the cases
# cheapest first by the control's times (or the last run's, without one).
times=
rm -f "$out/control-failed.txt"
if [ "$MUTANTS_CONTROL" != 0 ]; then
	ordered_cases "" >"$out/order-control"
	run_module control "$mdir/control/fidedupe.ko" "$out/order-control" "" || exit 93
	grep "^control	" "$out/runs.tsv" >"$out/control-times.tsv"
	times=$out/control-times.tsv
	# Refused parameters and KUnit are not cases: without them nothing
	# can be judged.
	if grep -q "^control	failed	" "$out/results.tsv" &&
	   [ ! -s "$out/control-failed.txt" ]; then
		echo "mutants: the unchanged module failed: $(grep "^control	" "$out/results.tsv")"
		exit 94
	fi
elif [ -s "$mdir/control-times.tsv" ]; then
	times=$mdir/control-times.tsv
fi
ordered_cases "$times" >"$out/order"

while read -r name <&4; do
	run_module "$name" "$mdir/$name/fidedupe.ko" "$out/order" "$times" || exit 95
done 4<"$out/names"
take_klog
exit 0
