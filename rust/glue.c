// SPDX-License-Identifier: GPL-2.0
/*
 * fidedupe: the reads and writes of a struct file_dedupe_range in user
 * memory, each in one user access window (unsafe_get_user() and
 * unsafe_put_user()), which the kernel crate has no abstraction for; and
 * the export of the crate's vfs_dedupe_file_range() entry point; and the
 * per-CPU counters behind debugfs's stats file.  The rules that use them
 * live in the Rust crate.
 */

#include <linux/fs.h>
#include <linux/percpu.h>
#include <linux/uaccess.h>
#include <linux/fault-inject-usercopy.h>

#include "glue.h"
#include "fidedupe.h"

/*
 * Defined in rust/livepatch.rs; exported for fidedupe_livepatch.ko, which
 * makes it the kernel's vfs_dedupe_file_range().
 */
EXPORT_SYMBOL_GPL(fidedupe_vfs_dedupe_file_range);

/*
 * Each helper below is one user access window where a copy_from_user() or
 * copy_to_user() would be one call, and is one site of fault injection as
 * such a copy is (should_fail_usercopy(), Documentation/fault-injection/),
 * so a fail-nth sweep still reaches every user access of a call.
 */

/*
 * Reads up to @n records at @src inside an open user read access, the
 * input fields only: the result fields are set to zero, as mainline
 * pre-formats them.  Returns how many records were read whole.
 */
static __always_inline unsigned int
get_range_infos(struct file_dedupe_range_info *dst,
		const struct file_dedupe_range_info __user *src, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		unsafe_get_user(dst[i].dest_fd, &src[i].dest_fd, fault);
		unsafe_get_user(dst[i].dest_offset, &src[i].dest_offset, fault);
		unsafe_get_user(dst[i].reserved, &src[i].reserved, fault);
		dst[i].bytes_deduped = 0;
		dst[i].status = 0;
	}
fault:
	return i;
}

/*
 * Reads the fixed part of the struct file_dedupe_range at @src into
 * @header (its info[] is not touched) and, in the same user access, the
 * first records it counts, at most @max, into @infos: one stac/clac pair
 * where a copy_from_user() each would take two.  Returns how many records
 * were read whole (fewer than asked if one faults), or -EFAULT if the
 * header cannot be read.
 */
int fidedupe_read_range_head(struct file_dedupe_range *header,
			     struct file_dedupe_range_info *infos,
			     unsigned int max,
			     const struct file_dedupe_range __user *src)
{
	unsigned int n;

	if (should_fail_usercopy() ||
	    !user_read_access_begin(src, sizeof(*src)))
		return -EFAULT;
	unsafe_get_user(header->src_offset, &src->src_offset, efault);
	unsafe_get_user(header->src_length, &src->src_length, efault);
	unsafe_get_user(header->dest_count, &src->dest_count, efault);
	unsafe_get_user(header->reserved1, &src->reserved1, efault);
	unsafe_get_user(header->reserved2, &src->reserved2, efault);
	n = min_t(unsigned int, header->dest_count, max);
	if (!access_ok(src->info, array_size(n, sizeof(*src->info))))
		n = 0;
	n = get_range_infos(infos, src->info, n);
	user_read_access_end();
	return n;
efault:
	user_read_access_end();
	return -EFAULT;
}

/*
 * Reads up to @n records at @src into @infos in one user access.  Returns
 * how many were read whole: fewer than @n if one faults, 0 if the first
 * does.
 */
unsigned int fidedupe_read_range_infos(struct file_dedupe_range_info *infos,
				       unsigned int n,
				       const struct file_dedupe_range_info __user *src)
{
	if (should_fail_usercopy() ||
	    !user_read_access_begin(src, array_size(n, sizeof(*src))))
		return 0;
	n = get_range_infos(infos, src, n);
	user_read_access_end();
	return n;
}

/* Writes @info, all of it as mainline does, to @dst in one user access. */
int fidedupe_write_range_info(struct file_dedupe_range_info __user *dst,
			      const struct file_dedupe_range_info *info)
{
	if (should_fail_usercopy() ||
	    !user_write_access_begin(dst, sizeof(*dst)))
		return -EFAULT;
	unsafe_put_user(info->dest_fd, &dst->dest_fd, efault);
	unsafe_put_user(info->dest_offset, &dst->dest_offset, efault);
	unsafe_put_user(info->bytes_deduped, &dst->bytes_deduped, efault);
	unsafe_put_user(info->status, &dst->status, efault);
	unsafe_put_user(info->reserved, &dst->reserved, efault);
	user_write_access_end();
	return 0;
efault:
	user_write_access_end();
	return -EFAULT;
}

/*
 * rust/stats.rs's counters: each CPU adds to its own set, so that callers
 * on different CPUs never write one cache line, and a read sums them.
 */
static DEFINE_PER_CPU(u64[FIDEDUPE_NR_COUNTERS], fidedupe_counters);

/* Adds @n to @counter on this CPU; ignores a @counter it does not have. */
void fidedupe_counter_add(unsigned int counter, u64 n)
{
	if (counter < FIDEDUPE_NR_COUNTERS)
		this_cpu_add(fidedupe_counters[counter], n);
}

/* The sum of @counter over every possible CPU (0 if it has none). */
u64 fidedupe_counter_sum(unsigned int counter)
{
	u64 sum = 0;
	int cpu;

	if (counter >= FIDEDUPE_NR_COUNTERS)
		return 0;
	for_each_possible_cpu(cpu)
		sum += per_cpu(fidedupe_counters[counter], cpu);
	return sum;
}

/* How many counters each CPU has, for rust/stats.rs's test. */
unsigned int fidedupe_nr_counters(void)
{
	return FIDEDUPE_NR_COUNTERS;
}
