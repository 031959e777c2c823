// SPDX-License-Identifier: GPL-2.0
/*
 * fidedupe - dedupe one source file into destination files, through
 * /dev/fidedupe (default) or mainline's FIDEDUPERANGE (--native), and
 * print one line per destination: status and bytes deduped.
 *
 * usage: fidedupe [--native] [--offset N] [--length N] SRC DEST...
 * Without --length the whole source is used.  Exit status: 0 if every
 * destination was deduped whole, 1 if any differed or failed, 2 on error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <linux/fs.h>

#include "../include/uapi/fidedupe.h"

static const char *status_name(int32_t status)
{
	static char buf[64];

	if (status == FILE_DEDUPE_RANGE_SAME)
		return "SAME";
	if (status == FILE_DEDUPE_RANGE_DIFFERS)
		return "DIFFERS";
	snprintf(buf, sizeof(buf), "%s", strerror(-status));
	return buf;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "native", no_argument, NULL, 'n' },
		{ "offset", required_argument, NULL, 'o' },
		{ "length", required_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long long offset = 0, length = 0;
	struct file_dedupe_range *r;
	int native = 0, have_length = 0, src, i, c, ret, rc = 0;
	unsigned int count;
	struct stat st;

	while ((c = getopt_long(argc, argv, "no:l:", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			native = 1;
			break;
		case 'o':
			offset = strtoull(optarg, NULL, 0);
			break;
		case 'l':
			length = strtoull(optarg, NULL, 0);
			have_length = 1;
			break;
		default:
			return 2;
		}
	}
	if (argc - optind < 2 || argc - optind - 1 > 65535) {
		fprintf(stderr, "usage: %s [--native] [--offset N] [--length N] SRC DEST...\n",
			argv[0]);
		return 2;
	}
	count = argc - optind - 1;
	src = open(argv[optind], O_RDONLY);
	if (src < 0 || fstat(src, &st)) {
		perror(argv[optind]);
		return 2;
	}
	if (!have_length)
		length = st.st_size - offset;

	r = calloc(1, sizeof(*r) + count * sizeof(r->info[0]));
	if (!r)
		return 2;
	r->src_offset = offset;
	r->src_length = length;
	r->dest_count = count;
	for (i = 0; i < (int)count; i++) {
		const char *name = argv[optind + 1 + i];
		int fd = open(name, O_RDONLY);

		if (fd < 0) {
			perror(name);
			return 2;
		}
		r->info[i].dest_fd = fd;
		r->info[i].dest_offset = offset;
	}

	if (native) {
		ret = ioctl(src, FIDEDUPERANGE, r);
	} else {
		struct fidedupe_args args = {
			.src_fd = src,
			.range_ptr = (uintptr_t)r,
		};
		int dev = open("/dev/fidedupe", O_RDONLY | O_CLOEXEC);

		if (dev < 0) {
			perror("/dev/fidedupe");
			return 2;
		}
		ret = ioctl(dev, FIDEDUPE_IOC_DEDUPE_RANGE, &args);
	}
	if (ret) {
		fprintf(stderr, "dedupe %s: %s\n", argv[optind], strerror(errno));
		return 2;
	}

	printf("%-40s %-10s %12s\n", "destination", "status", "bytes");
	for (i = 0; i < (int)count; i++) {
		printf("%-40s %-10s %12llu\n", argv[optind + 1 + i],
		       status_name(r->info[i].status),
		       (unsigned long long)r->info[i].bytes_deduped);
		if (r->info[i].status != FILE_DEDUPE_RANGE_SAME ||
		    r->info[i].bytes_deduped != length)
			rc = 1;
	}
	free(r);
	return rc;
}
