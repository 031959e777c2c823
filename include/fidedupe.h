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
 * (rust/livepatch.rs), with the same arguments, contract and return value:
 * the caller holds a reference on @file for the call, and @same is a
 * private buffer of struct_size(same, info, same->dest_count) bytes.  The
 * function fidedupe_livepatch.ko puts in place of the kernel's.
 */
int fidedupe_vfs_dedupe_file_range(struct file *file,
				   struct file_dedupe_range *same);

#endif /* FIDEDUPE_H */
