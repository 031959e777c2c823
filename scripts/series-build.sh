#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Builds the kernel at every patch of the kernel series make patches
# wrote (build/patches/kernel.tree, base..HEAD), incrementally, in one
# build folder kept in the cache, from a worktree of its own there
# (kbuild-series-src: make patches makes its tree afresh, and every file's
# new time would make each build a whole one): with the test kernel's configuration
# and the Rust implementation chosen once the series offers it; then the
# last patch again with the C default, and rustfmtcheck and CLIPPY=1 on
# the Rust one.  Prints a line per build; fails at the first that fails
# (its log's tail on stderr).  Leaves its worktree at the series' head and
# the build folder with the Rust implementation built, for
# make check-intree.  With c or rust, only the series' head, with that
# implementation.
# usage: series-build.sh TREE KBUILD [c|rust]
set -euo pipefail
tree=$1 kbuild=$2 only=${3:-}
CACHE=${FIDEDUPE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fidedupe}
eval "$(sed -n 's/^\([A-Z_]*\) := \(.*\)$/\1="\2"/p' "$CACHE/env.mk")"
export RUST_LIB_SRC PATH="$HOME/.cargo/bin:$PATH"
out=$CACHE/kbuild-series
src=$CACHE/kbuild-series-src
MK=(make -s -C "$src" O="$out" LLVM=-19 -j"$(nproc)")

# choose c|rust: the implementation, where the tree offers the choice.
choose() {
	local config=$out/.config
	if [ "$1" = rust ]; then
		"$src/scripts/config" --file "$config" --disable VFS_DEDUPE_C \
			--enable VFS_DEDUPE_RUST --enable VFS_DEDUPE_RUST_KUNIT_TEST
	else
		"$src/scripts/config" --file "$config" --enable VFS_DEDUPE_C \
			--disable VFS_DEDUPE_RUST --disable VFS_DEDUPE_RUST_KUNIT_TEST
	fi
	"${MK[@]}" olddefconfig >/dev/null
}

# build WHAT [MAKE-ARGS...]: one build, timed.
build() {
	local what=$1 start
	shift
	start=$(date +%s)
	if ! "${MK[@]}" "$@" >"$out/series-build.log" 2>&1; then
		tail -n 40 "$out/series-build.log" >&2
		echo "series-build: $what: the build failed (log: $out/series-build.log)" >&2
		exit 1
	fi
	if grep -E '^(warning|error)(\[|:)' "$out/series-build.log" >&2; then
		echo "series-build: $what: the build warns (log: $out/series-build.log)" >&2
		exit 1
	fi
	echo "series-build: $what: built in $(($(date +%s) - start)) s"
}

head=$(git -C "$tree" rev-parse HEAD)
mkdir -p "$out"
[ -e "$out/.config" ] || cp "$kbuild/.config" "$out/.config"
# The tree's commits are in the repository both worktrees share.
[ -e "$src/.git" ] || git -C "$tree" worktree add -q --detach "$src" base
if [ -n "$only" ]; then
	git -C "$src" checkout -q --detach "$head"
	choose "$only"
	build "the $only implementation"
	exit 0
fi
# A series already built whole is not built again.
if [ "$(cat "$out/series.built" 2>/dev/null)" = "$head" ]; then
	echo "series-build: $(git -C "$tree" rev-list --count base.."$head") patches built at $head already"
	git -C "$src" checkout -q --detach "$head"
	choose rust
	build "the Rust implementation, for the VM"
	exit 0
fi
rm -f "$out/series.built"
for commit in $(git -C "$tree" rev-list --reverse base.."$head"); do
	git -C "$src" checkout -q --detach "$commit"
	choose rust
	build "$(git -C "$tree" log -1 --format=%s "$commit")"
done
grep -q '^CONFIG_VFS_DEDUPE_RUST=y' "$out/.config" ||
	{ echo "series-build: the series offers no CONFIG_VFS_DEDUPE_RUST" >&2; exit 1; }
build "rustfmtcheck" rustfmtcheck
build "CLIPPY=1" CLIPPY=1
choose c
build "the C default"
choose rust
build "the Rust implementation, for the VM"
echo "$head" >"$out/series.built"
