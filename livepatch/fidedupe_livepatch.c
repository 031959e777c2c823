// SPDX-License-Identifier: GPL-2.0
/*
 * fidedupe_livepatch: route the kernel's own FIDEDUPERANGE through
 * fidedupe.
 *
 * Replaces vfs_dedupe_file_range() with fidedupe_vfs_dedupe_file_range(),
 * exported by fidedupe.ko (rust/livepatch.rs): the same Rust walk and
 * rules that serve /dev/fidedupe, so unmodified programs (xfs_io,
 * duperemove) get fidedupe's behaviour.  vfs_dedupe_file_range() is
 * exported, so every caller of it is redirected; in 7.3 the only one is
 * FIDEDUPERANGE's ioctl_file_dedupe_range() in fs/ioctl.c, whose LSM hook,
 * copy-in and copy-out still run around it.
 *
 * The new function lives in fidedupe.ko, which this module depends on, so
 * fidedupe.ko cannot be unloaded while the patch is loaded; the livepatch
 * consistency model does not let the patch be disabled while a task is
 * inside the new function.
 *
 *   insmod fidedupe.ko && insmod fidedupe_livepatch.ko
 *   echo 0 > /sys/kernel/livepatch/fidedupe_livepatch/enabled
 *   rmmod fidedupe_livepatch
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/fs.h>
#include <linux/livepatch.h>

#include "fidedupe.h"

/*
 * The replacement must take and return exactly what the replaced function
 * does: ftrace jumps from one to the other with the caller's arguments.
 */
static_assert(__same_type(&fidedupe_vfs_dedupe_file_range,
			  &vfs_dedupe_file_range));

static struct klp_func funcs[] = {
	{
		.old_name = "vfs_dedupe_file_range",
		.new_func = fidedupe_vfs_dedupe_file_range,
	}, { }
};

static struct klp_object objs[] = {
	{
		/* name being NULL means vmlinux */
		.funcs = funcs,
	}, { }
};

static struct klp_patch patch = {
	.mod = THIS_MODULE,
	.objs = objs,
};

static int __init fidedupe_livepatch_init(void)
{
	return klp_enable_patch(&patch);
}

static void __exit fidedupe_livepatch_exit(void)
{
}

module_init(fidedupe_livepatch_init);
module_exit(fidedupe_livepatch_exit);
MODULE_DESCRIPTION("FIDEDUPERANGE served by fidedupe's Rust implementation");
MODULE_LICENSE("GPL");
MODULE_INFO(livepatch, "Y");
