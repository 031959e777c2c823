// SPDX-License-Identifier: GPL-2.0
/*
 * dedupe selftests: what a filesystem does once per ->remap_file_range()
 * call, and so, under the Rust implementation, once per chunk of
 * chunk_bytes instead of once per destination.  Each case shares a
 * destination of several chunks and counts the filesystem's work with a
 * kprobe on the function that does it, for this process only; mainline's
 * C calls the filesystem once.
 *
 * - O_SYNC: btrfs syncs the source and the destination (btrfs_sync_file()
 *   twice), xfs forces the log (xfs_log_force_inode()), per call.
 * - btrfs flushes the whole source mapping (filemap_flush()) per call.
 * - xfs copies the source's CoW extent size hint only when one call
 *   shares the whole source to the whole destination.
 * - overlayfs passes each call on to the real files through
 *   vfs_dedupe_file_range_one(), with its remap_verify_area(), fanotify
 *   events and mnt_want_write_file().
 *
 * Documentation/review.rst has a row for each.
 */
#define _GNU_SOURCE
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <linux/fs.h>

#include "dedupe_fixture.h"

#define TRACEFS "/sys/kernel/tracing"
/* Chunks in a destination: enough to tell one call from one per chunk. */
#define CHUNKS 3
/* The CoW extent size hint the xfs case sets on its sources. */
#define COWEXTSIZE (1 * MiB)

/* Appends @s to the tracefs file @name (kprobe_events, a filter, ...). */
static int tracefs_write(const char *name, const char *s)
{
	int fd = open(name, O_WRONLY | O_APPEND | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	if (n < 0)
		n = -errno;
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : n < 0 ? n : -EIO;
}

/*
 * A kprobe on one kernel function, enabled in a tracing instance of its
 * own with a filter on this process: the btrfs and the xfs variants run
 * side by side, and each counts its own calls.
 */
struct call_counter {
	char event[64];
	char instance[128];
};

static void call_counter_remove(struct call_counter *c)
{
	char line[128];

	rmdir(c->instance);
	snprintf(line, sizeof(line), "-:kprobes/%s\n", c->event);
	tracefs_write(TRACEFS "/kprobe_events", line);
}

/* Starts counting this process's calls of @symbol; 0 or -errno. */
static int call_counter_start(struct call_counter *c, const char *symbol)
{
	char line[PATH_MAX + 64];
	int ret;

	if (access(TRACEFS "/kprobe_events", W_OK) &&
	    mount("tracefs", TRACEFS, "tracefs", 0, NULL) && errno != EBUSY)
		return -errno;
	snprintf(c->event, sizeof(c->event), "fidedupe_%d", getpid());
	snprintf(c->instance, sizeof(c->instance), TRACEFS "/instances/%s", c->event);
	snprintf(line, sizeof(line), "p:kprobes/%s %s\n", c->event, symbol);
	ret = tracefs_write(TRACEFS "/kprobe_events", line);
	if (ret)
		return ret;
	if (mkdir(c->instance, 0700)) {
		ret = -errno;
		call_counter_remove(c);
		return ret;
	}
	snprintf(line, sizeof(line), "%s/events/kprobes/%s/filter", c->instance, c->event);
	{
		char filter[32];

		snprintf(filter, sizeof(filter), "common_pid == %d", getpid());
		ret = tracefs_write(line, filter);
	}
	snprintf(line, sizeof(line), "%s/events/kprobes/%s/enable", c->instance, c->event);
	if (!ret)
		ret = tracefs_write(line, "1");
	if (ret)
		call_counter_remove(c);
	return ret;
}

/* Stops counting and removes the kprobe: the number of calls, or -errno. */
static long call_counter_stop(struct call_counter *c)
{
	char p[PATH_MAX + 64], line[512];
	long calls = 0;
	FILE *f;

	snprintf(p, sizeof(p), "%s/events/kprobes/%s/enable", c->instance, c->event);
	tracefs_write(p, "0");
	snprintf(p, sizeof(p), "%s/trace", c->instance);
	f = fopen(p, "r");
	if (!f) {
		calls = -errno;
	} else {
		while (fgets(line, sizeof(line), f))
			if (line[0] != '#' && strstr(line, c->event))
				calls++;
		fclose(f);
	}
	call_counter_remove(c);
	return calls;
}

/*
 * Shares [0, @len) of @src with @dst through the fixture's path and counts
 * the calls of @symbol it makes; returns the count, or -errno if the call
 * or the count failed.  The destination must come back SAME, whole.
 */
static long calls_in_dedupe(struct __test_metadata *_metadata, dedupe_fixture *self,
			    const char *symbol, int src, int dst, uint64_t len)
{
	struct call_counter counter;
	uint64_t bytes;
	int32_t status;
	long calls;
	int ret;

	ret = call_counter_start(&counter, symbol);
	if (ret)
		return ret;
	ret = dedupe_one(self, src, 0, len, dst, 0, &status, &bytes);
	calls = call_counter_stop(&counter);
	EXPECT_EQ(0, ret);
	EXPECT_EQ(FILE_DEDUPE_RANGE_SAME, status);
	EXPECT_EQ(len, bytes);
	return ret ? ret : calls;
}

/* New files "src<tag>" and "dst<tag>" of @len identical bytes. */
static void make_pair(struct __test_metadata *_metadata, dedupe_fixture *self,
		      const char *tag, uint64_t len, int dst_flags, int *src, int *dst)
{
	char name[64];
	int fd;

	snprintf(name, sizeof(name), "src%s", tag);
	*src = fixture_file(self, name, len, 7);
	ASSERT_LE(0, *src);
	snprintf(name, sizeof(name), "dst%s", tag);
	fd = fixture_file(self, name, len, 7);
	ASSERT_LE(0, fd);
	close(fd);
	*dst = fixture_open(self, name, O_RDWR | dst_flags);
	ASSERT_LE(0, *dst);
}

/* How many ->remap_file_range() calls share one destination of CHUNKS chunks. */
#define REMAP_CALLS WANT(1, CHUNKS)

/*
 * A case takes about 20 s in the test VM (TCG), most of it the tracing
 * instance's set-up and teardown: twice that or more while the other
 * filesystem's program runs beside it on a loaded host, past the
 * harness's default 30 s.
 */
#define CASE_TIMEOUT 120

TEST_F_TIMEOUT(dedupe, o_sync_destination_synced_per_remap_call, CASE_TIMEOUT)
{
	/* Per call: btrfs syncs both files, xfs forces the log once. */
	bool btrfs = !strcmp(self->fs, "btrfs");
	const char *symbol = btrfs ? "btrfs_sync_file" : "xfs_log_force_inode";
	int per_call = btrfs ? 2 : 1;
	int src, dst;
	long calls;

	make_pair(_metadata, self, "", CHUNKS * CHUNK_BYTES, O_SYNC, &src, &dst);
	calls = calls_in_dedupe(_metadata, self, symbol, src, dst, CHUNKS * CHUNK_BYTES);
	if (calls == -ENOENT || calls == -ENODEV)
		SKIP(return, "no tracefs with kprobe events: %s", strerror((int)-calls));
	EXPECT_EQ(per_call * REMAP_CALLS, calls) TH_LOG("%s() calls", symbol);
	close(dst);
	close(src);
}

TEST_F_TIMEOUT(dedupe, btrfs_source_flushed_per_remap_call, CASE_TIMEOUT)
{
	int src, dst;
	long calls;

	if (strcmp(self->fs, "btrfs"))
		SKIP(return, "the whole-source flush is btrfs's");
	make_pair(_metadata, self, "", CHUNKS * CHUNK_BYTES, 0, &src, &dst);
	calls = calls_in_dedupe(_metadata, self, "filemap_flush", src, dst,
				CHUNKS * CHUNK_BYTES);
	if (calls == -ENOENT || calls == -ENODEV)
		SKIP(return, "no tracefs with kprobe events: %s", strerror((int)-calls));
	EXPECT_EQ(REMAP_CALLS, calls) TH_LOG("filemap_flush() calls");
	close(dst);
	close(src);
}

/* The CoW extent size hint of @fd, or 0 if it has none; -errno. */
static long long cowextsize_hint(int fd)
{
	struct fsxattr fa;

	if (ioctl(fd, FS_IOC_FSGETXATTR, &fa))
		return -errno;
	return fa.fsx_xflags & FS_XFLAG_COWEXTSIZE ? fa.fsx_cowextsize : 0;
}

/* Gives @fd the hint COWEXTSIZE; 0 or -errno. */
static int set_cowextsize_hint(int fd)
{
	struct fsxattr fa;

	if (ioctl(fd, FS_IOC_FSGETXATTR, &fa))
		return -errno;
	fa.fsx_xflags |= FS_XFLAG_COWEXTSIZE;
	fa.fsx_cowextsize = COWEXTSIZE;
	return ioctl(fd, FS_IOC_FSSETXATTR, &fa) ? -errno : 0;
}

/*
 * Shares the whole of a @len-byte source that has the hint with the whole
 * of an identical destination that has none; returns the destination's
 * hint afterwards, or -errno.
 */
static long long hint_after_whole_file_dedupe(struct __test_metadata *_metadata,
					      dedupe_fixture *self, const char *tag,
					      uint64_t len)
{
	long long hint;
	uint64_t bytes;
	int32_t status;
	int src, dst;

	make_pair(_metadata, self, tag, len, 0, &src, &dst);
	EXPECT_EQ(0, set_cowextsize_hint(src));
	EXPECT_EQ(0, cowextsize_hint(dst));
	EXPECT_EQ(0, dedupe_one(self, src, 0, len, dst, 0, &status, &bytes));
	EXPECT_EQ(FILE_DEDUPE_RANGE_SAME, status);
	EXPECT_EQ(len, bytes);
	hint = cowextsize_hint(dst);
	close(dst);
	close(src);
	return hint;
}

TEST_F_TIMEOUT(dedupe, xfs_cowextsize_hint_copied_by_one_call, CASE_TIMEOUT)
{
	uint64_t chunk = CHUNK_BYTES;
	uint64_t one_chunk = chunk < MiB ? chunk : MiB;

	if (strcmp(self->fs, "xfs"))
		SKIP(return, "the CoW extent size hint is xfs's");
	/* A whole file in one chunk: one call on both paths, the hint copied. */
	EXPECT_EQ(COWEXTSIZE, hint_after_whole_file_dedupe(_metadata, self, "1", one_chunk));
	/* In several chunks: no call covers the whole file. */
	EXPECT_EQ(WANT(COWEXTSIZE, 0),
		  hint_after_whole_file_dedupe(_metadata, self, "n", CHUNKS * CHUNK_BYTES));
}

/*
 * Mounts an overlay in the fixture's directory, its upper layer on the
 * filesystem under test; 0 or -errno.
 */
static int overlay_mount(dedupe_fixture *self)
{
	static const char *const dirs[] = { "lower", "upper", "work", "merged" };
	char opts[3 * PATH_MAX / 2 + 64], p[PATH_MAX];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(dirs); i++) {
		snprintf(p, sizeof(p), "%s/%s", self->dir, dirs[i]);
		if (mkdir(p, 0755))
			return -errno;
	}
	snprintf(opts, sizeof(opts), "lowerdir=%s/lower,upperdir=%s/upper,workdir=%s/work",
		 self->dir, self->dir, self->dir);
	return mount("overlay", p, "overlay", 0, opts) ? -errno : 0;
}

/*
 * Shares CHUNKS chunks of two identical files in the overlay and counts
 * vfs_dedupe_file_range_one() calls; the count or -errno.
 */
static long overlay_calls(struct __test_metadata *_metadata, dedupe_fixture *self)
{
	char p[PATH_MAX];
	int src, dst;
	long calls;

	snprintf(p, sizeof(p), "%s/merged/src", self->dir);
	src = make_file(p, CHUNKS * CHUNK_BYTES, 9);
	snprintf(p, sizeof(p), "%s/merged/dst", self->dir);
	dst = make_file(p, CHUNKS * CHUNK_BYTES, 9);
	if (src < 0 || dst < 0)
		calls = src < 0 ? src : dst;
	else
		calls = calls_in_dedupe(_metadata, self, "vfs_dedupe_file_range_one",
					src, dst, CHUNKS * CHUNK_BYTES);
	if (dst >= 0)
		close(dst);
	if (src >= 0)
		close(src);
	return calls;
}

TEST_F_TIMEOUT(dedupe, overlayfs_real_files_remapped_per_remap_call, CASE_TIMEOUT)
{
	char merged[PATH_MAX];
	long calls;
	int ret;

	snprintf(merged, sizeof(merged), "%s/merged", self->dir);
	ret = overlay_mount(self);
	if (ret == -ENODEV)
		SKIP(return, "no overlayfs in this kernel");
	ASSERT_EQ(0, ret) TH_LOG("mount overlay on %s: %s", merged, strerror(-ret));
	calls = overlay_calls(_metadata, self);
	EXPECT_EQ(0, umount(merged)) TH_LOG("umount %s: %m", merged);
	if (calls == -ENOENT || calls == -ENODEV)
		SKIP(return, "no tracefs with kprobe events: %s", strerror((int)-calls));
	/*
	 * Mainline calls it on the overlay's files, and overlayfs once on the
	 * real files; overlayfs then calls it once per ->remap_file_range().
	 */
	EXPECT_EQ(WANT(2, REMAP_CALLS), calls) TH_LOG("vfs_dedupe_file_range_one() calls");
}

TEST_HARNESS_MAIN
