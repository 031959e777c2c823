#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make shell: the guest's login shell (qemu/vm.sh VM_SHELL=1).  Copies the
# kernel log to build/vm-shell/kmsg.txt, mounts btrfs, xfs and ext4 under
# FIDEDUPE_MNT, loads fidedupe, then hands over to an interactive bash.
here=$(cd "$(dirname "$0")" && pwd)
build=$here/../build
python3 "$here/kmsg.py" "$build/vm-shell/kmsg.txt" &
. "$here/guest-lib.sh"
dmesg -n 1
make_all_fs || echo "shell: could not make every filesystem"
load_module "$build/module/fidedupe.ko" || echo "shell: could not load fidedupe.ko"
cat <<MSG
shell: fidedupe is loaded (/dev/fidedupe is 0600: root); under $FIDEDUPE_MNT:
  $(ls "$FIDEDUPE_MNT" | paste -sd' ')
shell: the selftests are in build/selftests (for example
  build/selftests/fidedupe_test -r dedupe.btrfs_module.reserved_fields),
  the client is build/tools/fidedupe, the kernel log goes to
  build/vm-shell/kmsg.txt; . qemu/guest-lib.sh gives load_livepatch
  build/module/fidedupe_livepatch.ko and its other helpers.
  Ctrl-D or poweroff -f ends the VM.
MSG
exec bash -i
