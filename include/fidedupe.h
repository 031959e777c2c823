/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fidedupe: what fidedupe.ko exports to other modules.
 */
#ifndef FIDEDUPE_H
#define FIDEDUPE_H

struct file;
struct file_dedupe_range;

/*
 * vfs_dedupe_file_range() done by fidedupe's Rust implementation
 * (rust/livepatch.rs), with the same arguments and return value: the
 * function fidedupe_livepatch.ko puts in place of the kernel's.
 */
int fidedupe_vfs_dedupe_file_range(struct file *file,
				   struct file_dedupe_range *same);

#endif /* FIDEDUPE_H */
