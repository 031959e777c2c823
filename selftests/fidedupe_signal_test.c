// SPDX-License-Identifier: GPL-2.0
/*
 * fidedupe selftests: interruption by fatal signals, non-fatal signals,
 * concurrent callers and writers, and the debugfs counters, on btrfs and
 * xfs, through both paths.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <time.h>
#include <sys/wait.h>

#include "dedupe_fixture.h"

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Long call: @count destinations of @len bytes each, same file pair. */
static pid_t start_long_call(struct dedupe_fixture *self, int src, int dst,
			     size_t len, unsigned int count)
{
	pid_t pid = fork();

	if (pid == 0) {
		struct file_dedupe_range *r = range_alloc(count);
		unsigned int i;

		range_set(r, 0, len, count);
		for (i = 0; i < count; i++)
			range_dest(r, i, dst, 0);
		_exit(dedupe_via(self->path, self->dev, src, r) ? 1 : 0);
	}
	return pid;
}

TEST_F_TIMEOUT(dedupe, sigkill_during_long_call, 600)
{
	/*
	 * 64 destinations of 32 MiB: minutes of work under emulation.  The
	 * killed caller must be reaped promptly and both files intact.  On the
	 * module path the bound is one chunk; mainline stops only between
	 * destinations, so the native path gets a looser bound.
	 */
	const size_t len = 32 * MiB;
	int src = fixture_file(self, "src", len, 1);
	int dst = fixture_file(self, "dst", len, 1);
	uint64_t sum_src = file_checksum(src), sum_dst = file_checksum(dst);
	double killed, reaped;
	int wstatus;
	pid_t pid;

	ASSERT_LE(0, src);
	ASSERT_LE(0, dst);
	pid = start_long_call(self, src, dst, len, 64);
	ASSERT_LT(0, pid);
	usleep(1500 * 1000);
	killed = now_seconds();
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &wstatus, 0));
	reaped = now_seconds();
	ASSERT_TRUE(WIFSIGNALED(wstatus)) TH_LOG("the call finished before the kill");
	EXPECT_EQ(SIGKILL, WTERMSIG(wstatus));
	TH_LOG("%s: reaped %.3f s after SIGKILL", self->mainline_rules ?
	       "mainline" : "fidedupe", reaped - killed);
	EXPECT_GT(WANT(60.0, 10.0), reaped - killed);
	EXPECT_EQ(sum_src, file_checksum(src));
	EXPECT_EQ(sum_dst, file_checksum(dst));
}

static void on_usr1(int sig)
{
}

TEST_F_TIMEOUT(dedupe, non_fatal_signal_does_not_interrupt, 300)
{
	/* A handled SIGUSR1 arrives mid-call; the call still completes. */
	const size_t len = 4 * MiB;
	const unsigned int count = 16;
	struct file_dedupe_range *r = range_alloc(count);
	int src = fixture_file(self, "src", len, 1);
	int dst = fixture_file(self, "dst", len, 1);
	struct sigaction sa = { .sa_handler = on_usr1 };
	unsigned int i, same = 0;
	pid_t pid, parent = getpid();

	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	pid = fork();
	if (pid == 0) {
		for (i = 0; i < 50; i++) {
			usleep(20 * 1000);
			kill(parent, SIGUSR1);
		}
		_exit(0);
	}
	range_set(r, 0, len, count);
	for (i = 0; i < count; i++)
		range_dest(r, i, dst, 0);
	ASSERT_EQ(0, dedupe_via(self->path, self->dev, src, r));
	for (i = 0; i < count; i++)
		same += r->info[i].status == FILE_DEDUPE_RANGE_SAME &&
			r->info[i].bytes_deduped == len;
	EXPECT_EQ(count, same);
	waitpid(pid, NULL, 0);
	free(r);
}

struct worker {
	struct dedupe_fixture *self;
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
	ASSERT_EQ(0, dedupe_via(self->path, self->dev, src, r));
	for (i = 0; i < 7; i++) {
		const char *name = names[i];
		long long moved = stat_counter(name) - before[i];

		EXPECT_EQ(WANT(0, want[i]), moved) TH_LOG("counter %s", name);
	}
	free(r);
}

TEST_HARNESS_MAIN
