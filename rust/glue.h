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
bool fidedupe_caller_owns(const struct file *file);
bool fidedupe_caller_may_write(const struct file *file);
int fidedupe_security_fideduperange(struct file *file, unsigned long arg);

#endif /* FIDEDUPE_GLUE_H */
