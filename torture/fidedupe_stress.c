// SPDX-License-Identifier: GPL-2.0
/*
 * fidedupe_stress - dedupe callers against writers, on one filesystem.
 *
 * Callers on both paths (FIDEDUPERANGE, which is fidedupe's when the
 * livepatch is loaded, and /dev/fidedupe) dedupe long multi-chunk ranges
 * of a source into many destinations, while other threads write the same
 * files with pwrite and through mmap, truncate and extend them, punch holes
 * in them and reflink into them (FICLONERANGE), a process of its own freezes and
 * thaws the filesystem, and another forks callers and kills them with
 * SIGKILL.  Every writer logs what it writes in a shadow copy of the file,
 * under a lock per file; at the end every byte must equal the shadow: a
 * dedupe never changes data.
 *
 * usage: fidedupe_stress FS SECONDS
 * Prints TAP (one test: no byte changed) and the figures: calls and bytes
 * per path, calls per second, statuses seen, the longest call.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "../selftests/dedupe_util.h"

#define FILES 4
#define SIZE (4 * MiB)
#define MIN_SIZE (1 * MiB)	/* never truncated below: the mmap writer's range */
#define BLOCK 4096

struct hot {
	int fd;
	char path[PATH_MAX];
	pthread_mutex_t lock;
	unsigned char *shadow;	/* SIZE bytes */
	uint64_t size;
	unsigned char *map;	/* MIN_SIZE bytes, MAP_SHARED */
};

static struct hot hot[FILES];
static int src_fd, dev;
static unsigned char *src_data;
static atomic_bool stop;
static const char *fs;

/* Per path: calls, bytes deduped, longest call in ms, statuses. */
struct path_stats {
	atomic_ulong calls, failed_calls, bytes, max_ms;
	atomic_ulong same, differs, errors[160];
};

static struct path_stats stats[2];
static atomic_ulong writes, killed;

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void *caller(void *arg)
{
	enum dedupe_path path = (enum dedupe_path)(uintptr_t)arg;
	struct path_stats *st = &stats[path];
	uint64_t seed = 0x1234 + path * 77 + (uint64_t)pthread_self();
	struct file_dedupe_range *r = range_alloc(120);

	while (!atomic_load(&stop)) {
		unsigned int count = 1 + rnd(&seed) % (path == PATH_NATIVE ? 100 : 120), i;
		uint64_t off = (rnd(&seed) % (MIN_SIZE / BLOCK)) * BLOCK;
		uint64_t len = BLOCK * (1 + rnd(&seed) % (SIZE / BLOCK / 2));
		double t0, ms;
		int ret;

		range_set(r, off, len, count);
		for (i = 0; i < count; i++)
			range_dest(r, i, hot[rnd(&seed) % FILES].fd, off);
		t0 = now_seconds();
		ret = dedupe_via(path, dev, src_fd, r);
		ms = (now_seconds() - t0) * 1000;
		atomic_fetch_add(&st->calls, 1);
		if ((unsigned long)ms > atomic_load(&st->max_ms))
			atomic_store(&st->max_ms, (unsigned long)ms);
		if (ret) {
			atomic_fetch_add(&st->failed_calls, 1);
			if (-ret < 160)
				atomic_fetch_add(&st->errors[-ret], 1);
			continue;
		}
		for (i = 0; i < count; i++) {
			int32_t s = r->info[i].status;

			if (s == FILE_DEDUPE_RANGE_SAME)
				atomic_fetch_add(&st->same, 1);
			else if (s == FILE_DEDUPE_RANGE_DIFFERS)
				atomic_fetch_add(&st->differs, 1);
			else if (s < 0 && -s < 160)
				atomic_fetch_add(&st->errors[-s], 1);
			atomic_fetch_add(&st->bytes, r->info[i].bytes_deduped);
		}
	}
	free(r);
	return NULL;
}

/* One write to file @h, done and logged under its lock. */
static void write_once(struct hot *h, uint64_t *seed)
{
	unsigned int kind = rnd(seed) % 6;
	uint64_t off = (rnd(seed) % (MIN_SIZE / BLOCK)) * BLOCK;
	uint64_t len = BLOCK * (1 + rnd(seed) % 16);
	unsigned char buf[16 * BLOCK];
	struct file_clone_range clone;
	uint64_t i;

	pthread_mutex_lock(&h->lock);
	switch (kind) {
	case 0:	/* pwrite: often the source's own data, so dedupes still share */
		for (i = 0; i < len; i++)
			buf[i] = rnd(seed) % 4 ? src_data[off + i] : (unsigned char)rnd(seed);
		if (pwrite(h->fd, buf, len, off) == (ssize_t)len)
			memcpy(h->shadow + off, buf, len);
		break;
	case 1:	/* through the shared mapping */
		for (i = 0; i < len && off + i < MIN_SIZE; i++) {
			unsigned char b = rnd(seed) % 2 ? src_data[off + i] : (unsigned char)rnd(seed);

			h->map[off + i] = b;
			h->shadow[off + i] = b;
		}
		msync(h->map + off, len < MIN_SIZE - off ? len : MIN_SIZE - off, MS_SYNC);
		break;
	case 2: {	/* truncate, then extend back with zeros */
		uint64_t to = MIN_SIZE + (rnd(seed) % ((SIZE - MIN_SIZE) / BLOCK)) * BLOCK;

		if (to < h->size && !ftruncate(h->fd, to)) {
			h->size = to;
		} else if (!ftruncate(h->fd, SIZE)) {
			memset(h->shadow + h->size, 0, SIZE - h->size);
			h->size = SIZE;
		}
		break;
	}
	case 3:	/* punch a hole */
		if (off + len <= h->size &&
		    !fallocate(h->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len))
			memset(h->shadow + off, 0, len);
		break;
	case 4:	/* reflink the source's blocks in */
		clone = (struct file_clone_range){
			.src_fd = src_fd, .src_offset = off, .src_length = len, .dest_offset = off,
		};
		if (off + len <= h->size && !ioctl(h->fd, FICLONERANGE, &clone))
			memcpy(h->shadow + off, src_data + off, len);
		break;
	default:	/* restore the source's data, so that dedupes have work */
		if (off + len <= h->size && pwrite(h->fd, src_data + off, len, off) == (ssize_t)len)
			memcpy(h->shadow + off, src_data + off, len);
		break;
	}
	pthread_mutex_unlock(&h->lock);
	atomic_fetch_add(&writes, 1);
}

static void *writer(void *arg)
{
	uint64_t seed = 0x9999 + (uintptr_t)arg;

	while (!atomic_load(&stop)) {
		write_once(&hot[rnd(&seed) % FILES], &seed);
		usleep(rnd(&seed) % 2000);
	}
	return NULL;
}

/*
 * The freezer is a process of its own, not a thread: a thread would share
 * the callers' mm, and while the filesystem is frozen a fork() of the
 * killer holds that mm's mmap_lock for writing and waits for the VMA of a
 * writer's mapping, which a page fault blocked on the freeze holds; the
 * freezer's next page fault (its stack, copy-on-write since the fork) then
 * waits for the mmap_lock, and nobody thaws.  The watchdog of
 * qemu/guest-torture.sh caught exactly that in a 60 s run.
 */
struct freezer_shared {
	atomic_bool stop;
	atomic_ulong freezes;
};

static void freezer(struct freezer_shared *shared)
{
	char root[PATH_MAX];
	int fd;

	snprintf(root, sizeof(root), "%s/%s", fidedupe_mnt_root(), fs);
	fd = open(root, O_RDONLY | O_DIRECTORY);
	while (fd >= 0 && !atomic_load(&shared->stop)) {
		usleep(700 * 1000);
		if (!ioctl(fd, FIFREEZE, 0)) {
			usleep(100 * 1000);
			ioctl(fd, FITHAW, 0);
			atomic_fetch_add(&shared->freezes, 1);
		}
	}
	if (fd >= 0)
		close(fd);
}

/* Starts the freezer process; its pid, or -1. */
static pid_t start_freezer(struct freezer_shared *shared)
{
	pid_t pid = fork();

	if (pid == 0) {
		freezer(shared);
		_exit(0);
	}
	return pid;
}

static void *killer(void *arg)
{
	uint64_t seed = 0x4242;

	while (!atomic_load(&stop)) {
		pid_t pid = fork();

		if (pid == 0) {
			caller((void *)(uintptr_t)(rnd(&seed) % 2));
			_exit(0);
		}
		usleep(50 * 1000 + rnd(&seed) % (300 * 1000));
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		atomic_fetch_add(&killed, 1);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	char dir[PATH_MAX / 2], p[PATH_MAX];
	unsigned int seconds, i, changed = 0;
	pthread_t threads[16];
	unsigned int n = 0, e, path;
	struct freezer_shared *freeze;
	pid_t freezer_pid;
	double t0, took;

	if (argc < 3) {
		fprintf(stderr, "usage: %s FS SECONDS\n", argv[0]);
		return 2;
	}
	fs = argv[1];
	seconds = atoi(argv[2]);
	snprintf(dir, sizeof(dir), "%s/%s/stress.%d", fidedupe_mnt_root(), fs, getpid());
	dev = open("/dev/fidedupe", O_RDWR);
	if (mkdir(dir, 0755) || dev < 0) {
		perror("setup");
		return 2;
	}
	snprintf(p, sizeof(p), "%s/src", dir);
	src_fd = make_file(p, SIZE, 1);
	src_data = malloc(SIZE);
	if (src_fd < 0 || !src_data || pread(src_fd, src_data, SIZE, 0) != SIZE) {
		perror("source");
		return 2;
	}
	for (i = 0; i < FILES; i++) {
		struct hot *h = &hot[i];

		snprintf(h->path, sizeof(h->path), "%s/hot%u", dir, i);
		h->fd = make_file(h->path, SIZE, 1);
		h->shadow = malloc(SIZE);
		h->size = SIZE;
		pthread_mutex_init(&h->lock, NULL);
		h->map = mmap(NULL, MIN_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, h->fd, 0);
		if (h->fd < 0 || !h->shadow || h->map == MAP_FAILED) {
			perror("files");
			return 2;
		}
		memcpy(h->shadow, src_data, SIZE);
	}

	/* Before any thread, so that the freezer's mm is its own. */
	freeze = mmap(NULL, sizeof(*freeze), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (freeze == MAP_FAILED) {
		perror("mmap");
		return 2;
	}
	freezer_pid = start_freezer(freeze);
	if (freezer_pid < 0) {
		perror("fork");
		return 2;
	}
	t0 = now_seconds();
	for (i = 0; i < 2; i++) {
		pthread_create(&threads[n++], NULL, caller, (void *)(uintptr_t)PATH_NATIVE);
		pthread_create(&threads[n++], NULL, caller, (void *)(uintptr_t)PATH_MODULE);
	}
	for (i = 0; i < 3; i++)
		pthread_create(&threads[n++], NULL, writer, (void *)(uintptr_t)i);
	pthread_create(&threads[n++], NULL, killer, NULL);
	sleep(seconds);
	atomic_store(&stop, true);
	atomic_store(&freeze->stop, true);
	waitpid(freezer_pid, NULL, 0);
	for (i = 0; i < n; i++)
		pthread_join(threads[i], NULL);
	took = now_seconds() - t0;

	for (i = 0; i < FILES; i++) {
		struct hot *h = &hot[i];
		unsigned char *now = malloc(SIZE);
		struct stat st;
		uint64_t x;

		if (!now || fstat(h->fd, &st) || (uint64_t)st.st_size != h->size ||
		    pread(h->fd, now, h->size, 0) != (ssize_t)h->size) {
			printf("# hot%u: size %llu, expected %llu\n", i,
			       (unsigned long long)st.st_size, (unsigned long long)h->size);
			changed++;
		} else {
			for (x = 0; x < h->size; x++)
				if (now[x] != h->shadow[x])
					break;
			if (x < h->size) {
				printf("# hot%u: byte %llu is %u, the writers left %u\n", i,
				       (unsigned long long)x, now[x], h->shadow[x]);
				changed++;
			}
		}
		free(now);
	}
	if (pread(src_fd, hot[0].shadow, SIZE, 0) != SIZE || memcmp(hot[0].shadow, src_data, SIZE)) {
		printf("# the source changed\n");
		changed++;
	}

	printf("TAP version 13\n1..1\n");
	printf("# stress %s: %.0f s, %lu writes, %lu freezes, %lu callers killed\n", fs, took,
	       atomic_load(&writes), atomic_load(&freeze->freezes), atomic_load(&killed));
	for (path = 0; path < 2; path++) {
		struct path_stats *st = &stats[path];

		printf("# stress %s %s: %lu calls (%.1f/s), %lu failed, %lu MiB deduped, longest %lu ms, SAME %lu, DIFFERS %lu",
		       fs, path == PATH_NATIVE ? "FIDEDUPERANGE" : "/dev/fidedupe",
		       atomic_load(&st->calls), atomic_load(&st->calls) / took,
		       atomic_load(&st->failed_calls), atomic_load(&st->bytes) >> 20,
		       atomic_load(&st->max_ms), atomic_load(&st->same), atomic_load(&st->differs));
		for (e = 1; e < 160; e++)
			if (atomic_load(&st->errors[e]))
				printf(", %s %lu", strerror(e), atomic_load(&st->errors[e]));
		printf("\n");
	}
	printf("%sok 1 stress.%s.no_byte_changed\n", changed ? "not " : "", fs);
	printf("# Totals: pass:%u fail:%u xfail:0 xpass:0 skip:0 error:0\n", !changed, !!changed);
	return changed ? 1 : 0;
}
