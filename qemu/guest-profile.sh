#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make profile` inside the VM: where the time of one call goes, on both
# paths.  For each filesystem, path and stage (bench/fidedupe_bench's
# profile mode), the function_graph tracer records the calls of one
# process under __x64_sys_ioctl() to the same kernel functions on both
# paths, FUNCTIONS below: the VFS and LSM calls either path makes and the
# filesystem's ->remap_file_range() (its inside is not traced).  Neither
# fidedupe.ko's Rust code (rustc emits no ftrace entry points here) nor
# its one-line C helpers (tracing them would add the tracer's cost, more
# than their own, to one path only) are traced: their time is in their
# callers' own time.
# Interrupts are left out.  Each trace goes to
# OUTDIR/trace-FS-PATH-STAGE.txt, the bench's line to OUTDIR/profile.tsv.
# usage: guest-profile.sh OUTDIR KO BENCH CALLS
set -u
out=$1 ko=$2 bench=$3 calls=$4
. "$(dirname "$0")/guest-lib.sh"
T=/sys/kernel/tracing
FUNCTIONS="__x64_sys_ioctl fdget fget fput security_file_ioctl memdup_user
	   kfree vfs_dedupe_file_range vfs_dedupe_file_range_one
	   remap_verify_area mnt_want_write_file mnt_drop_write_file capable
	   inode_owner_or_capable inode_permission btrfs_remap_file_range
	   xfs_file_remap_range"

mountpoint -q "$T" || mount -t tracefs nodev "$T" || exit 93
tracer_setup() {
	local f
	echo 0 >"$T/tracing_on" &&
	echo nop >"$T/current_tracer" &&
	echo >"$T/set_ftrace_filter" || return 1
	for f in $FUNCTIONS; do
		echo "$f" >>"$T/set_ftrace_filter" ||
			echo "profile: $f cannot be traced" >&2
	done
	echo __x64_sys_ioctl >"$T/set_graph_function" &&
	echo 0 >"$T/max_graph_depth" &&
	echo 32768 >"$T/buffer_size_kb" &&
	echo function_graph >"$T/current_tracer" &&
	echo 0 >"$T/options/funcgraph-irqs" &&
	echo 1 >"$T/options/funcgraph-tail" &&
	echo >"$T/trace"
}

# profile_all: every filesystem, path and stage, one trace each.
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
exit "$status"
