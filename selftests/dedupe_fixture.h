/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The fixture every dedupe selftest uses: a fresh directory on btrfs or
 * xfs, and whether FIDEDUPERANGE runs the C vfs_dedupe_file_range(), with
 * mainline's rules, or the Rust one.
 * Include once per test program, after nothing else.
 */
#ifdef FIDEDUPE_OUT_OF_TREE
/*
 * Out of tree, each case also runs through /dev/fidedupe (the module
 * path), and the native path has the Rust rules with fidedupe_livepatch
 * loaded (FIDEDUPE_LIVEPATCH=1).
 */
#endif
#ifndef FIDEDUPE_DEDUPE_FIXTURE_H
#define FIDEDUPE_DEDUPE_FIXTURE_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <limits.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "kselftest_harness.h"
#include "dedupe_util.h"

FIXTURE(dedupe) {
	char dir[PATH_MAX / 2];
#ifdef FIDEDUPE_OUT_OF_TREE
	int dev;
	enum dedupe_path path;
#endif
	const char *fs;
	bool mainline_rules;	/* the call runs mainline's C */
};

/* The fixture's data, as helper functions take it. */
#define dedupe_fixture FIXTURE_DATA(dedupe)

FIXTURE_VARIANT(dedupe) {
	const char *fs;
#ifdef FIDEDUPE_OUT_OF_TREE
	enum dedupe_path path;
#endif
};

#ifdef FIDEDUPE_OUT_OF_TREE
FIXTURE_VARIANT_ADD(dedupe, btrfs_native) { .fs = "btrfs", .path = PATH_NATIVE };
FIXTURE_VARIANT_ADD(dedupe, btrfs_module) { .fs = "btrfs", .path = PATH_MODULE };
FIXTURE_VARIANT_ADD(dedupe, xfs_native) { .fs = "xfs", .path = PATH_NATIVE };
FIXTURE_VARIANT_ADD(dedupe, xfs_module) { .fs = "xfs", .path = PATH_MODULE };
#else
FIXTURE_VARIANT_ADD(dedupe, btrfs) { .fs = "btrfs" };
FIXTURE_VARIANT_ADD(dedupe, xfs) { .fs = "xfs" };
#endif

FIXTURE_SETUP(dedupe)
{
	char why[640];

#ifdef FIDEDUPE_OUT_OF_TREE
	self->dev = -1;
#endif
	if (!have_prerequisites(variant->fs, why, sizeof(why)))
		SKIP(return, "%s", why);
	snprintf(self->dir, sizeof(self->dir), "%s/%s/t.XXXXXX",
		 fidedupe_mnt_root(), variant->fs);
	ASSERT_NE(NULL, mkdtemp(self->dir)) TH_LOG("mkdtemp %s: %m", self->dir);
	self->fs = variant->fs;
#ifdef FIDEDUPE_OUT_OF_TREE
	self->path = variant->path;
	/* The run says which rules to expect; the system must agree. */
	if (livepatch_expected())
		ASSERT_TRUE(livepatch_complete())
			TH_LOG("FIDEDUPE_LIVEPATCH=1 but the patch is not enabled and complete");
	if (!livepatch_expected())
		ASSERT_NE(1, livepatch_attr("enabled"))
			TH_LOG("fidedupe_livepatch is enabled; set FIDEDUPE_LIVEPATCH=1");
	self->mainline_rules = self->path == PATH_NATIVE && !livepatch_expected();
	self->dev = open("/dev/fidedupe", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->dev) TH_LOG("open /dev/fidedupe: %m");
#else
	self->mainline_rules = !rust_dedupe_built_in;
#endif
}

FIXTURE_TEARDOWN(dedupe)
{
	char cmd[PATH_MAX + 16];

#ifdef FIDEDUPE_OUT_OF_TREE
	if (self->dev >= 0)
		close(self->dev);
#endif
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", self->dir);
	if (system(cmd))
		TH_LOG("could not remove %s", self->dir);
}

/* Opens "<dir>/<name>" made with @len bytes of pattern @seed. */
static inline int fixture_file(dedupe_fixture *self, const char *name,
			       size_t len, uint64_t seed)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s", self->dir, name);
	return make_file(p, len, seed);
}

/* Opens the existing "<dir>/<name>" with @flags; fd or -errno. */
static inline int fixture_open(dedupe_fixture *self, const char *name, int flags)
{
	char p[PATH_MAX];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", self->dir, name);
	fd = open(p, flags);
	return fd < 0 ? -errno : fd;
}

/* Calls dedupe with @r on @src_fd; 0 or -errno of the call itself. */
static inline int fixture_dedupe(dedupe_fixture *self, int64_t src_fd,
				 struct file_dedupe_range *r)
{
#ifdef FIDEDUPE_OUT_OF_TREE
	return dedupe_via(self->path, self->dev, src_fd, r);
#else
	return ioctl((int)src_fd, FIDEDUPERANGE, r) ? -errno : 0;
#endif
}

/*
 * One call with one destination through the fixture's path: returns the
 * call's 0 or -errno and that destination's status and bytes_deduped.
 */
static inline int dedupe_one(dedupe_fixture *self, int64_t src, uint64_t src_offset,
			     uint64_t len, int64_t dst, uint64_t dest_offset,
			     int32_t *status, uint64_t *bytes)
{
	struct file_dedupe_range *r = range_alloc(1);
	int ret;

	*status = 0x5a5a5a5a;
	*bytes = 0xdeadbeefdeadbeefULL;
	if (!r)
		return -ENOMEM;
	range_set(r, src_offset, len, 1);
	range_dest(r, 0, dst, dest_offset);
	ret = fixture_dedupe(self, src, r);
	*status = r->info[0].status;
	*bytes = r->info[0].bytes_deduped;
	free(r);
	return ret;
}

/*
 * The expected value of what vfs_dedupe_file_range() decides: mainline's
 * measured behaviour where the C implementation runs, the Rust one's rule
 * where it runs.
 */
#define WANT(mainline, rust) (self->mainline_rules ? (mainline) : (rust))

#endif /* FIDEDUPE_DEDUPE_FIXTURE_H */
