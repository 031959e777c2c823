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

LIVEPATCH_SYSFS=/sys/kernel/livepatch/fidedupe_livepatch

# wait_until SECONDS COMMAND...: polls COMMAND every 0.1 s until it succeeds.
wait_until() {
	local tries=$(($1 * 10))
	shift
	until "$@"; do
		tries=$((tries - 1))
		[ "$tries" -gt 0 ] || return 1
		sleep 0.1
	done
}

livepatch_complete() {
	[ "$(cat "$LIVEPATCH_SYSFS/enabled" 2>/dev/null)" = 1 ] &&
	[ "$(cat "$LIVEPATCH_SYSFS/transition" 2>/dev/null)" = 0 ]
}

livepatch_gone() {
	[ ! -e "$LIVEPATCH_SYSFS" ]
}

# load_livepatch KO: insmod fidedupe_livepatch.ko (fidedupe.ko loaded) and
# wait until every task runs the patched vfs_dedupe_file_range().
load_livepatch() {
	insmod "$1" || return 1
	wait_until 60 livepatch_complete ||
		{ echo "livepatch: transition did not complete" >&2; return 1; }
}

# unload_livepatch: disable the patch, wait for the unpatching transition
# and for the patch to be freed, then rmmod.
unload_livepatch() {
	echo 0 >"$LIVEPATCH_SYSFS/enabled" || return 1
	wait_until 60 livepatch_gone ||
		{ echo "livepatch: unpatching did not complete" >&2; return 1; }
	rmmod fidedupe_livepatch
}
