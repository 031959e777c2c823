// SPDX-License-Identifier: GPL-2.0
/*
 * fidedupe: the static inline kernel functions the abstractions of
 * rust/abstractions/ call, which have no Rust binding: each is one
 * expression, as the helpers of the kernel's rust/helpers/ are.  Each
 * goes, in the kernel series, to the rust/helpers/ file named above it,
 * as rust_helper_NAME (scripts/kernel-series.py).
 */

#include <linux/fs.h>
#include <linux/mount.h>
#include <linux/sched/signal.h>
#include <linux/cred.h>
#include <linux/security.h>
#include <linux/compat.h>

#include "helpers.h"

/* rust/abstractions/fs/file.rs reads f_mode with these values. */
static_assert((__force unsigned int)FMODE_READ == 1 << 0);
static_assert((__force unsigned int)FMODE_WRITE == 1 << 1);

/* rust/helpers/signal.c */

bool fidedupe_fatal_signal_pending(struct task_struct *t)
{
	return fatal_signal_pending(t);
}

/* rust/helpers/fs.c */

loff_t fidedupe_i_size_read(const struct inode *inode)
{
	return i_size_read(inode);
}

/* As in may_dedupe_file(): the fsuid owns the inode, seen through the idmap. */
bool fidedupe_inode_owned_by_fsuid(const struct file *file)
{
	struct mnt_idmap *idmap = file_mnt_idmap(file);

	return vfsuid_eq_kuid(i_uid_into_vfsuid(idmap, file_inode(file)),
			      current_fsuid());
}

int fidedupe_file_permission(const struct file *file, int mask)
{
	return inode_permission(file_mnt_idmap(file), file_inode(file), mask);
}

/* rust/helpers/security.c */

/* compat_sys_ioctl() calls the compat hook for a 32-bit caller. */
int fidedupe_security_file_ioctl(struct file *file, unsigned int cmd,
				 unsigned long arg)
{
	if (in_compat_syscall())
		return security_file_ioctl_compat(file, cmd, arg);
	return security_file_ioctl(file, cmd, arg);
}
