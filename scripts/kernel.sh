#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Configure and build the test kernel out of tree, into a cache directory
# keyed by kernel version and config-fragment hash, so that a second run is
# incremental (or a no-op).  Prints the build directory on stdout.
#
# usage: kernel.sh FRAGMENT...   (fragments are merged in order on tinyconfig)

set -euo pipefail
CACHE=${FIDEDUPE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fidedupe}
# shellcheck disable=SC1090
eval "$(sed -n 's/^\([A-Z_]*\) := \(.*\)$/\1="\2"/p' "$CACHE/env.mk")"
export RUST_LIB_SRC PATH="$HOME/.cargo/bin:$PATH"

frags=(); for f in "$@"; do frags+=("$(realpath "$f")"); done
set -- "${frags[@]}"
kver=$(make -s --no-print-directory -C "$LINUX_TREE" kernelversion)
# The key is what decides the .config: the fragments, in order.
key=$(cat "$@" | sha256sum | cut -c1-12)
B="$CACHE/kbuild-$kver-$key"
MK=(make -s -C "$LINUX_TREE" O="$B" LLVM=-19 -j"$(nproc)")
log() { printf 'kernel: %s\n' "$*" >&2; }

if [ ! -e "$B/.config.fidedupe" ]; then
	log "configuring $B"
	mkdir -p "$B"
	"${MK[@]}" rustavailable >&2
	"${MK[@]}" tinyconfig >/dev/null
	(cd "$LINUX_TREE" && ARCH=x86 LLVM=-19 \
	 scripts/kconfig/merge_config.sh -m -O "$B" "$B/.config" "$@" >/dev/null)
	"${MK[@]}" olddefconfig >/dev/null
	# Every requested option must have survived dependency resolution;
	# a later fragment's setting of an option overrides an earlier one's.
	# merge_config.sh -s makes the same comparison after its make, but
	# first fails on any value a fragment redefines, and these fragments
	# redefine on purpose (tinyconfig's choices, the bench fragment's
	# debug options: 46 of the first alone), so the comparison is here.
	bad=0
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=*) want="$line" ;;
		"# CONFIG_"*" is not set") want="$line" ;;
		*) continue ;;
		esac
		opt=${want#\# }; opt=${opt%%[= ]*}
		got=$(grep -E "^(# )?$opt[= ]" "$B/.config" || echo "# $opt is not set")
		if [ "$got" != "$want" ]; then
			log "requested '$want', got '$got'"; bad=1
		fi
	done < <(cat "$@" | awk '
		/^CONFIG_|^# CONFIG_.* is not set$/ {
			o = $0; sub(/^# /, "", o); sub(/[= ].*/, "", o)
			if (!(o in last)) order[n++] = o
			last[o] = $0
		}
		END { for (i = 0; i < n; i++) print last[order[i]] }')
	[ $bad -eq 0 ] || { log "config fragment not satisfiable"; exit 1; }
	cp "$B/.config" "$B/.config.fidedupe"
fi

# About this many objects in a build of the test fragment from nothing
# (1883 counted in one): the progress lines say how far a build is.
OBJECTS=1900

# shellcheck source=scripts/progress.sh
. "$(dirname "$0")/progress.sh"

# build_progress: objects built so far, of about how many, and seconds.
build_progress() {
	local done_objs
	done_objs=$(find "$B" -name '*.o' | wc -l)
	log "$((done_objs - before)) objects built, $done_objs of about $OBJECTS in all, $(( $(date +%s) - start )) s"
}

if [ ! -e "$B/build.stamp" ] || [ -n "$(find "$LINUX_TREE/Makefile" "$B/.config" -newer "$B/build.stamp")" ]; then
	log "building $kver in $B (first build: about 9 minutes on 2 cores)"
	start=$(date +%s)
	before=$(find "$B" -name '*.o' | wc -l)
	"${MK[@]}" >"$B/build.log" 2>&1 &
	every_30s $! build_progress || { tail -40 "$B/build.log" >&2; exit 1; }
	touch "$B/build.stamp"
	log "built in $(( $(date +%s) - start ))s"
fi
echo "$B"
