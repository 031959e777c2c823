#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the test VM: the differential fuzzer (fuzz/), with fidedupe
# loaded with small limits so that short files span many chunks and pass
# the cap.  For each filesystem: mainline against /dev/fidedupe as root,
# then as nobody, then with fidedupe_livepatch loaded FIDEDUPERANGE
# against /dev/fidedupe; then every saved reproducer.  Each run's output
# goes to OUTDIR/fuzz-<fs>-<mode>.txt and ends with the line
# "fuzz: N cases, N undocumented differences, N invariant failures".
# usage: guest-fuzz.sh [--no-setup] OUTDIR KO FUZZER CASES SECONDS SEED
#                     [REGRESSION...]
#   REGRESSION: a saved reproducer, or a directory of them (*.json): the
#   kernel's command line, which carries this one, is too short for many.
#   CASES and SECONDS bound each root run (0: no bound); the nobody and
#   livepatch runs get a fifth of each.  --no-setup: the filesystems are
#   made and the module is not loaded (guest-check.sh).
#   FUZZ_REPEAT_MAX (environment): the most records of the cases with
#   1000 or more, on /dev/fidedupe only (fidedupe-fuzz --repeat-max;
#   default 65535).
set -u
setup=1
if [ "$1" = --no-setup ]; then
	setup=0
	shift
fi
out=$1 ko=$2 fuzzer=$3 cases=$4 seconds=$5 seed=$6
shift 6
here=$(dirname "$0")
. "$here/guest-lib.sh"
lp=$(dirname "$ko")/fidedupe_livepatch.ko
limits=(--max-request-bytes 65536 --chunk-bytes 16384 --repeat-max "${FUZZ_REPEAT_MAX:-65535}")

if [ $setup -eq 1 ]; then
	dmesg -n 1
	make_all_fs || exit 90
fi
# The fuzzer as nobody creates nothing, but must traverse the mounts.
chmod 0755 "$FIDEDUPE_MNT"
load_module "$ko" max_request_bytes=65536 chunk_bytes=16384 || exit 91
# fuzz_fs FS MODE ARGS...: one run, its output in $out/fuzz-FS-MODE.txt.
fuzz_fs() {
	local fs=$1 mode=$2
	shift 2
	"$fuzzer" --fs "$fs" --seed "$seed" "${limits[@]}" --save-dir "$out/found" "$@" \
		>"$out/fuzz-$fs-$mode.txt" 2>&1
}

# The two filesystems side by side: the guest has two CPUs.
status=0
for fs in btrfs xfs; do
	(
		s=0
		fuzz_fs "$fs" root --cases "$cases" --seconds "$seconds" || s=1
		fuzz_fs "$fs" nobody --cases $((cases / 5)) --seconds $((seconds / 5)) \
			--unprivileged || s=1
		exit $s
	) &
done
wait -n || status=1
wait -n || status=1
rm -rf "$FIDEDUPE_MNT"/*/fuzz.* /tmp/fidedupe-fuzz.* /dev/shm/fidedupe-fuzz.* 2>/dev/null
if [ $# -gt 0 ]; then
	replay=()
	for f in "$@"; do
		if [ -d "$f" ]; then
			for g in "$f"/*.json; do replay+=(--replay "$g"); done
		else
			replay+=(--replay "$f")
		fi
	done
	for fs in btrfs xfs; do
		fuzz_fs "$fs" replay "${replay[@]}" || status=1
	done
fi
load_livepatch "$lp" || exit 95
for fs in btrfs xfs; do
	fuzz_fs "$fs" livepatch --cases $((cases / 5)) --seconds $((seconds / 5)) --livepatch &
done
wait -n || status=1
wait -n || status=1
if [ $# -gt 0 ]; then
	for fs in btrfs xfs; do
		fuzz_fs "$fs" replay-livepatch --livepatch "${replay[@]}" || status=1
	done
fi
unload_livepatch || status=96
unload_module || status=92
exit "$status"
