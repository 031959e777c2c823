# SPDX-License-Identifier: GPL-2.0
#
# Sourced by run_fidedupe_tests.sh and by the test VM's scripts: the
# filesystems the dedupe selftests run on.  Each is a loop-mounted image
# at $FIDEDUPE_MNT/<fs>, with a second (bind) mount of it at <fs>-bind and
# a read-only bind mount at <fs>-ro.  The images live in FIDEDUPE_IMG_DIR.

FIDEDUPE_MNT=${FIDEDUPE_MNT:-/tmp/fidedupe}
FIDEDUPE_IMG_DIR=${FIDEDUPE_IMG_DIR:-/tmp}
export FIDEDUPE_MNT

# make_fs FS SIZE: makes and mounts one; fails with a message on stderr.
make_fs() {
	local fs=$1 size=$2 img=$FIDEDUPE_IMG_DIR/fidedupe-img.$1
	mkdir -p "$FIDEDUPE_MNT/$fs"
	truncate -s "$size" "$img"
	case $fs in
	btrfs) mkfs.btrfs -q -f "$img" >/dev/null 2>&1 ;;
	xfs)   mkfs.xfs -q -f "$img" >/dev/null 2>&1 ;;
	ext4)  mkfs.ext4 -q -F "$img" >/dev/null 2>&1 ;;
	esac || { echo "mkfs.$fs failed" >&2; return 1; }
	mount -o loop "$img" "$FIDEDUPE_MNT/$fs" || return 1
	chmod 1777 "$FIDEDUPE_MNT/$fs"
	mkdir -p "$FIDEDUPE_MNT/$fs-bind" "$FIDEDUPE_MNT/$fs-ro"
	mount --bind "$FIDEDUPE_MNT/$fs" "$FIDEDUPE_MNT/$fs-bind" &&
	mount --bind "$FIDEDUPE_MNT/$fs" "$FIDEDUPE_MNT/$fs-ro" &&
	mount -o remount,bind,ro "$FIDEDUPE_MNT/$fs-ro"
}

# drop_fs FS: undoes make_fs FS (its three mounts and its image).
drop_fs() {
	umount "$FIDEDUPE_MNT/$1-ro" "$FIDEDUPE_MNT/$1-bind" "$FIDEDUPE_MNT/$1" &&
	rm -f "$FIDEDUPE_IMG_DIR/fidedupe-img.$1"
}

# The tests' filesystems: btrfs and xfs, and ext4 (no remap_file_range).
FIDEDUPE_FILESYSTEMS="btrfs xfs ext4"

make_all_fs() {
	make_fs btrfs 768M && make_fs xfs 768M && make_fs ext4 64M
}

# all_fs_mounted: make_all_fs has been done (by this script or a caller).
all_fs_mounted() {
	local fs
	for fs in $FIDEDUPE_FILESYSTEMS; do
		mountpoint -q "$FIDEDUPE_MNT/$fs" || return 1
	done
}

# missing_fs_tools: the mkfs programs make_all_fs needs and cannot find.
missing_fs_tools() {
	local fs
	for fs in $FIDEDUPE_FILESYSTEMS; do
		command -v "mkfs.$fs" >/dev/null || printf 'mkfs.%s ' "$fs"
	done
}
