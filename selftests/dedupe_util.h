/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the dedupe selftests: the filesystems under test,
 * which implementation of vfs_dedupe_file_range() the kernel runs, files
 * of known content, checksums and FIEMAP sharing.
 */
#ifdef FIDEDUPE_OUT_OF_TREE
/*
 * The parts under FIDEDUPE_OUT_OF_TREE belong to the module's suite only
 * (/dev/fidedupe, the livepatch, the module's counters): the kernel
 * series' selftests are these files without them (scripts/kernel-series.py).
 */
#endif
#ifndef FIDEDUPE_DEDUPE_UTIL_H
#define FIDEDUPE_DEDUPE_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <linux/fiemap.h>
#include <linux/fs.h>

#ifdef FIDEDUPE_OUT_OF_TREE
#include "../include/uapi/fidedupe.h"
#endif

#define KiB 1024ULL
#define MiB (1024ULL * KiB)

#ifdef FIDEDUPE_OUT_OF_TREE
/* Which implementation a test case calls. */
enum dedupe_path {
	PATH_NATIVE,	/* FIDEDUPERANGE on the source fd: mainline's C */
	PATH_MODULE,	/* FIDEDUPE_IOC_DEDUPE_RANGE on /dev/fidedupe */
};
#endif

static inline const char *fidedupe_mnt_root(void)
{
	const char *root = getenv("FIDEDUPE_MNT");

	return root ? root : "/tmp/fidedupe";
}

/* Whether @path is the root of a mount: its parent is on another device. */
static inline bool is_mount_point(const char *path)
{
	char parent[4096];
	struct stat here, up;

	snprintf(parent, sizeof(parent), "%s/..", path);
	return !stat(path, &here) && !stat(parent, &up) && here.st_dev != up.st_dev;
}

#ifdef FIDEDUPE_OUT_OF_TREE
/* Reads one counter of /sys/kernel/debug/fidedupe/stats, or -1. */
static inline long long stat_counter(const char *name)
{
	FILE *f = fopen("/sys/kernel/debug/fidedupe/stats", "r");
	char key[64];
	long long v, found = -1;

	if (!f)
		return -1;
	while (fscanf(f, "%63s %lld", key, &v) == 2)
		if (!strcmp(key, name))
			found = v;
	fclose(f);
	return found;
}

#define LIVEPATCH_SYSFS "/sys/kernel/livepatch/fidedupe_livepatch"

/* Reads "<LIVEPATCH_SYSFS>/<attr>" as an integer; -1 if it is not there. */
static inline int livepatch_attr(const char *attr)
{
	char p[128];
	FILE *f;
	int v = -1;

	snprintf(p, sizeof(p), "%s/%s", LIVEPATCH_SYSFS, attr);
	f = fopen(p, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%d", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/*
 * Whether the test run expects fidedupe_livepatch to be loaded, enabled
 * and done with its transition (FIDEDUPE_LIVEPATCH=1, set by the guest
 * script); the fixtures assert that the system agrees.
 */
static inline bool livepatch_expected(void)
{
	const char *v = getenv("FIDEDUPE_LIVEPATCH");

	return v && !strcmp(v, "1");
}

/* The livepatch is enabled and every task runs the patched function. */
static inline bool livepatch_complete(void)
{
	return livepatch_attr("enabled") == 1 && livepatch_attr("transition") == 0;
}
#else
/*
 * Whether FIDEDUPERANGE runs the Rust vfs_dedupe_file_range()
 * (CONFIG_VFS_DEDUPE_RUST): its crate, vfs_dedupe, has symbols in
 * /proc/kallsyms (their names are there for root whatever kptr_restrict
 * says).  Read once, before the harness forks the cases.
 */
static bool rust_dedupe_built_in;

static void __attribute__((constructor)) find_rust_dedupe(void)
{
	FILE *f = fopen("/proc/kallsyms", "r");
	char line[512];

	if (!f)
		return;
	while (!rust_dedupe_built_in && fgets(line, sizeof(line), f))
		rust_dedupe_built_in = strstr(line, "10vfs_dedupe");
	fclose(f);
}
#endif

/*
 * What a test on @fs needs and a test system may lack, said in @why for
 * the harness's SKIP: root and the filesystem mounted at FIDEDUPE_MNT/@fs
 * (run_fidedupe_tests.sh makes it).  Whether all are there.
 */
#ifdef FIDEDUPE_OUT_OF_TREE
/* Out of tree, the module loaded, and the livepatch if FIDEDUPE_LIVEPATCH=1. */
#endif
static inline bool have_prerequisites(const char *fs, char *why, size_t size)
{
	char root[512];

	snprintf(root, sizeof(root), "%s/%s", fidedupe_mnt_root(), fs);
	if (geteuid() != 0)
		snprintf(why, size, "needs root");
	else if (!is_mount_point(root))
		snprintf(why, size, "no %s mounted at %s (run_fidedupe_tests.sh makes it)",
			 fs, root);
#ifdef FIDEDUPE_OUT_OF_TREE
	else if (access("/dev/fidedupe", F_OK))
		snprintf(why, size, "no /dev/fidedupe: the fidedupe module is not loaded");
	else if (livepatch_expected() && access(LIVEPATCH_SYSFS, F_OK))
		snprintf(why, size, "FIDEDUPE_LIVEPATCH=1 but fidedupe_livepatch is not loaded");
#endif
	else
		return true;
	return false;
}

#ifdef FIDEDUPE_OUT_OF_TREE
/*
 * fidedupe's parameters as the module was loaded with them: the run says
 * (FIDEDUPE_CHUNK_BYTES, FIDEDUPE_MAX_REQUEST_BYTES), else the defaults.
 * The module does not show them in sysfs.
 */
static inline uint64_t env_u64(const char *name, uint64_t def)
{
	const char *v = getenv(name);

	return v ? strtoull(v, NULL, 0) : def;
}

#define CHUNK_BYTES env_u64("FIDEDUPE_CHUNK_BYTES", 16 * MiB)
#define MAX_REQUEST_BYTES env_u64("FIDEDUPE_MAX_REQUEST_BYTES", 1024 * MiB)
#else
/* The Rust implementation's chunk and request limits. */
#define CHUNK_BYTES (16 * MiB)
#define MAX_REQUEST_BYTES (1024 * MiB)
#endif

/* A struct file_dedupe_range with room for @count destinations. */
static inline struct file_dedupe_range *range_alloc(unsigned int count)
{
	size_t size = sizeof(struct file_dedupe_range) +
		      count * sizeof(struct file_dedupe_range_info);

	return calloc(1, size);
}

static inline void range_set(struct file_dedupe_range *r, uint64_t src_offset,
			     uint64_t src_length, unsigned int count)
{
	r->src_offset = src_offset;
	r->src_length = src_length;
	r->dest_count = count;
}

static inline void range_dest(struct file_dedupe_range *r, unsigned int i,
			      int64_t fd, uint64_t offset)
{
	r->info[i].dest_fd = fd;
	r->info[i].dest_offset = offset;
	/* Poison the outputs so that a path that forgets them is caught. */
	r->info[i].bytes_deduped = 0xdeadbeefdeadbeefULL;
	r->info[i].status = 0x5a5a5a5a;
}

#ifdef FIDEDUPE_OUT_OF_TREE
/*
 * Calls dedupe through @path; returns 0 or -errno of the call itself.
 * @dev is the open /dev/fidedupe (unused on the native path).
 */
static inline int dedupe_via(enum dedupe_path path, int dev, int64_t src_fd,
			     struct file_dedupe_range *r)
{
	int ret;

	if (path == PATH_NATIVE) {
		ret = ioctl((int)src_fd, FIDEDUPERANGE, r);
	} else {
		struct fidedupe_args args = {
			.src_fd = src_fd,
			.range_ptr = (uintptr_t)r,
		};

		ret = ioctl(dev, FIDEDUPE_IOC_DEDUPE_RANGE, &args);
	}
	return ret ? -errno : 0;
}
#endif

/* Deterministic content: the same @seed gives the same bytes. */
static inline void fill_pattern(char *buf, size_t len, uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 1;
	size_t i;

	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (char)x;
	}
}

/* Writes @len bytes of pattern @seed at @off of @fd; 0 or -errno. */
static inline int write_pattern(int fd, uint64_t off, size_t len, uint64_t seed)
{
	size_t chunk = 1 * MiB, done = 0;
	char *buf = malloc(chunk);
	int ret = 0;

	if (!buf)
		return -ENOMEM;
	while (done < len) {
		size_t n = len - done < chunk ? len - done : chunk;

		fill_pattern(buf, n, seed + (off + done) / chunk);
		if (pwrite(fd, buf, n, off + done) != (ssize_t)n) {
			ret = -errno;
			break;
		}
		done += n;
	}
	free(buf);
	return ret;
}

/* Creates @path with @len bytes of pattern @seed; returns an O_RDWR fd. */
static inline int make_file(const char *path, size_t len, uint64_t seed)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);

	if (fd < 0)
		return -errno;
	if (write_pattern(fd, 0, len, seed) || fsync(fd)) {
		close(fd);
		return -EIO;
	}
	return fd;
}

/* Copies [@from, @from + @len) of @fd to @to in the same file; 0 or -errno. */
static inline int copy_range_within(int fd, uint64_t from, uint64_t len, uint64_t to)
{
	char buf[65536];
	uint64_t done = 0;

	while (done < len) {
		size_t n = len - done < sizeof(buf) ? len - done : sizeof(buf);

		if (pread(fd, buf, n, from + done) != (ssize_t)n ||
		    pwrite(fd, buf, n, to + done) != (ssize_t)n)
			return -EIO;
		done += n;
	}
	return fsync(fd) ? -errno : 0;
}

/* CLOCK_MONOTONIC in seconds. */
static inline double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

#define CHECKSUM_BASIS 0xcbf29ce484222325ULL
#define CHECKSUM_PRIME 0x100000001b3ULL

/* FNV-1a's step, on the 64-bit words of @buf (@n a multiple of 8). */
static inline uint64_t checksum_words(uint64_t h, const char *buf, size_t n)
{
	uint64_t w;
	size_t i;

	for (i = 0; i < n; i += sizeof(w)) {
		memcpy(&w, buf + i, sizeof(w));
		h = (h ^ w) * CHECKSUM_PRIME;
	}
	return h;
}

/* checksum_words() over @n words of zeros: h * PRIME^n, by squaring. */
static inline uint64_t checksum_zero_words(uint64_t h, uint64_t n)
{
	uint64_t p = CHECKSUM_PRIME;

	for (; n; n >>= 1, p *= p)
		if (n & 1)
			h *= p;
	return h;
}

/*
 * A failure of file_checksum(): every 64-bit value is some file's
 * checksum, so none can say "no checksum", and two failed reads must not
 * compare equal.  Ends the process with a message: under
 * kselftest_harness.h the case fails (SIGABRT), and so does any other
 * program (the torture, the bench).
 */
static inline void checksum_failed(int fd, const char *what, int err)
{
	fprintf(stderr, "file_checksum(fd %d): %s: %s\n", fd, what, strerror(err));
	abort();
}

/*
 * A checksum of the whole file's bytes, read through the page cache: FNV-1a
 * over its 64-bit words (the last one padded with zeros), then its size.
 * It depends on the bytes alone, not on where the file has holes, but a
 * hole (SEEK_HOLE) is folded without being read: a sparse file of a GiB
 * costs no more than its data.  A file that cannot be read ends the
 * process (checksum_failed()).  Moves the file offset.
 */
static inline uint64_t file_checksum_seeking(int fd)
{
	uint64_t h = CHECKSUM_BASIS, pos = 0, end;
	char buf[65536];
	struct stat st;
	off_t data, hole;
	ssize_t n;

	if (fstat(fd, &st))
		checksum_failed(fd, "fstat", errno);
	while (pos < (uint64_t)st.st_size) {
		/* Up to the next data, all zeros; ENXIO: no data after pos. */
		data = lseek(fd, pos, SEEK_DATA);
		if (data < 0 && errno == ENXIO)
			data = st.st_size;
		else if (data < 0)
			data = pos;
		data &= ~(off_t)7;
		if ((uint64_t)data > pos) {
			h = checksum_zero_words(h, ((uint64_t)data - pos) / 8);
			pos = data;
		}
		if (pos >= (uint64_t)st.st_size)
			break;
		hole = lseek(fd, pos, SEEK_HOLE);
		if (hole < 0 || hole > st.st_size)
			hole = st.st_size;
		end = ((uint64_t)hole + 7) & ~7ULL;
		if (end <= pos)
			end = pos + 8;	/* a hole in the last word: read it */
		while (pos < end) {
			size_t want = end - pos < sizeof(buf) ? end - pos : sizeof(buf);

			n = pread(fd, buf, want, pos);
			if (n < 0)
				checksum_failed(fd, "pread", errno);
			if (pos + n >= (uint64_t)st.st_size && n % 8) {
				/* The last word of the file, padded. */
				memset(buf + n, 0, 8 - n % 8);
				n += 8 - n % 8;
			} else if (n < 8) {
				checksum_failed(fd, "short read, truncated under us?", EIO);
			}
			n &= ~(ssize_t)7;
			h = checksum_words(h, buf, n);
			pos += n;
		}
	}
	return (h ^ (uint64_t)st.st_size) * CHECKSUM_PRIME;
}

/* file_checksum_seeking(), the file offset left as it was. */
static inline uint64_t file_checksum(int fd)
{
	off_t saved = lseek(fd, 0, SEEK_CUR);
	uint64_t h = file_checksum_seeking(fd);

	if (saved >= 0)
		lseek(fd, saved, SEEK_SET);
	return h;
}

/*
 * The extents FIEMAP maps in [@off, @off + @len) of @fd, in logical order,
 * in *@ext (for free()); returns their number or -errno.
 */
static inline int file_extents(int fd, uint64_t off, uint64_t len,
			       struct fiemap_extent **ext)
{
	const unsigned int batch = 256;
	struct fiemap_extent *all = NULL, *grown;
	struct fiemap *fm;
	uint64_t end = off + len;
	int n = 0, ret = 0;

	fm = calloc(1, sizeof(*fm) + batch * sizeof(*all));
	if (!fm)
		return -ENOMEM;
	while (off < end) {
		fm->fm_start = off;
		fm->fm_length = end - off;
		fm->fm_flags = FIEMAP_FLAG_SYNC;
		fm->fm_extent_count = batch;
		if (ioctl(fd, FS_IOC_FIEMAP, fm)) {
			ret = -errno;
			break;
		}
		if (!fm->fm_mapped_extents)
			break;
		grown = realloc(all, (n + fm->fm_mapped_extents) * sizeof(*all));
		if (!grown) {
			ret = -ENOMEM;
			break;
		}
		all = grown;
		memcpy(all + n, fm->fm_extents, fm->fm_mapped_extents * sizeof(*all));
		n += fm->fm_mapped_extents;
		if (all[n - 1].fe_flags & FIEMAP_EXTENT_LAST)
			break;
		off = all[n - 1].fe_logical + all[n - 1].fe_length;
	}
	free(fm);
	if (ret) {
		free(all);
		return ret;
	}
	*ext = all;
	return n;
}

/*
 * Bytes of [@off, @off + @len) of @fd that FIEMAP reports in extents
 * flagged FIEMAP_EXTENT_SHARED, or -errno.
 */
static inline int64_t shared_bytes(int fd, uint64_t off, uint64_t len)
{
	struct fiemap_extent *ext = NULL;
	uint64_t end = off + len, total = 0;
	int n, i;

	n = file_extents(fd, off, len, &ext);
	if (n < 0)
		return n;
	for (i = 0; i < n; i++) {
		uint64_t s = ext[i].fe_logical > off ? ext[i].fe_logical : off;
		uint64_t t = ext[i].fe_logical + ext[i].fe_length;

		if (t > end)
			t = end;
		if ((ext[i].fe_flags & FIEMAP_EXTENT_SHARED) && t > s)
			total += t - s;
	}
	free(ext);
	return total;
}

#endif /* FIDEDUPE_DEDUPE_UTIL_H */
