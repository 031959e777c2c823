// SPDX-License-Identifier: GPL-2.0
/*
 * fidedupe: C glue for static inline kernel helpers and macros that have
 * no Rust binding.  Each function is a single expression; the rules that
 * use them live in the Rust crate.  Also the export of the crate's
 * vfs_dedupe_file_range() entry point.
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

bool fidedupe_fatal_signal_pending(void)
{
	return fatal_signal_pending(current);
}

loff_t fidedupe_i_size_read(const struct file *file)
{
	return i_size_read(file_inode(file));
}

umode_t fidedupe_i_mode(const struct file *file)
{
	return file_inode(file)->i_mode;
}

unsigned int fidedupe_i_blocksize(const struct file *file)
{
	return i_blocksize(file_inode(file));
}

bool fidedupe_same_sb(const struct file *a, const struct file *b)
{
	return file_inode(a)->i_sb == file_inode(b)->i_sb;
}

bool fidedupe_same_inode(const struct file *a, const struct file *b)
{
	return file_inode(a) == file_inode(b);
}

bool fidedupe_fmode_read(const struct file *file)
{
	return file->f_mode & FMODE_READ;
}

bool fidedupe_fmode_write(const struct file *file)
{
	return file->f_mode & FMODE_WRITE;
}

bool fidedupe_is_swapfile(const struct file *file)
{
	return IS_SWAPFILE(file_inode(file));
}

bool fidedupe_is_immutable(const struct file *file)
{
	return IS_IMMUTABLE(file_inode(file));
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
