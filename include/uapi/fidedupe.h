/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * fidedupe: the VFS side of FIDEDUPERANGE, reimplemented in Rust and served
 * through the misc device /dev/fidedupe.
 *
 * The caller fills an ordinary struct file_dedupe_range (see linux/fs.h) and
 * passes its address in range_ptr; results are written back into it exactly
 * where FIDEDUPERANGE writes them (info[i].status, info[i].bytes_deduped).
 */
#ifndef _UAPI_FIDEDUPE_H
#define _UAPI_FIDEDUPE_H

#include <linux/ioctl.h>
#include <linux/types.h>

/**
 * struct fidedupe_args - argument of FIDEDUPE_IOC_DEDUPE_RANGE
 * @src_fd:    file descriptor of the source file, open for reading
 * @range_ptr: user address of a struct file_dedupe_range
 * @flags:     must be 0
 * @reserved:  must be 0
 */
struct fidedupe_args {
	__s64 src_fd;
	__u64 range_ptr;
	__u32 flags;
	__u32 reserved;
};

/*
 * 0xB9 is unassigned in Documentation/userspace-api/ioctl/ioctl-number.rst;
 * Documentation/fidedupe.rst has the line that would register it.
 */
#define FIDEDUPE_IOC_MAGIC		0xB9
#define FIDEDUPE_IOC_DEDUPE_RANGE	_IOW(FIDEDUPE_IOC_MAGIC, 0x01, struct fidedupe_args)

#endif /* _UAPI_FIDEDUPE_H */
