#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Install everything fidedupe needs, idempotently and quietly:
#  - Debian bookworm (+ bookworm-backports for qemu-system-x86) packages,
#  - linux-source-7.3 and the rust-src matching rustc, both Architecture: all,
#    downloaded from trixie-backports through a *separate* apt state and
#    unpacked with dpkg -x into the cache (never added to the system sources),
#  - bindgen-cli from crates.io and virtme-ng from PyPI.
#
# Writes $FIDEDUPE_CACHE/env.mk with the paths the Makefile needs.

set -euo pipefail

CACHE=${FIDEDUPE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fidedupe}
KVER_SERIES=7.3
BINDGEN_VERSION=0.73.0
VNG_VERSION=1.42
mkdir -p "$CACHE"
STAMP="$CACHE/deps.stamp"
log() { printf 'deps: %s\n' "$*" >&2; }

# shellcheck source=scripts/progress.sh
. "$(dirname "$0")/progress.sh"

# stage_running NAME START: the line of a stage still running.
stage_running() {
	log "$1: still running, $((SECONDS - $2)) s"
}

# Run "$@" as a stage named $1 of the set-up: it runs in the background,
# a line every 30 s says it is still running and for how long, and the
# last line its time; its exit status is the stage's.
stage() {
	local name=$1 start=$SECONDS status=0
	shift
	log "$name"
	"$@" &
	every_30s $! stage_running "$name" "$start" || status=$?
	[ "$status" -eq 0 ] || { log "$name: failed ($status)"; return "$status"; }
	log "$name: done in $((SECONDS - start)) s"
}

# ---------------------------------------------------------------- apt -------
APT_PKGS=(clang-19 lld-19 llvm-19 libclang-19-dev flex bison bc libelf-dev
	  libssl-dev cpio kmod btrfs-progs xfsprogs duperemove e2fsprogs
	  python3-docutils groff-base mandoc pahole rsync busybox-static
	  attr file stress-ng jdupes rmlint python3-ply python3-git)
BPO_PKGS=(qemu-system-x86)

missing=()
for p in "${APT_PKGS[@]}" "${BPO_PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing+=("$p")
done
apt_install() {
	bpo=/etc/apt/sources.list.d/fidedupe-bookworm-backports.sources
	if [ ! -e "$bpo" ]; then
		cat >"$bpo" <<-EOF
		Types: deb
		URIs: http://deb.debian.org/debian
		Suites: bookworm-backports
		Components: main
		Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
		EOF
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get -qq update >/dev/null
	apt-get -qq install -y --no-install-recommends \
		"${APT_PKGS[@]}" >/dev/null
	apt-get -qq install -y --no-install-recommends \
		-t bookworm-backports "${BPO_PKGS[@]}" >/dev/null
}
if [ ${#missing[@]} -gt 0 ]; then
	stage "installing ${missing[*]}" apt_install
fi

# ------------------------------------------- trixie-backports, side state ---
RUSTC_VER=$(rustc --version | awk '{print $2}')
SIDE="$CACHE/apt-trixie"
# shellcheck source=scripts/apt-side.sh
. "$(dirname "$0")/apt-side.sh"
fetch_side() {
	apt_side "$SIDE" trixie-backports trixie
	if [ ! -e "$SIDE/lists.stamp" ]; then
		stage "reading the trixie-backports package lists" apt_side_update
		touch "$SIDE/lists.stamp"
	fi
}

# Unpack the kernel tarball that linux-source .deb $1 carries into $SRC_DIR.
unpack_linux_source() {
	rm -rf "$SRC_DIR/unpack" && mkdir -p "$SRC_DIR/unpack"
	dpkg -x "$1" "$SRC_DIR/unpack"
	tarball=$(ls "$SRC_DIR"/unpack/usr/src/linux-source-$KVER_SERIES.tar.* | head -n1)
	tar -C "$SRC_DIR" -xf "$tarball"
	rm -rf "$SRC_DIR/unpack"
}

SRC_DIR="$CACHE/src"
LINUX_TREE=""
if ! ls -d "$SRC_DIR"/linux-source-$KVER_SERIES/Makefile >/dev/null 2>&1; then
	fetch_side
	stage "fetching linux-source-$KVER_SERIES" \
		side_download "linux-source-$KVER_SERIES"
	deb=$(ls "$SIDE"/archives/linux-source-${KVER_SERIES}_*.deb | tail -n1)
	stage "unpacking $(basename "$deb")" unpack_linux_source "$deb"
fi
LINUX_TREE="$SRC_DIR/linux-source-$KVER_SERIES"

RUST_SRC_ROOT="$CACHE/rust-src-$RUSTC_VER"
RUST_LIB_SRC="$RUST_SRC_ROOT/usr/lib/rustlib/src/rust/library"
if [ ! -d "$RUST_LIB_SRC/core" ]; then
	fetch_side
	want=$(apt-cache "${APT_SIDE[@]}" madison rust-src 2>/dev/null |
	       awk -F'|' '{gsub(/ /,"",$2); print $2}' |
	       grep "^$RUSTC_VER+" | head -n1 || true)
	if [ -z "$want" ]; then
		log "no rust-src matching rustc $RUSTC_VER is offered by trixie-backports;"
		log "offered: $(apt-cache "${APT_SIDE[@]}" madison rust-src | awk -F'|' '{print $2}' | tr -d ' ' | tr '\n' ' ')"
		exit 1
	fi
	stage "fetching rust-src $want" side_download "rust-src=$want"
	rm -rf "$RUST_SRC_ROOT"
	dpkg -x "$SIDE"/archives/rust-src_"${want//:/%3a}"_all.deb "$RUST_SRC_ROOT"
fi

# ---------------------------------------------------- crates.io, PyPI -------
export PATH="$HOME/.cargo/bin:$PATH"
if ! bindgen --version 2>/dev/null | grep -q "$BINDGEN_VERSION"; then
	stage "installing bindgen-cli $BINDGEN_VERSION" \
		cargo install --quiet --locked --version "$BINDGEN_VERSION" bindgen-cli
fi
if ! vng --version 2>/dev/null | grep -q "$VNG_VERSION"; then
	stage "installing virtme-ng $VNG_VERSION" \
		python3 -m pip install --quiet --disable-pip-version-check \
		"virtme-ng==$VNG_VERSION"
fi
VNG=$(command -v vng || true)
[ -n "$VNG" ] || VNG=$(python3 -c 'import sysconfig;print(sysconfig.get_path("scripts"))')/vng

cat >"$CACHE/env.mk.tmp" <<EOF
# generated by scripts/deps.sh
LINUX_TREE := $LINUX_TREE
RUST_LIB_SRC := $RUST_LIB_SRC
VNG := $VNG
BINDGEN := $(command -v bindgen)
EOF
mv "$CACHE/env.mk.tmp" "$CACHE/env.mk"
touch "$STAMP"
