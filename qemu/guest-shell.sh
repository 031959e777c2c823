#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make shell, inside the test VM: btrfs, xfs and ext4 mounted under
# FIDEDUPE_MNT, fidedupe loaded; then qemu/vm.sh gives an interactive shell.
# usage: guest-shell.sh BUILDDIR
build=$1
. "$(dirname "$0")/guest-lib.sh"
dmesg -n 1
make_all_fs || echo "shell: could not make every filesystem"
load_module "$build/module/fidedupe.ko" || echo "shell: could not load fidedupe.ko"
cat <<MSG
shell: fidedupe is loaded, /dev/fidedupe is open to all; filesystems under
$FIDEDUPE_MNT: $(ls "$FIDEDUPE_MNT" | paste -sd' ')
shell: the selftests are in $build/selftests, the client is
$build/tools/fidedupe; the kernel log goes to $build/vm-shell/kmsg.txt
shell: the livepatch: load_livepatch $build/module/fidedupe_livepatch.ko
(guest-lib.sh's helpers are sourced by: . $(realpath "$(dirname "$0")")/guest-lib.sh)
MSG
