# SPDX-License-Identifier: GPL-2.0
# Sourced by the guest scripts: load the module and the livepatch; the
# filesystems come from selftests/fidedupe_fs.sh.

. "$(dirname "${BASH_SOURCE[0]}")/../selftests/fidedupe_fs.sh"

# load_module KO [PARAM=VALUE...]: insmod.  The node stays as the misc
# core makes it, 0600 (Documentation/fidedupe.rst, "Security"): every test
# opens it as root, and a test that drops privileges keeps that
# descriptor.  Each load is noted in FIDEDUPE_LOADS, if set: KUnit's
# suites run at every load, and the host matches their runs with the loads.
# dedupe_impl: which vfs_dedupe_file_range() the running kernel has,
# rust (the Rust crate vfs_dedupe built in, as the series' Kconfig choice
# makes it) or c.
dedupe_impl() {
	if grep -q '10vfs_dedupe' /proc/kallsyms; then echo rust; else echo c; fi
}

load_module() {
	[ -z "${FIDEDUPE_LOADS:-}" ] || echo "$1" >>"$FIDEDUPE_LOADS"
	insmod "$@"
}

unload_module() {
	rmmod fidedupe
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

# The kernel's livepatch selftest helpers (load_lp, disable_lp, unload_lp,
# from LINUX_TREE, which qemu/vm.sh passes in): they log to the kernel's
# log, wait for each transition and exit on failure, so each runs in a
# subshell here and a failure is a return status.
: "${LINUX_TREE:=$(sed -n 's/^LINUX_TREE := //p' "${FIDEDUPE_CACHE:-/root/.cache/fidedupe}/env.mk")}"
. "$LINUX_TREE/tools/testing/selftests/livepatch/functions.sh"

# The guest's own checks print KTAP with kselftest's helpers.
. "$LINUX_TREE/tools/testing/selftests/kselftest/ktap_helpers.sh"

# ktap_status STATUS DESCRIPTION: ok if STATUS is 0, else not ok.
ktap_status() {
	if [ "$1" -eq 0 ]; then
		ktap_test_pass "$2"
	else
		ktap_test_fail "$2"
	fi
}

# load_livepatch KO: insmod fidedupe_livepatch.ko (fidedupe.ko loaded) and
# wait until every task runs the patched vfs_dedupe_file_range().  load_lp
# takes the module from test_modules/ in the current directory.
load_livepatch() {
	local dir
	dir=$(mktemp -d) && mkdir "$dir/test_modules" &&
	ln -s "$(realpath "$1")" "$dir/test_modules/fidedupe_livepatch.ko" &&
	(cd "$dir" && load_lp fidedupe_livepatch)
}

# unload_livepatch: disable the patch, wait for the unpatching transition
# and for the patch to be freed, then rmmod.
unload_livepatch() {
	(disable_lp fidedupe_livepatch && unload_lp fidedupe_livepatch)
}
