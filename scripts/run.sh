#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make run`: boot the test kernel and show a real dedupe on a small btrfs
# (qemu/guest-run.sh): through /dev/fidedupe (MODE device, the default) or
# by duperemove through FIDEDUPERANGE with the livepatch (MODE livepatch).
# usage: run.sh KBUILD BUILDDIR [device|livepatch]
set -u
kbuild=$1 build=$2 mode=${3:-device}
case $mode in
device | livepatch) ;;
*) echo "run: MODE must be device or livepatch, not '$mode'" >&2; exit 2 ;;
esac
here=$(cd "$(dirname "$0")/.." && pwd)
out="$build/vm-run"
mkdir -p "$out"
exec "$here/qemu/vm.sh" "$kbuild" "$out" \
	OUT="$out" "$here/qemu/guest-run.sh" "$build/module/fidedupe.ko" "$build/tools/fidedupe" "$mode"
