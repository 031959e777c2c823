/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fidedupe: prototypes of the C helpers in helpers.c, declared again on
 * the Rust side in the abstractions that call them (mod helper);
 * scripts/glue-abi.py, run by make lint, checks that the two agree.
 */
#ifndef FIDEDUPE_ABSTRACTIONS_HELPERS_H
#define FIDEDUPE_ABSTRACTIONS_HELPERS_H

#include <linux/fs.h>

bool fidedupe_fatal_signal_pending(struct task_struct *t);
loff_t fidedupe_i_size_read(const struct inode *inode);
bool fidedupe_inode_owned_by_fsuid(const struct file *file);
int fidedupe_file_permission(const struct file *file, int mask);
int fidedupe_security_file_ioctl(struct file *file, unsigned int cmd,
				 unsigned long arg);

#endif /* FIDEDUPE_ABSTRACTIONS_HELPERS_H */
