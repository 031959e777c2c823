#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make patches: the series a maintainer can apply, written with git
# format-patch into OUT (default build/patches), each checked: it applies
# with git am, in order, to a fresh copy of its base.
#
#  - man-pages/: the man-pages project's FIDEDUPERANGE(2const) page, made
#    to describe mainline (Documentation/man-pages/: the page and its
#    commit message).  Its base is the page of the newest man-pages Debian
#    ships, from the manpages-dev package of unstable, fetched through a
#    separate apt state as scripts/deps.sh fetches the kernel source; the
#    page must be the one this series was written against (its sha256).
#    The patched page must render lint-clean (groff -ww, mandoc -Tlint).
#
#  - kernel/: the Rust implementation of vfs_dedupe_file_range() for the
#    kernel, with the rust/kernel abstractions it needs, and a cover
#    letter.  Each patch is made from this repository's sources by
#    scripts/kernel-series.py, with its commit message from series/; the
#    cover letter from series/cover.msg, Documentation/review.rst and
#    Documentation/results.rst (scripts/cover-letter.py).  Its base is a
#    commit of our own: the 7.3.4 source scripts/deps.sh unpacks, as
#    Debian ships it, made a git tree once in $CACHE.  Each patch must be
#    checkpatch --strict clean.  scripts/series-build.sh builds the
#    kernel at each patch.
#
# usage: patches.sh [OUT]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$here/build/patches}
CACHE=${FIDEDUPE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fidedupe}
# shellcheck source=scripts/apt-side.sh
. "$here/scripts/apt-side.sh"

MANPAGES_DEB=manpages-dev=6.20-2
MANPAGE=man/man2const/FIDEDUPERANGE.2const
MANPAGE_BASE_SHA256=52a5a5dcc3da295eada8d4baf23a686f18ef83beab01e957e21b10b873354208

fail() {
	echo "patches: $*" >&2
	exit 1
}

# commit_as_last_change DIR MESSAGE-FILE PATH...: commits in DIR as the
# last commit of this repository that changed PATH... (author, dates), so
# that the same sources give the same patch.
commit_as_last_change() {
	local dir=$1 msg=$2 last
	shift 2
	last=$(git -C "$here" rev-list -1 HEAD -- "$@")
	[ -n "$last" ] || fail "$*: not committed in $here"
	show() { git -C "$here" show -s --format="$1" "$last"; }
	GIT_AUTHOR_NAME=$(show %an) GIT_AUTHOR_EMAIL=$(show %ae) GIT_AUTHOR_DATE=$(show %aI) \
	GIT_COMMITTER_NAME=$(show %an) GIT_COMMITTER_EMAIL=$(show %ae) \
	GIT_COMMITTER_DATE=$(show %cI) \
		git -C "$dir" commit -q -s -F "$msg"
}

# base_tree DIR: a fresh git tree in DIR, on branch "series".
base_tree() {
	rm -rf "$1" && mkdir -p "$1"
	git -C "$1" init -q -b series
	git -C "$1" config user.name base
	git -C "$1" config user.email base@localhost
}

man_pages() {
	local deb page tree=$out/man-pages.tree series=$out/man-pages
	apt_side "$CACHE/apt-unstable" unstable
	[ -e "$APT_SIDE_DIR/lists.stamp" ] || { apt_side_update && touch "$APT_SIDE_DIR/lists.stamp"; }
	deb=$APT_SIDE_DIR/archives/${MANPAGES_DEB/=/_}_all.deb
	if [ ! -e "$deb" ]; then
		apt_side_update
		side_download "$MANPAGES_DEB" ||
			fail "$MANPAGES_DEB is no longer offered ($(apt-cache "${APT_SIDE[@]}" madison \
				manpages-dev | awk -F'|' '{print $2}' | tr -d ' ')): write" \
				"Documentation/man-pages/ against the newer page and name it here"
	fi
	base_tree "$tree"
	mkdir -p "$tree/${MANPAGE%/*}"
	page=usr/share/man/man2/${MANPAGE##*/}.gz
	dpkg-deb --fsys-tarfile "$deb" | tar -xO "./$page" | gzip -dc >"$tree/$MANPAGE"
	echo "$MANPAGE_BASE_SHA256  $tree/$MANPAGE" | sha256sum -c --quiet - ||
		fail "$MANPAGES_DEB's ${MANPAGE##*/} is not the page this series was written against"
	git -C "$tree" add -A
	# A fixed date, so that the base, and the patch's parent, are the same
	# commit every time.
	GIT_AUTHOR_DATE="1970-01-01T00:00:00Z" GIT_COMMITTER_DATE="1970-01-01T00:00:00Z" \
		git -C "$tree" commit -q -m "base: $MANPAGE of man-pages, from Debian's ${MANPAGES_DEB/=/ }"
	git -C "$tree" tag base

	cp "$here/Documentation/man-pages/${MANPAGE##*/}" "$tree/$MANPAGE"
	git -C "$tree" add -A
	commit_as_last_change "$tree" "$here/Documentation/man-pages/${MANPAGE##*/}.msg" \
		Documentation/man-pages
	rm -rf "$series"
	git -C "$tree" format-patch -q -o "$series" base..HEAD

	# The series applies to a fresh copy of the base, and the page renders
	# lint-clean.
	git -C "$tree" checkout -q --detach base
	git -C "$tree" am -q "$series"/*.patch || fail "man-pages: git am failed"
	git -C "$tree" diff --quiet HEAD series || fail "man-pages: git am gave another page"
	lint=$(groff -man -ww -z "$tree/$MANPAGE" 2>&1; mandoc -Tlint -W warning "$tree/$MANPAGE" 2>&1)
	[ -z "$lint" ] || fail "man-pages: the page is not lint-clean: $lint"
	echo "patches: $(ls "$series" | wc -l) patch in ${series#"$here"/}, on ${MANPAGE##*/} of ${MANPAGES_DEB/=/ }"
}

# kernel_base: the git tree of the kernel source, made once; prints its
# path.  Its one commit has a fixed date, so its id is the same on every
# machine that unpacks the same source.
kernel_base() {
	local base=$CACHE/linux-7.3.4.git
	if ! git -C "$base" rev-parse -q --verify refs/tags/base >/dev/null 2>&1; then
		rm -rf "$base" "$base.tmp"
		cp -a "$LINUX_TREE" "$base.tmp"
		git -C "$base.tmp" init -q -b linux-7.3.4
		# Debian's .gitignore ignores everything at the top level.
		git -C "$base.tmp" add -A -f
		GIT_AUTHOR_NAME=base GIT_AUTHOR_EMAIL=base@localhost \
		GIT_COMMITTER_NAME=base GIT_COMMITTER_EMAIL=base@localhost \
		GIT_AUTHOR_DATE="1970-01-01T00:00:00Z" GIT_COMMITTER_DATE="1970-01-01T00:00:00Z" \
			git -C "$base.tmp" commit -q -m "Linux 7.3.4, as Debian's linux-source-7.3 ships it"
		git -C "$base.tmp" tag base
		mv "$base.tmp" "$base"
	fi
	echo "$base"
}

kernel_series() {
	local base name sources head tree=$out/kernel.tree series=$out/kernel p bad=0
	base=$(kernel_base)
	git -C "$base" worktree remove -f "$tree" 2>/dev/null || rm -rf "$tree"
	git -C "$base" worktree prune
	git -C "$base" worktree add -q --detach "$tree" base
	while read -r name sources; do
		# shellcheck disable=SC2086
		"$here/scripts/kernel-series.py" "$tree" "$here" "$name"
		git -C "$tree" add -A -f
		# shellcheck disable=SC2086
		commit_as_last_change "$tree" "$here/series/$name.msg" "series/$name.msg" $sources
	done < <("$here/scripts/kernel-series.py" --list)
	rm -rf "$series"
	git -C "$tree" format-patch -q --cover-letter --base=base -o "$series" base..HEAD
	"$here/scripts/cover-letter.py" "$series/0000-cover-letter.patch" "$here" "$tree" \
		"The base is Linux 7.3.4 as Debian's linux-source-7.3 ships it, made a git tree in a commit of our own, $(git -C "$tree" rev-parse --short=12 base) (scripts/patches.sh)."

	# Each patch is checkpatch-clean and applies, in order, to a fresh
	# copy of the base.
	for p in "$series"/0*.patch; do
		case $p in */0000-cover-letter.patch) continue ;; esac
		# spdxcheck.py, which checkpatch runs, needs the system python3-ply.
		if ! (cd "$tree" && PATH=/usr/bin:$PATH scripts/checkpatch.pl --strict --quiet "$p"); then
			bad=1
		fi
	done
	[ $bad = 0 ] || fail "kernel: checkpatch --strict is not clean"
	head=$(git -C "$tree" rev-parse HEAD)
	git -C "$tree" checkout -q --detach base
	git -C "$tree" am -q $(ls "$series"/0*.patch | grep -v /0000-cover-letter.patch) ||
		fail "kernel: git am failed"
	git -C "$tree" diff --quiet HEAD "$head" || fail "kernel: git am gave another tree"
	# The series' own commits, the same for the same sources (git am's
	# have today's date), for scripts/series-build.sh.
	git -C "$tree" checkout -q --detach "$head"
	echo "patches: $(($(ls "$series" | wc -l) - 1)) patches and a cover letter in ${series#"$here"/}, on Linux 7.3.4"
}

mkdir -p "$out"
man_pages
kernel_series
