/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The fixture every fidedupe selftest uses: a fresh directory on btrfs or
 * xfs, /dev/fidedupe open, the path (native or module) under test, and
 * whether the native path runs mainline's rules or fidedupe's: with
 * fidedupe_livepatch loaded (FIDEDUPE_LIVEPATCH=1), or in a kernel with
 * the built-in Rust implementation (FIDEDUPE_BUILTIN=rust).
 * Include once per test program, after nothing else.
 */
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
	int dev;
	enum dedupe_path path;
	const char *fs;
	bool mainline_rules;	/* the call runs mainline's C */
};

/* The fixture's data, as helper functions take it. */
#define dedupe_fixture FIXTURE_DATA(dedupe)

FIXTURE_VARIANT(dedupe) {
	const char *fs;
	enum dedupe_path path;
};

FIXTURE_VARIANT_ADD(dedupe, btrfs_native) { .fs = "btrfs", .path = PATH_NATIVE };
FIXTURE_VARIANT_ADD(dedupe, btrfs_module) { .fs = "btrfs", .path = PATH_MODULE };
FIXTURE_VARIANT_ADD(dedupe, xfs_native) { .fs = "xfs", .path = PATH_NATIVE };
FIXTURE_VARIANT_ADD(dedupe, xfs_module) { .fs = "xfs", .path = PATH_MODULE };

FIXTURE_SETUP(dedupe)
{
	char why[640];

	if (!have_prerequisites(variant->fs, why, sizeof(why)))
		SKIP(return, "%s", why);
	snprintf(self->dir, sizeof(self->dir), "%s/%s/t.XXXXXX",
		 fidedupe_mnt_root(), variant->fs);
	ASSERT_NE(NULL, mkdtemp(self->dir)) TH_LOG("mkdtemp %s: %m", self->dir);
	self->path = variant->path;
	self->fs = variant->fs;
	/* The run says which rules to expect; the system must agree. */
	if (livepatch_expected())
		ASSERT_TRUE(livepatch_complete())
			TH_LOG("FIDEDUPE_LIVEPATCH=1 but the patch is not enabled and complete");
	if (!livepatch_expected())
		ASSERT_NE(1, livepatch_attr("enabled"))
			TH_LOG("fidedupe_livepatch is enabled; set FIDEDUPE_LIVEPATCH=1");
	self->mainline_rules = self->path == PATH_NATIVE && !livepatch_expected() &&
			       !builtin_rust();
	self->dev = -1;
	if (builtin_expected()) {
		if (self->path != PATH_NATIVE)
			SKIP(return, "the built-in vfs_dedupe_file_range() has no /dev/fidedupe");
		return;
	}
	self->dev = open("/dev/fidedupe", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->dev) TH_LOG("open /dev/fidedupe: %m");
}

FIXTURE_TEARDOWN(dedupe)
{
	char cmd[PATH_MAX + 16];

	if (self->dev >= 0)
		close(self->dev);
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
	ret = dedupe_via(self->path, self->dev, src, r);
	*status = r->info[0].status;
	*bytes = r->info[0].bytes_deduped;
	free(r);
	return ret;
}

/*
 * The expected value of what vfs_dedupe_file_range() decides: mainline's
 * measured behaviour on the native path, fidedupe's rule on the module
 * path and on the native path with the livepatch.
 */
#define WANT(mainline, fidedupe) (self->mainline_rules ? (mainline) : (fidedupe))

/*
 * The expected value of what ioctl_file_dedupe_range() in fs/ioctl.c
 * decides before it calls vfs_dedupe_file_range() (its PAGE_SIZE limit on
 * the copy-in): the native path keeps it even with the livepatch.
 */
#define WANT_COPYIN(native, module) (self->path == PATH_NATIVE ? (native) : (module))

#endif /* FIDEDUPE_DEDUPE_FIXTURE_H */
