// SPDX-License-Identifier: GPL-2.0
/*
 * fidedupe: C glue for static inline kernel helpers and macros that have
 * no Rust binding and that Rust cannot read itself: current's signals and
 * credentials, i_size_read()'s barrier, the LSM hook.  Each function is a
 * single expression; the rules that use them live in the Rust crate.
 * Also the export of the crate's vfs_dedupe_file_range() entry point, and
 * build-time checks of constants rust/file.rs copies.
 */

#include <linux/fs.h>
#include <linux/mount.h>
#include <linux/sched/signal.h>
#include <linux/cred.h>
#include <linux/security.h>

#include "glue.h"
#include "fidedupe.h"

/*
 * Defined in rust/livepatch.rs; exported for fidedupe_livepatch.ko, which
 * makes it the kernel's vfs_dedupe_file_range().
 */
EXPORT_SYMBOL_GPL(fidedupe_vfs_dedupe_file_range);

/* rust/file.rs reads f_mode itself, with these values, which bindgen misses. */
static_assert((__force unsigned int)FMODE_READ == 1 << 0);
static_assert((__force unsigned int)FMODE_WRITE == 1 << 1);

bool fidedupe_fatal_signal_pending(void)
{
	return fatal_signal_pending(current);
}

loff_t fidedupe_i_size_read(const struct file *file)
{
	return i_size_read(file_inode(file));
}

/* As in may_dedupe_file(): the fsuid owns the inode, seen through the idmap. */
bool fidedupe_caller_owns(const struct file *file)
{
	struct mnt_idmap *idmap = file_mnt_idmap(file);

	return vfsuid_eq_kuid(i_uid_into_vfsuid(idmap, file_inode(file)),
			      current_fsuid());
}

bool fidedupe_caller_may_write(const struct file *file)
{
	return !inode_permission(file_mnt_idmap(file), file_inode(file),
				 MAY_WRITE);
}

/*
 * The LSM hook fs/ioctl.c calls before FIDEDUPERANGE, with the same file,
 * command and argument, for calls that come through /dev/fidedupe.
 */
int fidedupe_security_fideduperange(struct file *file, unsigned long arg)
{
	return security_file_ioctl(file, FIDEDUPERANGE, arg);
}
