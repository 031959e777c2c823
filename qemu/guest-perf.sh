#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make profile PROFILE_TOOL=perf` inside the VM: where the time of one
# call goes, by sampling.  For each filesystem, path and stage
# (bench/fidedupe_bench's profile mode, 2 x CALLS calls), perf samples
# the CPU clock every PERIOD ns (a software event: TCG has no PMU) with
# kernel and module symbols, so fidedupe.ko's Rust code, which
# function_graph cannot see, gets its own lines.  Each sample's symbol and
# object go to OUTDIR/perf-FS-PATH-STAGE.txt, the bench's line to
# OUTDIR/profile.tsv.
# usage: guest-perf.sh OUTDIR KO BENCH CALLS PERIOD
set -u
out=$1 ko=$2 bench=$3 calls=$4 period=$5
. "$(dirname "$0")/guest-lib.sh"
T=/sys/kernel/tracing

# The bench's profile mode names its process to the tracer; nothing traces.
mountpoint -q "$T" || mount -t tracefs nodev "$T" || exit 93
echo nop >"$T/current_tracer"
echo 0 >/proc/sys/kernel/kptr_restrict
echo -1 >/proc/sys/kernel/perf_event_paranoid
# No throttling: the kernel would otherwise cut a 100 kHz sample rate
# down to a few samples per second under TCG.
echo 0 >/proc/sys/kernel/perf_cpu_time_max_percent
echo 1000000 >/proc/sys/kernel/perf_event_max_sample_rate

perf_all() {
	local fs path stage d data status=0
	for fs in btrfs xfs; do
		make_fs "$fs" 1G || return 90
		d=$FIDEDUPE_MNT/$fs/profile
		mkdir -p "$d"
		for path in native module; do
			for stage in zerolen 4k; do
				data=/tmp/perf-$fs-$path-$stage.data
				perf record -q -e cpu-clock -c "$period" -o "$data" -- \
					"$bench" "$d" "$fs" profile "$path" "$stage" "$calls" ||
					status=1
				perf script -i "$data" -F ip,sym,dso 2>/dev/null \
					>"$out/perf-$fs-$path-$stage.txt"
				rm -f "$data"
			done
		done
		rm -rf "$d"
		drop_fs "$fs" || return 92
	done
	return "$status"
}

command -v perf >/dev/null || exit 95
dmesg -n 1
load_module "$ko" || exit 91
perf_all | tee "$out/profile.tsv"
status=${PIPESTATUS[0]}
unload_module
dmesg >"$out/dmesg.txt"
exit "$status"
