/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fidedupe: prototypes of the C helpers in glue.c, declared again on the
 * Rust side in rust/device.rs and rust/stats.rs (mod glue);
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

/* The counters of rust/stats.rs (its NR_COUNTERS), a set per CPU. */
#define FIDEDUPE_NR_COUNTERS 31

void fidedupe_counter_add(unsigned int counter, u64 n);
u64 fidedupe_counter_sum(unsigned int counter);
unsigned int fidedupe_nr_counters(void);

#endif /* FIDEDUPE_GLUE_H */
