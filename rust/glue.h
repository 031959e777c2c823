/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fidedupe: prototypes of the C helpers in glue.c, declared again on the
 * Rust side in rust/file.rs (mod glue).
 */
#ifndef FIDEDUPE_GLUE_H
#define FIDEDUPE_GLUE_H

#include <linux/fs.h>

bool fidedupe_fatal_signal_pending(void);
loff_t fidedupe_i_size_read(const struct file *file);
umode_t fidedupe_i_mode(const struct file *file);
unsigned int fidedupe_i_blocksize(const struct file *file);
bool fidedupe_same_sb(const struct file *a, const struct file *b);
bool fidedupe_same_inode(const struct file *a, const struct file *b);
bool fidedupe_fmode_read(const struct file *file);
bool fidedupe_fmode_write(const struct file *file);
bool fidedupe_is_swapfile(const struct file *file);
bool fidedupe_is_immutable(const struct file *file);
bool fidedupe_caller_owns(const struct file *file);
bool fidedupe_caller_may_write(const struct file *file);
int fidedupe_security_fideduperange(struct file *file, unsigned long arg);

#endif /* FIDEDUPE_GLUE_H */
