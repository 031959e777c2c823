#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make profile` inside the VM: where the time of one call goes, on both
# paths.  For each filesystem, path and stage (bench/fidedupe_bench's
# profile mode), the function_graph tracer records the calls of one
# process from __x64_sys_ioctl() down to MAX_DEPTH levels (deeper
# functions are not traced and count in their caller's time), without
# interrupts; each trace goes to OUTDIR/trace-FS-PATH-STAGE.txt, the
# bench's line to OUTDIR/profile.tsv.
# usage: guest-profile.sh OUTDIR KO BENCH CALLS MAX_DEPTH
set -u
out=$1 ko=$2 bench=$3 calls=$4 depth=$5
. "$(dirname "$0")/guest-lib.sh"
T=/sys/kernel/tracing

mountpoint -q "$T" || mount -t tracefs nodev "$T" || exit 93
tracer_setup() {
	echo 0 >"$T/tracing_on" &&
	echo nop >"$T/current_tracer" &&
	echo __x64_sys_ioctl >"$T/set_graph_function" &&
	echo "$depth" >"$T/max_graph_depth" &&
	echo 32768 >"$T/buffer_size_kb" &&
	echo function_graph >"$T/current_tracer" &&
	echo 0 >"$T/options/funcgraph-irqs" &&
	echo 1 >"$T/options/funcgraph-tail" &&
	echo >"$T/trace"
}

profile_all() {
	local fs path stage d status=0
	for fs in btrfs xfs; do
		make_fs "$fs" 1G || return 90
		d=$FIDEDUPE_MNT/$fs/profile
		mkdir -p "$d"
		for path in native module; do
			for stage in 4k zerolen; do
				tracer_setup || return 94
				"$bench" "$d" "$fs" profile "$path" "$stage" "$calls" || status=1
				cat "$T/trace" >"$out/trace-$fs-$path-$stage.txt"
				echo nop >"$T/current_tracer"
			done
		done
		rm -rf "$d"
		drop_fs "$fs" || return 92
	done
	return "$status"
}

dmesg -n 1
load_module "$ko" || exit 91
profile_all | tee "$out/profile.tsv"
status=${PIPESTATUS[0]}
unload_module
dmesg >"$out/dmesg.txt"
exit "$status"
