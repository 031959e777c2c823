#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# fidedupe_bench's livepatch rows, inside the VM: load fidedupe_livepatch.ko
# or disable and unload it, and return once the transition is complete.
# usage: guest-livepatch-toggle.sh load|unload LIVEPATCH_KO
set -u
. "$(dirname "$0")/guest-lib.sh"

case ${1:-} in
load) load_livepatch "$2" ;;
unload) unload_livepatch ;;
*) echo "usage: $0 load|unload LIVEPATCH_KO" >&2; exit 2 ;;
esac
