/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fidedupe: prototypes of the C helpers in glue.c, declared again on the
 * Rust side in rust/file.rs and rust/request.rs (mod glue);
 * scripts/glue-abi.py, run by make lint, checks that the two agree.
 */
#ifndef FIDEDUPE_GLUE_H
#define FIDEDUPE_GLUE_H

#include <linux/fs.h>

bool fidedupe_fatal_signal_pending(void);
loff_t fidedupe_i_size_read(const struct file *file);
bool fidedupe_caller_owns(const struct file *file);
bool fidedupe_caller_may_write(const struct file *file);
int fidedupe_security_fideduperange(struct file *file, unsigned long arg);
int fidedupe_read_range_head(struct file_dedupe_range *header,
			     struct file_dedupe_range_info *infos,
			     unsigned int max,
			     const struct file_dedupe_range __user *src);
unsigned int fidedupe_read_range_infos(struct file_dedupe_range_info *infos,
				       unsigned int n,
				       const struct file_dedupe_range_info __user *src);
int fidedupe_write_range_info(struct file_dedupe_range_info __user *dst,
			      const struct file_dedupe_range_info *info);

#endif /* FIDEDUPE_GLUE_H */
