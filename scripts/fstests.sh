#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make fstests: fstests, the filesystem community's regression suite, in
# the test VM (qemu/guest-fstests.sh), on btrfs and xfs, once with
# mainline's vfs_dedupe_file_range() and once with fidedupe's through the
# livepatch; PASS=builtin boots instead the kernel of the series make
# patches writes, with the Rust vfs_dedupe_file_range() built in (as make
# check-intree leaves it in the cache's kbuild-series) and no module.
#
# fstests is not packaged: its source comes from FSTESTS_TARBALL (default:
# the snapshot in the shared folder beside the checkout) or, without one,
# from a build already in the cache or else FSTESTS_GIT, and is built once
# into the cache with the packages its README lists (installed here if
# missing).  Each filesystem of each pass gets its own VM (and its own
# VM_TIMEOUT), whose results go to BUILDDIR/fstests/<pass>/<fs>/, and
# the summary lines of fstests (Ran, Not run, Failures) are printed per
# pass and filesystem, with the calls fidedupe served in the livepatch
# pass.
#
# usage: fstests.sh KBUILD BUILDDIR "TESTS" PASSES FS...
#   TESTS: check's arguments ("-g dedupe"); PASSES: "mainline livepatch"
#   or "builtin".
set -euo pipefail
kbuild=$1 build=$2 tests=$3 passes=$4
shift 4
here=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${FIDEDUPE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fidedupe}
FSTESTS_TARBALL=${FSTESTS_TARBALL:-$(ls "$here"/../shared/fstests/xfstests-*.tar.gz 2>/dev/null |
				     tail -n1 || true)}
FSTESTS_GIT=${FSTESTS_GIT:-git://git.kernel.org/pub/scm/fs/xfs/xfstests-dev.git}
FSTESTS_PKGS=(acl attr automake autoconf bc fio gawk indent libacl1-dev libaio-dev
	      libcap-dev libgdbm-dev libgdbm-compat-dev libtool libtool-bin
	      liburing-dev uuid-dev uuid-runtime psmisc quota sqlite3 xfslibs-dev
	      libattr1-dev pkg-config)

log() { printf 'fstests: %s\n' "$*" >&2; }

missing=()
for p in "${FSTESTS_PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	log "installing ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get -qq install -y --no-install-recommends \
		"${missing[@]}" >/dev/null
fi

# Without a snapshot at hand (a clone elsewhere), a build already cached.
if [ -n "$FSTESTS_TARBALL" ]; then
	name=$(basename "$FSTESTS_TARBALL" .tar.gz)
else
	name=$(cd "$CACHE" && ls -d xfstests-*/ltp/fsstress 2>/dev/null | tail -n1 || true)
	name=${name%%/*}
	name=${name:-xfstests-git}
fi
src=$CACHE/$name
if [ ! -x "$src/ltp/fsstress" ]; then
	rm -rf "$src" "$src.unpack"
	if [ -n "$FSTESTS_TARBALL" ]; then
		log "building $name from $FSTESTS_TARBALL"
		mkdir -p "$src.unpack"
		tar -C "$src.unpack" -xzf "$FSTESTS_TARBALL"
		mv "$src.unpack"/* "$src" && rmdir "$src.unpack"
	else
		log "building fstests from $FSTESTS_GIT"
		git clone -q --depth 1 "$FSTESTS_GIT" "$src"
	fi
	make -C "$src" -j"$(nproc)" >"$src.build.log" 2>&1 ||
		{ log "build failed: $src.build.log"; exit 1; }
fi

status=0
for pass in $passes; do
	kernel=$kbuild
	if [ "$pass" = builtin ]; then
		kernel=$CACHE/kbuild-series
		grep -qx 'CONFIG_VFS_DEDUPE_RUST=y' "$kernel/.config" 2>/dev/null || {
			log "builtin: no kernel with the Rust implementation in $kernel" \
			    "(make check-intree builds it)"
			exit 1
		}
	fi
	for fs in "$@"; do
		out=$build/fstests/$pass/$fs
		rm -rf "$out"
		mkdir -p "$out"
		VM_MEMORY=${VM_MEMORY:-8G} VM_TIMEOUT=${VM_TIMEOUT:-14400} \
			"$here/qemu/vm.sh" "$kernel" "$out" \
			"$here/qemu/guest-fstests.sh" "$out" "$build" "$src" "$pass" \
			"${tests// /,}" "$fs" || status=1
		sed -n 's/^\(Ran\|Not run\|Failures\|Passed all\|Failed\)/'"$pass $fs"': \1/p' \
			"$out/$fs.log" 2>/dev/null || echo "$pass $fs: no log"
		[ ! -e "$out/$fs.stats" ] || awk -v p="$pass $fs" '$2 == "calls_fideduperange" \
			{ v[$1] = $3 } END { print p ": calls served by fidedupe: " v["after"] - v["before"] }' \
			"$out/$fs.stats"
	done
done
exit $status
