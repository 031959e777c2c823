#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the test VM: the differential fuzzer against an old build of
# fidedupe.ko (the module of commit b3d939b, before the review-gaps fixes),
# with the same limits as the smoke, for SECONDS per filesystem, keeping
# every distinct difference it finds and when.  The fuzzer is not told
# where to look: it must find the divergences on its own.
# usage: guest-fuzz-proof.sh OUTDIR OLD_KO FUZZER SECONDS SEED MAGIC
set -u
out=$1 ko=$2 fuzzer=$3 seconds=$4 seed=$5 magic=$6
. "$(dirname "$0")/guest-lib.sh"

dmesg -n 1
make_all_fs || exit 90
load_module "$ko" max_request_bytes=65536 chunk_bytes=16384 || exit 91
status=0
for fs in btrfs xfs; do
	"$fuzzer" --fs "$fs" --seconds "$seconds" --seed "$seed" --ioctl-magic "$magic" \
		--max-request-bytes 65536 --chunk-bytes 16384 --expect-failures \
		--save-dir "$out/found" >"$out/fuzz-$fs-proof.txt" 2>&1 || status=1
done
unload_module || status=92
exit "$status"
