// SPDX-License-Identifier: GPL-2.0
/*
 * fidedupe_faults - a systematic fault sweep of one dedupe call.
 *
 * For each call shape, fail the 1st, 2nd, ... fault-injection site the
 * call reaches (/proc/thread-self/fail-nth: slab, page allocation and user
 * copies, as Documentation/fault-injection/ describes) until a run
 * completes with no fault left.  After each run: the call returned 0 or an
 * errno the man page lists, every record holds a status the man page
 * lists or is untouched, the records after an untouched one are untouched
 * too, no bytes_deduped exceeds the request, and no file's data changed.
 * The guest script then unmounts the filesystems (no leaked file
 * reference) and asks kmemleak.
 *
 * usage: fidedupe_faults FS native|module [io-errors]
 * Prints TAP, one test per shape, and a line per shape:
 *   "# faults FS PATH SHAPE: N sites swept, N failures injected, ..."
 */
#define _GNU_SOURCE
#include <limits.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "../selftests/dedupe_util.h"

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif

#define LEN (256 * KiB)
#define POISON_STATUS 0x5a5a5a5a
#define POISON_BYTES 0xdeadbeefdeadbeefULL

static const int listed[] = {
	EACCES, EBADF, EFAULT, EINTR, EINVAL, EISDIR, ENOMEM, EOPNOTSUPP,
	EPERM, EROFS, ETXTBSY, EXDEV, EIO, ENOSPC,
};

static bool is_listed(int e)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(listed); i++)
		if (listed[i] == e)
			return true;
	return false;
}

struct shape {
	const char *name;
	uint64_t len;
	unsigned int count;	/* records */
	int fault_at;		/* record crossing into PROT_NONE, or -1 */
};

static const struct shape shapes[] = {
	{ "one", 4096, 1, -1 },
	{ "three_differs_in_middle", 4096, 3, -1 },
	{ "two_hundred", 4096, 200, -1 },
	{ "multi_chunk", LEN, 1, -1 },
	{ "records_cross_into_prot_none", 4096, 3, 2 },
};

struct files {
	int src, same, differs;
	uint64_t sums[3];
};

static uint64_t sum_of(int fd)
{
	return file_checksum(fd);
}

/* The records of @s in their own pages, poisoned; @map and @size to unmap. */
static struct file_dedupe_range *lay_out(const struct shape *s, const struct files *f,
					 void **map, size_t *size)
{
	size_t page = getpagesize(), bytes = sizeof(struct file_dedupe_range) +
		      s->count * sizeof(struct file_dedupe_range_info);
	struct file_dedupe_range *r;
	char *base;
	unsigned int i;

	*size = (bytes / page + 3) * page;
	base = mmap(NULL, *size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		return NULL;
	*map = base;
	if (s->fault_at >= 0) {
		/* Record fault_at starts 16 bytes before a PROT_NONE page. */
		size_t before = sizeof(*r) + s->fault_at * sizeof(r->info[0]) + 16;

		r = (void *)(base + page * 2 - before);
	} else {
		r = (void *)base;
	}
	range_set(r, 0, s->len, s->count);
	for (i = 0; i < s->count; i++) {
		int fd = (i == 1 && s->count == 3) ? f->differs : f->same;

		if (s->fault_at >= 0 && (int)i == s->fault_at) {
			r->info[i].dest_fd = fd;
			r->info[i].dest_offset = 0;
			break;
		}
		range_dest(r, i, fd, 0);
	}
	if (s->fault_at >= 0 && mprotect(base + page * 2, *size - page * 2, PROT_NONE))
		return NULL;
	return r;
}

static int call(bool native, int dev, int src, struct file_dedupe_range *r)
{
	return dedupe_via(native ? PATH_NATIVE : PATH_MODULE, dev, src, r);
}

/* Sets fail-nth; returns its descriptor. */
static int arm(int n)
{
	char buf[32];
	int fd;

	snprintf(buf, sizeof(buf), "/proc/self/task/%ld/fail-nth", (long)syscall(SYS_gettid));
	fd = open(buf, O_RDWR);
	if (fd < 0)
		return -1;
	snprintf(buf, sizeof(buf), "%d", n);
	if (write(fd, buf, strlen(buf)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Whether the armed fault was injected during the call (and disarms). */
static bool injected(int fd)
{
	char buf[32] = "";
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	/* A read that itself took the fault: the call had none left. */
	if (n <= 0) {
		close(fd);
		return false;
	}
	if (write(fd, "0", 1) < 0)
		n = -1;
	close(fd);
	return atoi(buf) == 0;
}

static int set_make_it_fail(int on)
{
	int fd = open("/proc/self/make-it-fail", O_WRONLY);
	int ret = fd >= 0 && write(fd, on ? "1" : "0", 1) == 1 ? 0 : -1;

	if (fd >= 0)
		close(fd);
	return ret;
}

/* Whether the first page of @fd is in the page cache. */
static bool first_page_cached(int fd)
{
	size_t page = getpagesize();
	unsigned char vec = 0;
	void *p = mmap(NULL, page, PROT_READ, MAP_SHARED, fd, 0);
	bool cached;

	if (p == MAP_FAILED)
		return true;
	cached = mincore(p, page, &vec) || (vec & 1);
	munmap(p, page);
	return cached;
}

/*
 * Read errors during the compare: fail_make_request, limited to this task
 * (task-filter, /proc/self/make-it-fail) on the filesystem's loop device
 * (set up by the guest script).  A first call without errors shares the
 * blocks and brings the metadata it needs into memory (xfs shuts down on a
 * failed metadata read, by design); then the page cache is dropped and the
 * source and two destinations read back, so that of three destinations
 * only the middle one's compare reads the device: it reports EIO, the
 * other two are still deduped, and no data changes.  The three are three
 * files: xfs drops a destination's page cache once it is deduped.
 */
static int io_errors(const char *fs, bool native, const struct files *f, int uncached,
		     int last, int dev)
{
	struct file_dedupe_range *r = range_alloc(3);
	char buf[65536];
	int ret, fd, i, bad = 0, drop;
	uint64_t off;

	printf("TAP version 13\n1..1\n");
	range_set(r, 0, LEN, 3);
	range_dest(r, 0, f->same, 0);
	range_dest(r, 1, uncached, 0);
	range_dest(r, 2, last, 0);
	if (call(native, dev, f->src, r) || r->info[1].status != FILE_DEDUPE_RANGE_SAME) {
		printf("# io-errors: the first call failed: %d\n", r->info[1].status);
		bad++;
	}
	sync();
	drop = open("/proc/sys/vm/drop_caches", O_WRONLY);
	if (drop < 0 || write(drop, "1", 1) != 1)
		bad++;
	if (drop >= 0)
		close(drop);
	/* Everything but the middle destination back in the page cache. */
	for (fd = 0; fd < 3; fd++)
		for (off = 0; off < LEN; off += sizeof(buf))
			if (pread(fd == 2 ? last : fd ? f->same : f->src, buf, sizeof(buf), off) < 0)
				bad++;
	if (first_page_cached(uncached)) {
		printf("# io-errors: the middle destination is still cached\n");
		bad++;
	}
	range_set(r, 0, LEN, 3);
	range_dest(r, 0, f->same, 0);
	range_dest(r, 1, uncached, 0);
	range_dest(r, 2, last, 0);
	if (set_make_it_fail(1))
		bad++;
	ret = call(native, dev, f->src, r);
	set_make_it_fail(0);
	printf("# io-errors %s %s: call %d, statuses %d %d %d\n", fs, native ? "native" : "module",
	       ret, r->info[0].status, r->info[1].status, r->info[2].status);
	if (ret || r->info[1].status != -EIO || r->info[1].bytes_deduped)
		bad++;
	for (i = 0; i < 3; i += 2)
		if (r->info[i].status != FILE_DEDUPE_RANGE_SAME)
			bad++;
	if (sum_of(f->src) != f->sums[0] || sum_of(f->same) != f->sums[1] ||
	    sum_of(uncached) != f->sums[1] || sum_of(last) != f->sums[1]) {
		printf("# io-errors: file data changed\n");
		bad++;
	}
	printf("%sok 1 io-errors.%s.%s\n", bad ? "not " : "", fs, native ? "native" : "module");
	printf("# Totals: pass:%d fail:%d xfail:0 xpass:0 skip:0 error:0\n", !bad, !!bad);
	free(r);
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *fs = argc > 2 ? argv[1] : NULL;
	bool native = argc > 2 && !strcmp(argv[2], "native");
	char dir[PATH_MAX / 2], p[PATH_MAX];
	unsigned int s_i, failed_shapes = 0;
	struct files f;
	int dev;

	if (!fs) {
		fprintf(stderr, "usage: %s FS native|module\n", argv[0]);
		return 2;
	}
	snprintf(dir, sizeof(dir), "%s/%s/faults.%d", fidedupe_mnt_root(), fs, getpid());
	if (mkdir(dir, 0755)) {
		perror(dir);
		return 2;
	}
	snprintf(p, sizeof(p), "%s/src", dir);
	f.src = make_file(p, LEN, 1);
	snprintf(p, sizeof(p), "%s/same", dir);
	f.same = make_file(p, LEN, 1);
	snprintf(p, sizeof(p), "%s/differs", dir);
	f.differs = make_file(p, LEN, 1);
	dev = open("/dev/fidedupe", O_RDWR);
	if (f.src < 0 || f.same < 0 || f.differs < 0 || dev < 0 ||
	    pwrite(f.differs, "!", 1, 2048) != 1 || fsync(f.differs)) {
		perror("setup");
		return 2;
	}
	f.sums[0] = sum_of(f.src);
	f.sums[1] = sum_of(f.same);
	f.sums[2] = sum_of(f.differs);
	if (argc > 3 && !strcmp(argv[3], "io-errors")) {
		char q[PATH_MAX];

		snprintf(p, sizeof(p), "%s/uncached", dir);
		snprintf(q, sizeof(q), "%s/last", dir);
		return io_errors(fs, native, &f, make_file(p, LEN, 1), make_file(q, LEN, 1), dev);
	}

	printf("TAP version 13\n1..%zu\n", ARRAY_SIZE(shapes));
	for (s_i = 0; s_i < ARRAY_SIZE(shapes); s_i++) {
		struct shape s = shapes[s_i];
		unsigned int n, sites = 0, injections = 0, bad = 0, ok_calls = 0;
		unsigned int call_errors[160] = { 0 }, statuses[3] = { 0 };

		/* fs/ioctl.c copies at most a page: 127 records natively. */
		if (native && s.count > 127)
			s.count = 127;
		for (n = 1; n < 100000; n++) {
			struct file_dedupe_range *r;
			unsigned int i, readable = s.fault_at >= 0 ? (unsigned int)s.fault_at : s.count;
			bool untouched_seen = false, hit;
			size_t size;
			void *map;
			int fd, ret;

			r = lay_out(&s, &f, &map, &size);
			if (!r) {
				perror("records");
				return 2;
			}
			fd = arm(n);
			if (fd < 0) {
				perror("fail-nth");
				return 2;
			}
			ret = call(native, dev, f.src, r);
			hit = injected(fd);
			injections += hit;
			if (ret == 0)
				ok_calls++;
			else if (-ret < 160)
				call_errors[-ret]++;
			if (ret && !is_listed(-ret)) {
				printf("# %s n=%u: the call returned %d\n", s.name, n, ret);
				bad++;
			}
			for (i = 0; i < readable; i++) {
				int32_t st = r->info[i].status;
				uint64_t b = r->info[i].bytes_deduped;

				if (st == POISON_STATUS && b == POISON_BYTES) {
					untouched_seen = true;
					statuses[2]++;
					continue;
				}
				if (untouched_seen) {
					printf("# %s n=%u: record %u written after an untouched one\n",
					       s.name, n, i);
					bad++;
				}
				if (st == FILE_DEDUPE_RANGE_SAME || st == FILE_DEDUPE_RANGE_DIFFERS)
					statuses[0]++;
				else if (st < 0 && is_listed(-st))
					statuses[1]++;
				else {
					printf("# %s n=%u: record %u has status %d\n", s.name, n, i, st);
					bad++;
				}
				if (b > s.len) {
					printf("# %s n=%u: record %u reports %llu bytes\n", s.name, n, i,
					       (unsigned long long)b);
					bad++;
				}
			}
			munmap(map, size);
			if (sum_of(f.src) != f.sums[0] || sum_of(f.same) != f.sums[1] ||
			    sum_of(f.differs) != f.sums[2]) {
				printf("# %s n=%u: file data changed\n", s.name, n);
				bad++;
			}
			if (!hit) {
				sites = n - 1;
				break;
			}
		}
		printf("# faults %s %s %s: %u sites swept, %u failures injected, %u calls returned 0,",
		       fs, native ? "native" : "module", s.name, sites, injections, ok_calls);
		for (n = 1; n < 160; n++)
			if (call_errors[n])
				printf(" %u %s,", call_errors[n], strerror(n));
		printf(" records: %u with a result, %u with a listed errno, %u untouched; %u problems\n",
		       statuses[0], statuses[1], statuses[2], bad);
		printf("%sok %u faults.%s.%s.%s\n", bad || !sites ? "not " : "", s_i + 1, fs,
		       native ? "native" : "module", s.name);
		failed_shapes += bad || !sites;
	}
	printf("# Totals: pass:%zu fail:%u xfail:0 xpass:0 skip:0 error:0\n",
	       ARRAY_SIZE(shapes) - failed_shapes, failed_shapes);
	return failed_shapes ? 1 : 0;
}
