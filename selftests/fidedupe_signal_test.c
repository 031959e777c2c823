// SPDX-License-Identifier: GPL-2.0
/*
 * dedupe selftests: interruption by fatal signals, non-fatal signals,
 * concurrent callers and writers, on btrfs and xfs.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "dedupe_fixture.h"

/*
 * Forks a child that dedupes [0, @len) of @src into @count destinations,
 * all @dst at 0, through the fixture's path, with the records in @r (which
 * may be shared memory the parent reads).  With @ready >= 0, the child
 * writes a byte to it just before the call.
 */
static pid_t start_call(dedupe_fixture *self, int src, int dst, size_t len,
			unsigned int count, struct file_dedupe_range *r, int ready)
{
	pid_t pid = fork();
	unsigned int i;

	if (pid == 0) {
		range_set(r, 0, len, count);
		for (i = 0; i < count; i++)
			range_dest(r, i, dst, 0);
		if (ready >= 0 && write(ready, "", 1) != 1)
			_exit(2);
		_exit(fixture_dedupe(self, src, r) ? 1 : 0);
	}
	return pid;
}

/*
 * Seconds one call with one destination takes through FIDEDUPERANGE, the
 * destination differing from the source in its last byte.  The call must
 * succeed and answer DIFFERS, which it can only once it compared the whole
 * range: a call that failed, or stopped early, would time nothing, and the
 * bounds derived from it would hold whatever the call under test does.
 */
static double native_call_seconds(struct __test_metadata *_metadata,
				  int src, int dst, size_t len)
{
	struct file_dedupe_range *r = range_alloc(1);
	double started, seconds;
	int ret;

	ASSERT_NE(NULL, r);
	range_set(r, 0, len, 1);
	range_dest(r, 0, dst, 0);
	started = now_seconds();
	ret = ioctl(src, FIDEDUPERANGE, r) ? -errno : 0;
	seconds = now_seconds() - started;
	ASSERT_EQ(0, ret) TH_LOG("FIDEDUPERANGE: %s", strerror(-ret));
	ASSERT_EQ(FILE_DEDUPE_RANGE_DIFFERS, r->info[0].status);
	free(r);
	return seconds;
}

TEST_F_TIMEOUT(dedupe, sigkill_during_long_call, 600)
{
	/*
	 * One destination of 96 MiB whose last byte differs: the whole range
	 * is compared.  Its duration on the native path, T, is measured here
	 * first.  The caller is killed at T/4 and must be reaped within T/2
	 * by the Rust implementation, which checks for a fatal signal before every
	 * chunk (16 MiB, T/6): a check between destinations alone would take
	 * the rest of the destination, about 3T/4.  mainline compares the
	 * destination to its end (its cache warm: no killable read either):
	 * the reap waits for the rest, at least 3T/5 after the call began.
	 */
	const size_t len = 96 * MiB;
	struct file_dedupe_range *r = range_alloc(1);
	int src = fixture_file(self, "src", len, 1);
	int dst = fixture_file(self, "dst", len, 1);
	uint64_t sum_src, sum_dst;
	double entered, killed, reaped, t, t2;
	int wstatus, ready[2];
	pid_t pid;
	char c;

	ASSERT_LE(0, src);
	ASSERT_LE(0, dst);
	ASSERT_EQ(1, pwrite(dst, "!", 1, len - 1));
	ASSERT_EQ(0, fsync(dst));
	sum_src = file_checksum(src);
	sum_dst = file_checksum(dst);
	t = native_call_seconds(_metadata, src, dst, len);
	t2 = native_call_seconds(_metadata, src, dst, len);
	t = t2 < t ? t2 : t;
	/*
	 * The kill is timed from the child's entry into the call, not from
	 * fork(): on a loaded host the child may not run at once, and a kill
	 * before the call would end it at once, on any path.
	 */
	ASSERT_EQ(0, pipe(ready));
	pid = start_call(self, src, dst, len, 1, r, ready[1]);
	ASSERT_LT(0, pid);
	close(ready[1]);
	ASSERT_EQ(1, read(ready[0], &c, 1));
	entered = now_seconds();
	close(ready[0]);
	usleep((useconds_t)(t * 1e6 / 4));
	killed = now_seconds();
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &wstatus, 0));
	reaped = now_seconds();
	ASSERT_TRUE(WIFSIGNALED(wstatus)) TH_LOG("the call finished before the kill");
	EXPECT_EQ(SIGKILL, WTERMSIG(wstatus));
	TH_LOG("%s: one destination %.3f s natively; killed %.3f s in, reaped %.3f s later",
	       self->mainline_rules ? "mainline" : "rust", t, killed - entered,
	       reaped - killed);
	if (self->mainline_rules) {
		/*
		 * The kill does not shorten mainline's call: from its entry to
		 * the reap it takes about T, whenever the kill came.  At least
		 * 3T/5: a stop at the kill at T/4 would take at most a 16 MiB
		 * chunk (T/6) more, and the child's exit, which with xfs's T of
		 * half a second under TCG made T/2 too low a bar to catch such
		 * a stop.  Counted from the entry, not from the kill, so that a
		 * kill that came late, the parent's sleep stretched by
		 * the host's load (TCG, other VMs), moves the bound with it
		 * rather than failing a call that ran to its end; and the
		 * killed call may still run twice as fast as the faster timed
		 * one.
		 */
		EXPECT_LE(t * 3 / 5, reaped - entered) TH_LOG("mainline's call ended at the kill");
		EXPECT_GT(2 * t + 5.0, reaped - killed);
	} else {
		EXPECT_GT(t / 2, reaped - killed);
	}
	EXPECT_EQ(sum_src, file_checksum(src));
	EXPECT_EQ(sum_dst, file_checksum(dst));
	free(r);
}

/*
 * What a caller killed mid-call leaves in its records, seen from another
 * process sharing the memory (the killed caller never sees its return
 * value).  mainline pre-fills every record with SAME and 0 bytes, stops
 * after the destination in progress, returns 0, and fs/ioctl.c copies the
 * array back: the destinations never attempted read as SAME with 0 bytes.
 * Rust returns EINTR, and fs/ioctl.c copies nothing back.
 */
#ifdef FIDEDUPE_OUT_OF_TREE
/*
 * Through /dev/fidedupe the records done so far have been written and
 * the rest are untouched.
 */
#endif
TEST_F_TIMEOUT(dedupe, sigkill_leaves_records, 600)
{
	const size_t len = 24 * MiB;
	/*
	 * Killed after about two destinations' time, of 48: a margin wide
	 * enough that a burst of load on the host cannot let the call finish
	 * first (with 12 and a kill after four, it once did under TCG with
	 * two other VMs running).
	 */
	const unsigned int count = 48;
	size_t size = sizeof(struct file_dedupe_range) +
		      count * sizeof(struct file_dedupe_range_info);
	struct file_dedupe_range *r;
	int src = fixture_file(self, "src", len, 1);
	int dst = fixture_file(self, "dst", len, 1);
	unsigned int i, done = 0, untouched = 0, prefilled = 0, interrupted = 0;
	double t;
	int wstatus;
	pid_t pid;

	ASSERT_LE(0, src);
	ASSERT_LE(0, dst);
	r = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, r);
	/*
	 * One destination's time, on this path, after a first (sharing) call.
	 * Each must succeed and dedupe the whole range: a call that failed
	 * would time nothing, and the kill would come too early to show
	 * anything.
	 */
	for (i = 0; i < 2; i++) {
		t = now_seconds();
		pid = start_call(self, src, dst, len, 1, r, -1);
		ASSERT_LT(0, pid);
		ASSERT_EQ(pid, waitpid(pid, &wstatus, 0));
		t = now_seconds() - t;
		ASSERT_TRUE(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0);
		ASSERT_EQ(FILE_DEDUPE_RANGE_SAME, r->info[0].status);
		ASSERT_EQ(len, r->info[0].bytes_deduped);
	}

	pid = start_call(self, src, dst, len, count, r, -1);
	ASSERT_LT(0, pid);
	usleep((useconds_t)(t * 1e6 * 2));
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &wstatus, 0));
	ASSERT_TRUE(WIFSIGNALED(wstatus)) TH_LOG("the call finished before the kill");
	for (i = 0; i < count; i++) {
		struct file_dedupe_range_info *info = &r->info[i];

		if (info->status == FILE_DEDUPE_RANGE_SAME && info->bytes_deduped == len) {
			EXPECT_EQ(i, done) TH_LOG("record %u done after one that was not", i);
			done++;
		} else if (info->status == FILE_DEDUPE_RANGE_SAME && info->bytes_deduped == 0) {
			prefilled++;
		} else if (info->status == 0x5a5a5a5a &&
			   info->bytes_deduped == 0xdeadbeefdeadbeefULL) {
			untouched++;
		} else if (info->status == -EINTR && i == done) {
			/*
			 * The destination in progress, when the filesystem's
			 * own killable wait (reading an uncached page) saw the
			 * signal.
			 */
			interrupted++;
		} else {
			TH_LOG("record %u: status %d, %llu bytes", i, info->status,
			       (unsigned long long)info->bytes_deduped);
		}
	}
	TH_LOG("%u records done, %u interrupted, %u prefilled, %u untouched",
	       done, interrupted, prefilled, untouched);
	EXPECT_EQ(count, done + interrupted + prefilled + untouched);
	if (self->mainline_rules) {
		EXPECT_EQ(0, untouched);
		EXPECT_LT(0, prefilled);
#ifdef FIDEDUPE_OUT_OF_TREE
	} else if (self->path == PATH_MODULE) {
		EXPECT_EQ(0, prefilled);
		EXPECT_LT(0, untouched);
#endif
	} else {
		EXPECT_EQ(count, untouched);
	}
	munmap(r, size);
}

/*
 * A copy of [0, @len) of @from as "<dir>/<name>", written in 64 KiB
 * O_DIRECT pieces, each followed by one to "<name>.pad", so that the
 * filesystem allocates it in many extents.  Returns it open for reading
 * and writing, or -errno.
 */
static int fragmented_copy(dedupe_fixture *self, const char *name, int from, size_t len)
{
	const size_t piece = 64 * KiB;
	char p[PATH_MAX], pad_path[PATH_MAX + 4];
	int fd, pad, ret = 0;
	void *buf = NULL;
	size_t off;

	snprintf(p, sizeof(p), "%s/%s", self->dir, name);
	snprintf(pad_path, sizeof(pad_path), "%s.pad", p);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_DIRECT, 0644);
	pad = open(pad_path, O_WRONLY | O_CREAT | O_TRUNC | O_DIRECT, 0644);
	if (fd < 0 || pad < 0 || posix_memalign(&buf, 4096, piece))
		ret = -errno;
	for (off = 0; !ret && off < len; off += piece)
		if (pread(from, buf, piece, off) != piece || pwrite(fd, buf, piece, off) != piece ||
		    pwrite(pad, buf, piece, off) != piece)
			ret = -EIO;
	free(buf);
	if (pad >= 0)
		close(pad);
	if (fd >= 0)
		close(fd);
	return ret ? ret : open(p, O_RDWR);
}

/*
 * One destination of 96 MiB (six chunks), identical to the source and
 * sharing nothing yet, its caller killed half-way through the time a
 * whole comparison takes; its record is in shared memory, read once the
 * caller is gone, and compared with the extents FIEMAP reports shared.
 *
 * Rust writes the destination in progress back as the filesystem's
 * own killable wait would end it: -EINTR, with the bytes the filesystem
 * reported shared before the signal.  The chunk in progress may be
 * shared in part or whole without being counted (btrfs_clone() and xfs's
 * xfs_reflink_remap_blocks() return -EINTR after remapping some of it,
 * xfs without counting the extent it just remapped): FIEMAP may show up
 * to one chunk more.  Through FIDEDUPERANGE, mainline stops after the
 * destination in progress, returns 0 and fs/ioctl.c copies the record
 * back, with -EINTR and 0 bytes however much was shared (or SAME and the
 * length if the filesystem finished first); Rust returns EINTR and
 * fs/ioctl.c copies nothing back.
 *
 * Who sees the signal first depends on the filesystem.  btrfs checks
 * between extent items, and a source written in one piece is one extent
 * per chunk, so Rust's check before the next chunk sees it.  xfs
 * checks after every extent it remaps, so xfs sees it; with a source of
 * many extents (written in pieces here) it then returns a short count,
 * the bytes of the extents before the signal, which must read as -EINTR
 * too, not as SAME.
 */
TEST_F_TIMEOUT(dedupe, sigkill_writes_back_destination_in_progress, 600)
{
	const size_t len = 96 * MiB;
	struct file_dedupe_range *r;
	struct file_dedupe_range_info *info;
	int src = fixture_file(self, "src", len, 1);
	int dst = fixture_file(self, "dst", len, 1);
	int cmp = fixture_file(self, "cmp", len, 1);
	uint64_t sum_src, sum_dst;
	struct fiemap_extent *ext = NULL;
	int64_t shared;
	int wstatus, ready[2], extents;
	double t;
	pid_t pid;
	char c;

	ASSERT_LE(0, src);
	ASSERT_LE(0, dst);
	ASSERT_LE(0, cmp);
	if (!strcmp(self->fs, "xfs")) {
		int whole = src;

		src = fragmented_copy(self, "src.pieces", whole, len);
		close(whole);
		ASSERT_LE(0, src) TH_LOG("fragmented copy: %s", strerror(-src));
		extents = file_extents(src, 0, len, &ext);
		free(ext);
		ASSERT_LE(6 * 16, extents) TH_LOG("the source is %d extents", extents);
	}
	ASSERT_EQ(1, pwrite(cmp, "!", 1, len - 1));
	/* No writeback in the calls: the filesystems flush a range first. */
	ASSERT_EQ(0, fsync(src));
	ASSERT_EQ(0, fsync(dst));
	ASSERT_EQ(0, fsync(cmp));
	ASSERT_EQ(0, shared_bytes(dst, 0, len));
	sum_src = file_checksum(src);
	sum_dst = file_checksum(dst);
	r = mmap(NULL, sizeof(*r) + sizeof(*info), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, r);
	info = &r->info[0];
	/* The time of a whole comparison that shares nothing. */
	t = native_call_seconds(_metadata, src, cmp, len);

	ASSERT_EQ(0, pipe(ready));
	pid = start_call(self, src, dst, len, 1, r, ready[1]);
	ASSERT_LT(0, pid);
	close(ready[1]);
	ASSERT_EQ(1, read(ready[0], &c, 1));
	close(ready[0]);
	usleep((useconds_t)(t * 1e6 / 2));
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &wstatus, 0));
	ASSERT_TRUE(WIFSIGNALED(wstatus)) TH_LOG("the call finished before the kill");
	shared = shared_bytes(dst, 0, len);
	ASSERT_LE(0, shared) TH_LOG("FIEMAP: %s", strerror((int)-shared));
	TH_LOG("killed at %.3f s of %.3f s: status %d, %llu bytes deduped, %lld shared",
	       t / 2, t, info->status, (unsigned long long)info->bytes_deduped,
	       (long long)shared);
	if (self->mainline_rules) {
		/* The length asked for with SAME, 0 with an error. */
		EXPECT_EQ(info->status == FILE_DEDUPE_RANGE_SAME ? len : 0, info->bytes_deduped);
		EXPECT_TRUE(info->status == FILE_DEDUPE_RANGE_SAME || info->status == -EINTR);
#ifdef FIDEDUPE_OUT_OF_TREE
	} else if (self->path == PATH_MODULE) {
		const uint64_t chunk = CHUNK_BYTES;

		EXPECT_EQ(-EINTR, info->status);
		/*
		 * Killed once something was shared; the count may still be 0
		 * if xfs saw the signal in the first chunk and lost it.
		 */
		EXPECT_LT(0, shared);
		EXPECT_LE(info->bytes_deduped, (uint64_t)shared);
		EXPECT_LE((uint64_t)shared, info->bytes_deduped + chunk);
#endif
	} else {
		EXPECT_EQ(0x5a5a5a5a, info->status);
		EXPECT_EQ(0xdeadbeefdeadbeefULL, info->bytes_deduped);
	}
	EXPECT_EQ(sum_src, file_checksum(src));
	EXPECT_EQ(sum_dst, file_checksum(dst));
	munmap(r, sizeof(*r) + sizeof(*info));
}

#ifdef FIDEDUPE_OUT_OF_TREE
/*
 * 65535 destinations of length 0 through /dev/fidedupe: each passes every
 * check and reaches no chunk, so only the check after each destination
 * can see a fatal signal.  Killed at a quarter of the call's time, the
 * caller leaves every record after the destination in progress untouched.
 */
TEST_F_TIMEOUT(dedupe, sigkill_between_destinations_without_chunks, 300)
{
	const unsigned int count = 65535;
	size_t size = sizeof(struct file_dedupe_range) +
		      count * sizeof(struct file_dedupe_range_info);
	struct file_dedupe_range *r;
	int src = fixture_file(self, "src", 64 * KiB, 1);
	int dst = fixture_file(self, "dst", 64 * KiB, 1);
	unsigned int i, done = 0, untouched = 0;
	double t;
	int wstatus;
	pid_t pid;

	if (self->path == PATH_NATIVE)
		SKIP(return, "FIDEDUPERANGE takes 127 destinations at most (one page): too short a walk to kill");
	ASSERT_LE(0, src);
	ASSERT_LE(0, dst);
	r = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, r);
	t = now_seconds();
	pid = start_call(self, src, dst, 0, count, r, -1);
	ASSERT_LT(0, pid);
	ASSERT_EQ(pid, waitpid(pid, &wstatus, 0));
	t = now_seconds() - t;
	/* The timed call walked every record: the last one is done too. */
	ASSERT_TRUE(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0);
	ASSERT_EQ(FILE_DEDUPE_RANGE_SAME, r->info[count - 1].status);
	ASSERT_EQ(0, r->info[count - 1].bytes_deduped);

	pid = start_call(self, src, dst, 0, count, r, -1);
	ASSERT_LT(0, pid);
	usleep((useconds_t)(t * 1e6 / 4));
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &wstatus, 0));
	ASSERT_TRUE(WIFSIGNALED(wstatus)) TH_LOG("the call finished before the kill");
	for (i = 0; i < count; i++) {
		struct file_dedupe_range_info *info = &r->info[i];

		if (info->status == FILE_DEDUPE_RANGE_SAME && info->bytes_deduped == 0 &&
		    i == done)
			done++;
		else if (info->status == 0x5a5a5a5a &&
			 info->bytes_deduped == 0xdeadbeefdeadbeefULL)
			untouched++;
	}
	TH_LOG("one call %.3f s; killed at a quarter: %u records done, %u untouched",
	       t, done, untouched);
	EXPECT_EQ(count, done + untouched);
	EXPECT_LT(0, untouched);
	munmap(r, size);
}
#endif

static atomic_int usr1_handled;

static void on_usr1(int sig)
{
	atomic_fetch_add(&usr1_handled, 1);
}

TEST_F_TIMEOUT(dedupe, non_fatal_signal_does_not_interrupt, 300)
{
	/*
	 * A child sends SIGUSR1, which the caller handles, every 2 ms and
	 * logs when; at least one must be sent while the caller is inside the
	 * ioctl (so that it is pending there) and the call still completes.
	 */
	const size_t len = 4 * MiB;
	const unsigned int count = 16, max_sends = 4096;
	struct file_dedupe_range *r = range_alloc(count);
	int src = fixture_file(self, "src", len, 1);
	int dst = fixture_file(self, "dst", len, 1);
	struct sigaction sa = { .sa_handler = on_usr1 };
	unsigned int i, same = 0, inside = 0;
	pid_t pid, parent = getpid();
	double *sent, entered, left;
	int handled;

	ASSERT_LE(0, src);
	ASSERT_LE(0, dst);
	sent = mmap(NULL, (max_sends + 1) * sizeof(double), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, sent);
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	range_set(r, 0, len, count);
	for (i = 0; i < count; i++)
		range_dest(r, i, dst, 0);
	pid = fork();
	if (pid == 0) {
		/* Not past the caller, should it fail: it holds self->dev. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(0);
		/* sent[max_sends] is the parent's request to stop. */
		for (i = 0; i < max_sends && !sent[max_sends]; i++) {
			sent[i] = now_seconds();
			kill(parent, SIGUSR1);
			usleep(2000);
		}
		_exit(0);
	}
	ASSERT_LT(0, pid);
	usleep(20 * 1000);
	handled = atomic_load(&usr1_handled);
	entered = now_seconds();
	ASSERT_EQ(0, fixture_dedupe(self, src, r));
	left = now_seconds();
	sent[max_sends] = 1;
	waitpid(pid, NULL, 0);
	for (i = 0; i < max_sends && sent[i]; i++)
		inside += sent[i] > entered && sent[i] < left;
	for (i = 0; i < count; i++)
		same += r->info[i].status == FILE_DEDUPE_RANGE_SAME &&
			r->info[i].bytes_deduped == len;
	TH_LOG("the call took %.3f s; %u signals sent during it", left - entered, inside);
	EXPECT_LT(0, inside);
	EXPECT_LT(handled, atomic_load(&usr1_handled));
	EXPECT_EQ(count, same);
	munmap(sent, (max_sends + 1) * sizeof(double));
	free(r);
}

/*
 * Drops @fd's pages from the page cache once they are written back: with
 * POSIX_FADV_DONTNEED, or where that fails (no fadvise64() with
 * CONFIG_ADVISE_SYSCALLS=n, as in the tinyconfig test kernel) through
 * vm.drop_caches, which drops every clean page.  0, or an errno.
 */
static int drop_page_cache(int fd)
{
	int ret, sysctl;

	if (fsync(fd))
		return errno;
	if (!posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED))
		return 0;
	sysctl = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
	if (sysctl < 0)
		return errno;
	ret = write(sysctl, "1", 1) == 1 ? 0 : errno;
	close(sysctl);
	return ret;
}

/*
 * A frozen filesystem: a call waits for the thaw before any destination,
 * because write access to the destination's mount (with freeze protection)
 * is taken before the filesystem compares anything, so even a destination
 * whose data differ, which needs no transaction, is not answered.  After
 * FITHAW the call completes.
 *
 * What shows that the differing destination was not compared while frozen,
 * on every path: its first page, dropped from the page cache beforehand,
 * is still out of it (the filesystem's compare reads it back in, and after
 * the thaw it has).  FIDEDUPERANGE's fs/ioctl.c copies the records out
 * only when the call returns, so the record shows nothing before that: it
 * is not asserted.
 */
#ifdef FIDEDUPE_OUT_OF_TREE
/*
 * Through /dev/fidedupe, which writes each record back as soon as its
 * destination is done, the record also still holds the poison.
 */
#endif
TEST_F_TIMEOUT(dedupe, freeze_waits_for_thaw, 300)
{
	const size_t len = 1 * MiB, page = getpagesize();
	size_t size = sizeof(struct file_dedupe_range) +
		      2 * sizeof(struct file_dedupe_range_info);
	struct file_dedupe_range *r;
	int src = fixture_file(self, "src", len, 1);
	int differs = fixture_file(self, "differs", len, 2);
	int same = fixture_file(self, "same", len, 1);
	char mnt[PATH_MAX];
	int root, wstatus, blocked, thawed, cached_while_frozen;
#ifdef FIDEDUPE_OUT_OF_TREE
	uint32_t status_while_frozen;
#endif
	unsigned char vec = 0;
	void *differs_map;
	pid_t pid;

	ASSERT_LE(0, src);
	ASSERT_LE(0, differs);
	ASSERT_LE(0, same);
	r = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, r);
	range_set(r, 0, len, 2);
	range_dest(r, 0, differs, 0);
	range_dest(r, 1, same, 0);
	/* Never touched: mincore() reports the page cache, faults nothing in. */
	differs_map = mmap(NULL, page, PROT_READ, MAP_SHARED, differs, 0);
	ASSERT_NE(MAP_FAILED, differs_map);
	ASSERT_EQ(0, drop_page_cache(differs));
	ASSERT_EQ(0, mincore(differs_map, page, &vec));
	ASSERT_EQ(0, vec & 1) TH_LOG("the first page of \"differs\" stayed in the page cache");
	snprintf(mnt, sizeof(mnt), "%s/%s", fidedupe_mnt_root(), self->fs);
	root = open(mnt, O_RDONLY | O_DIRECTORY);
	ASSERT_LE(0, root);
	ASSERT_EQ(0, ioctl(root, FIFREEZE, 0)) TH_LOG("FIFREEZE %s: %m", mnt);
	pid = fork();
	if (pid == 0)
		_exit(fixture_dedupe(self, src, r) ? 1 : 0);
	usleep(500 * 1000);
	blocked = pid > 0 && waitpid(pid, &wstatus, WNOHANG) == 0;
#ifdef FIDEDUPE_OUT_OF_TREE
	status_while_frozen = r->info[0].status;
#endif
	cached_while_frozen = mincore(differs_map, page, &vec) ? -errno : vec & 1;
	/* Thaw before any assertion can end the test. */
	thawed = ioctl(root, FITHAW, 0);
	close(root);
	ASSERT_EQ(0, thawed);
	ASSERT_LT(0, pid);
	EXPECT_TRUE(blocked) TH_LOG("the call returned on a frozen filesystem");
	EXPECT_EQ(0, cached_while_frozen)
		TH_LOG("the differing destination was read on a frozen filesystem");
#ifdef FIDEDUPE_OUT_OF_TREE
	if (self->path == PATH_MODULE)
		EXPECT_EQ(0x5a5a5a5a, status_while_frozen);
#endif
	if (blocked)
		ASSERT_EQ(pid, waitpid(pid, &wstatus, 0));
	EXPECT_EQ(0, WEXITSTATUS(wstatus));
	EXPECT_EQ(FILE_DEDUPE_RANGE_DIFFERS, r->info[0].status);
	EXPECT_EQ(FILE_DEDUPE_RANGE_SAME, r->info[1].status);
	EXPECT_EQ(len, r->info[1].bytes_deduped);
	/* The probe sees a compare: after the thaw, the page was read. */
	ASSERT_EQ(0, mincore(differs_map, page, &vec));
	EXPECT_EQ(1, vec & 1) TH_LOG("the compare left no page of \"differs\" in the page cache");
	munmap(differs_map, page);
	munmap(r, size);
}

struct worker {
	dedupe_fixture *self;
	int src, dst;
	size_t len;
	int failures;
	atomic_bool *stop;
};

static void *dedupe_worker(void *arg)
{
	struct worker *w = arg;
	uint64_t bytes;
	int32_t status;

	while (!*w->stop) {
		if (dedupe_one(w->self, w->src, 0, w->len, w->dst, 0, &status, &bytes) ||
		    (status != FILE_DEDUPE_RANGE_SAME && status != FILE_DEDUPE_RANGE_DIFFERS))
			w->failures++;
	}
	return NULL;
}

TEST_F_TIMEOUT(dedupe, concurrent_callers_and_writer, 300)
{
	/*
	 * Four threads dedupe src (pattern 1) into dst while the main thread
	 * rewrites dst with pattern 2 and back, ending with pattern 2.  Dedupe
	 * may share whatever is equal at the time, but no byte of either file
	 * may change except by the writer: at the end dst holds pattern 2.
	 */
	const size_t len = 1 * MiB;
	int src = fixture_file(self, "src", len, 1);
	int dst = fixture_file(self, "dst", len, 1);
	int ref2 = fixture_file(self, "ref2", len, 2);
	uint64_t sum1 = file_checksum(src), sum2 = file_checksum(ref2);
	atomic_bool stop = false;
	struct worker w[4];
	pthread_t t[4];
	int i;

	for (i = 0; i < 4; i++) {
		w[i] = (struct worker){ self, src, dst, len, 0, &stop };
		ASSERT_EQ(0, pthread_create(&t[i], NULL, dedupe_worker, &w[i]));
	}
	for (i = 0; i < 10; i++) {
		ASSERT_EQ(0, write_pattern(dst, 0, len, i % 2 ? 1 : 2));
		usleep(50 * 1000);
	}
	ASSERT_EQ(0, write_pattern(dst, 0, len, 2));
	ASSERT_EQ(0, fsync(dst));
	stop = true;
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		EXPECT_EQ(0, w[i].failures);
	}
	EXPECT_EQ(sum1, file_checksum(src));
	EXPECT_EQ(sum2, file_checksum(dst));
}

#ifdef FIDEDUPE_OUT_OF_TREE
TEST_F(dedupe, debugfs_counters)
{
	/*
	 * One call, three destinations (SAME, DIFFERS, EBADF): the counters
	 * move by exactly that when fidedupe serves the call, through
	 * /dev/fidedupe or through FIDEDUPERANGE with the livepatch (which
	 * calls_fideduperange counts too), and not at all when mainline's C
	 * does.
	 */
	const size_t len = 64 * KiB;
	struct file_dedupe_range *r = range_alloc(3);
	int src = fixture_file(self, "src", len, 1);
	int same = fixture_file(self, "same", len, 1);
	int other = fixture_file(self, "other", len, 2);
	static const char * const names[] = { "calls", "calls_fideduperange",
		"destinations", "destinations_same", "destinations_differs",
		"bytes_deduped", "errors_EBADF" };
	long long before[7], want[7] = { 1, self->path == PATH_NATIVE, 3, 1, 1, len, 1 };
	int i;

	for (i = 0; i < 7; i++) {
		before[i] = stat_counter(names[i]);
		ASSERT_LE(0, before[i]) TH_LOG("no counter %s", names[i]);
	}
	range_set(r, 0, len, 3);
	range_dest(r, 0, same, 0);
	range_dest(r, 1, other, 0);
	range_dest(r, 2, -1, 0);
	ASSERT_EQ(0, fixture_dedupe(self, src, r));
	for (i = 0; i < 7; i++) {
		const char *name = names[i];
		long long moved = stat_counter(name) - before[i];

		EXPECT_EQ(WANT(0, want[i]), moved) TH_LOG("counter %s", name);
	}
	free(r);
}
#endif

TEST_HARNESS_MAIN
