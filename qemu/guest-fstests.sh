#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# In the test VM (qemu/vm.sh): fstests, the filesystem community's
# regression suite, on each filesystem named, with FIDEDUPERANGE running
# mainline's vfs_dedupe_file_range() (PASS=mainline) or fidedupe's, through
# fidedupe_livepatch (PASS=livepatch), or in the kernel of the series make
# patches writes, with the Rust implementation built in (PASS=builtin).
# Each filesystem gets a TEST_DEV and a SCRATCH_DEV on loop devices over
# sparse files in the guest's /tmp.
#
# OUTDIR/<fs>/ gets fstests' results (check.log, each failed test's
# .out.bad and .full), OUTDIR/<fs>.log its output, and (livepatch)
# OUTDIR/<fs>.stats fidedupe's counters before and after.
#
# usage: guest-fstests.sh OUTDIR BUILDDIR FSTESTS_DIR PASS TESTS FS...
#   TESTS: check's arguments separated by commas (qemu/vm.sh passes the
#   command as words), for example "-g,dedupe" or "generic/121,generic/122".
set -u
out=$1 build=$2 fstests=$3 pass=$4 tests=${5//,/ }
shift 5
here=$(dirname "$0")
. "$here/guest-lib.sh"

# The users fstests expects (its README).  /etc is an overlay in the guest
# where useradd cannot write /etc/shadow: write passwd and group lines.
uid=20000
for u in fsgqa fsgqa2 123456-fsgqa; do
	uid=$((uid + 1))
	id "$u" >/dev/null 2>&1 && continue
	mkdir -p "/tmp/home/$u"
	echo "$u:x:$uid:$uid::/tmp/home/$u:/bin/bash" >>/etc/passwd &&
	echo "$u:x:$uid:" >>/etc/group &&
	chown "$uid:$uid" "/tmp/home/$u" || exit 90
	# su (fstests' _require_user) needs a shadow entry: no password.
	echo "$u:*:20000:0:99999:7:::" >>/etc/shadow 2>/dev/null
done
# Why a test would say "fsgqa cannot execute commands", if it does.
echo /bin/true | su fsgqa >"$out/su-fsgqa.log" 2>&1
echo "exit status $?" >>"$out/su-fsgqa.log"

# btrfs-progs (btrfs and mkfs.btrfs) warns "could not drop caches" where
# dropping works, which breaks golden outputs (../shared/fstests/README.md):
# a wrapper of each drops that line.
shim=$(mktemp -d /tmp/fstests-bin.XXXXXX)
for prog in btrfs mkfs.btrfs; do
	real=$(type -P "$prog") || continue
	cat >"$shim/$prog" <<-EOF
	#!/bin/bash
	set -o pipefail
	drop() { grep -v 'could not drop caches'; true; }
	{ $real "\$@" 2>&1 1>&3 3>&- | drop >&2; } 3>&1 | drop
	EOF
	chmod +x "$shim/$prog"
done
export PATH=$shim:$PATH

# The builtin pass's kernel must have the Rust crate vfs_dedupe in it.
if [ "$pass" = builtin ] && [ "$(dedupe_impl)" != rust ]; then
	echo "builtin: this kernel has no Rust vfs_dedupe_file_range()" >&2
	exit 97
fi
if [ "$pass" = livepatch ]; then
	load_module "$build/module/fidedupe.ko" || exit 91
	load_livepatch "$build/module/fidedupe_livepatch.ko" || exit 92
fi

status=0
for fs in "$@"; do
	echo "$pass-$fs" >"$out/stage"
	dir=/tmp/fstests-$fs
	mkdir -p "$dir/test" "$dir/scratch"
	# btrfs/187 needs a scratch device of 8 GiB; the files are sparse.
	truncate -s 4G "$dir/test.img"
	truncate -s 10G "$dir/scratch.img"
	test_dev=$(losetup -f --show "$dir/test.img") &&
	scratch_dev=$(losetup -f --show "$dir/scratch.img") || exit 93
	case $fs in
	btrfs) mkfs.btrfs -q -f "$test_dev" >/dev/null ;;
	xfs) mkfs.xfs -q -f "$test_dev" >/dev/null ;;
	esac || exit 94
	cat >"$dir/local.config" <<-EOF
	export FSTYP=$fs
	export TEST_DEV=$test_dev
	export TEST_DIR=$dir/test
	export SCRATCH_DEV=$scratch_dev
	export SCRATCH_MNT=$dir/scratch
	export RESULT_BASE=$out/$fs
	EOF
	# fidedupe's counters before and after: through the livepatch,
	# calls_fideduperange must have moved.
	stats=/sys/kernel/debug/fidedupe/stats
	[ ! -r "$stats" ] || sed 's/^/before /' "$stats" >"$out/$fs.stats"
	# shellcheck disable=SC2086 # TESTS is check's arguments, split.
	(cd "$fstests" && HOST_OPTIONS=$dir/local.config ./check $tests) \
		>"$out/$fs.log" 2>&1 || status=1
	[ ! -r "$stats" ] || sed 's/^/after /' "$stats" >>"$out/$fs.stats"
	umount "$dir/test" "$dir/scratch" 2>/dev/null
	losetup -d "$test_dev" "$scratch_dev"
	rm -rf "$dir"
done

if [ "$pass" = livepatch ]; then
	unload_livepatch || status=95
	unload_module || status=96
fi
exit $status
