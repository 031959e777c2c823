#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make run`: boot the test kernel and show a real dedupe through
# /dev/fidedupe on a small btrfs (qemu/guest-run.sh).
# usage: run.sh KBUILD BUILDDIR
set -u
kbuild=$1 build=$2
here=$(cd "$(dirname "$0")/.." && pwd)
out="$build/vm-run"
mkdir -p "$out"
exec "$here/qemu/vm.sh" "$kbuild" "$out" \
	OUT="$out" "$here/qemu/guest-run.sh" "$build/module/fidedupe.ko" "$build/tools/fidedupe"
