# SPDX-License-Identifier: GPL-2.0
# Sourced by the guest scripts: load the module, make the filesystems.

FIDEDUPE_MNT=${FIDEDUPE_MNT:-/tmp/fidedupe}
export FIDEDUPE_MNT

# load_module KO [PARAM=VALUE...]: insmod and open the node to everybody;
# every permission check is made per file, as for FIDEDUPERANGE.
load_module() {
	insmod "$@" || return 1
	chmod 0666 /dev/fidedupe
}

unload_module() {
	rmmod fidedupe
}

# make_fs FS SIZE: a loop-mounted filesystem at $FIDEDUPE_MNT/FS.
make_fs() {
	local fs=$1 size=$2 img=/tmp/fidedupe-img.$1
	mkdir -p "$FIDEDUPE_MNT/$fs"
	truncate -s "$size" "$img"
	case $fs in
	btrfs) mkfs.btrfs -q -f "$img" >/dev/null 2>&1 ;;
	xfs)   mkfs.xfs -q -f "$img" >/dev/null 2>&1 ;;
	ext4)  mkfs.ext4 -q -F "$img" >/dev/null 2>&1 ;;
	esac || { echo "mkfs.$fs failed" >&2; return 1; }
	mount -o loop "$img" "$FIDEDUPE_MNT/$fs" || return 1
	chmod 1777 "$FIDEDUPE_MNT/$fs"
	# A second mount of the same filesystem, and a read-only one.
	mkdir -p "$FIDEDUPE_MNT/$fs-bind" "$FIDEDUPE_MNT/$fs-ro"
	mount --bind "$FIDEDUPE_MNT/$fs" "$FIDEDUPE_MNT/$fs-bind" &&
	mount --bind "$FIDEDUPE_MNT/$fs" "$FIDEDUPE_MNT/$fs-ro" &&
	mount -o remount,bind,ro "$FIDEDUPE_MNT/$fs-ro"
}

make_all_fs() {
	make_fs btrfs 768M && make_fs xfs 768M && make_fs ext4 64M
}
