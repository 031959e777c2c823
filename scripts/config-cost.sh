#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# What a config fragment costs the first build: configures tinyconfig +
# FRAGMENT... as scripts/kernel.sh does (without its check that every
# option survived, so that fragments written for other architectures, as
# kernel/configs/kvm_guest.config is, can be measured), builds it from
# nothing into $FIDEDUPE_CACHE/config-cost/NAME and prints one line:
# NAME, the options set (=y or =m), the objects built, the wall time and
# the CPU time (user + system) of the build, and the size of the build
# directory.  The CPU time is the figure to compare when the machine is
# shared (run it under nice); the wall time only with the CPU free.
#
# usage: config-cost.sh NAME FRAGMENT...
#   e.g. config-cost.sh kvm_guest $LINUX_TREE/kernel/configs/kvm_guest.config \
#        qemu/kernel.config

set -euo pipefail
CACHE=${FIDEDUPE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fidedupe}
# shellcheck disable=SC1090
eval "$(sed -n 's/^\([A-Z_]*\) := \(.*\)$/\1="\2"/p' "$CACHE/env.mk")"
export RUST_LIB_SRC PATH="$HOME/.cargo/bin:$PATH"

name=$1
shift
frags=()
for f in "$@"; do frags+=("$(realpath "$f")"); done
B="$CACHE/config-cost/$name"
MK=(make -s -C "$LINUX_TREE" O="$B" LLVM=-19 -j"$(nproc)")

rm -rf "$B"
mkdir -p "$B"
"${MK[@]}" tinyconfig >/dev/null
(cd "$LINUX_TREE" && ARCH=x86 LLVM=-19 \
 scripts/kconfig/merge_config.sh -m -O "$B" "$B/.config" "${frags[@]}" >/dev/null)
"${MK[@]}" olddefconfig >/dev/null
options=$(grep -c '=[ym]$' "$B/.config")

TIMEFORMAT='%R %U %S'
times=$({ time "${MK[@]}" >"$B/build.log" 2>&1; } 2>&1) ||
	{ tail -40 "$B/build.log" >&2; exit 1; }
read -r wall user sys <<<"$times"
objects=$(find "$B" -name '*.o' | wc -l)
size=$(du -sm "$B" | cut -f1)
printf '%s: %s options, %s objects, wall %.0f s, cpu %.0f s, %s MiB\n' \
	"$name" "$options" "$objects" "$wall" "$(echo "$user + $sys" | bc)" "$size"
