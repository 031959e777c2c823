/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fidedupe: prototypes of the C helpers in glue.c, declared again on the
 * Rust side in rust/device.rs (mod glue);
 * scripts/glue-abi.py, run by make lint, checks that the two agree.
 */
#ifndef FIDEDUPE_GLUE_H
#define FIDEDUPE_GLUE_H

#include <linux/fs.h>

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
