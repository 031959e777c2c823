// SPDX-License-Identifier: GPL-2.0
/*
 * fidedupe_bench - both dedupe paths side by side in one boot: mainline's
 * FIDEDUPERANGE (native) and /dev/fidedupe (module), interleaved in blocks
 * so that drift hits both alike.  Prints tab-separated rows:
 *
 *   latency   FS PATH median_us p99_us calls
 *   throughput FS PATH MiB_per_s bytes reps
 *   scaling   FS PATH dest_count us_per_dest status
 *   kill      FS PATH median_ms max_ms samples dest_mib
 *
 * usage: fidedupe_bench DIR FS   (DIR on a mounted btrfs or xfs)
 */
#define _GNU_SOURCE
#include <signal.h>
#include <time.h>
#include <sys/wait.h>

#include "../selftests/dedupe_util.h"

static const char *const path_name[] = { "native", "module" };
static int dev;

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double percentile(double *v, size_t n, double p)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return v[(size_t)(p * (n - 1))];
}

static int file_in(const char *dir, const char *name, size_t len, uint64_t seed)
{
	char p[4096];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return make_file(p, len, seed);
}

/* One call with @count destinations (all @dst at 0); returns its time in µs. */
static double timed_call(enum dedupe_path path, int src, int dst, size_t len,
			 unsigned int count, int *bad)
{
	struct file_dedupe_range *r = range_alloc(count);
	unsigned int i;
	double t;
	int ret;

	range_set(r, 0, len, count);
	for (i = 0; i < count; i++)
		range_dest(r, i, dst, 0);
	t = now_us();
	ret = dedupe_via(path, dev, src, r);
	t = now_us() - t;
	*bad = ret;
	for (i = 0; !ret && i < count; i++)
		if (r->info[i].status != FILE_DEDUPE_RANGE_SAME)
			*bad = r->info[i].status;
	free(r);
	return t;
}

static void bench_latency(const char *dir, const char *fs)
{
	enum { BLOCKS = 20, PER_BLOCK = 100 };
	static double t[2][BLOCKS * PER_BLOCK];
	int src = file_in(dir, "lat-src", 4096 * 16, 1);
	int dst = file_in(dir, "lat-dst", 4096 * 16, 1);
	int b, i, p, bad;

	for (b = 0; b < BLOCKS; b++)
		for (p = 0; p < 2; p++)
			for (i = 0; i < PER_BLOCK; i++)
				t[p][b * PER_BLOCK + i] =
					timed_call(p, src, dst, 4096, 1, &bad);
	for (p = 0; p < 2; p++)
		printf("latency\t%s\t%s\t%.1f\t%.1f\t%d\n", fs, path_name[p],
		       percentile(t[p], BLOCKS * PER_BLOCK, 0.5),
		       percentile(t[p], BLOCKS * PER_BLOCK, 0.99), BLOCKS * PER_BLOCK);
	close(src);
	close(dst);
}

static void bench_throughput(const char *dir, const char *fs, size_t len)
{
	enum { REPS = 6 };
	double total[2] = { 0, 0 };
	int src = file_in(dir, "tp-src", len, 2);
	int dst = file_in(dir, "tp-dst", len, 2);
	int r, p, bad;

	/* Warm the page cache; the first call also does the sharing. */
	file_checksum(src);
	file_checksum(dst);
	timed_call(PATH_NATIVE, src, dst, len, 1, &bad);
	for (r = 0; r < REPS; r++)
		for (p = 0; p < 2; p++)
			total[(p + r) % 2] += timed_call((p + r) % 2, src, dst, len, 1, &bad);
	for (p = 0; p < 2; p++)
		printf("throughput\t%s\t%s\t%.1f\t%zu\t%d\n", fs, path_name[p],
		       REPS * (len / (double)MiB) / (total[p] / 1e6), len, REPS);
	close(src);
	close(dst);
}

static void bench_scaling(const char *dir, const char *fs)
{
	static const unsigned int counts[] = { 1, 8, 32, 127, 128, 1024, 8192, 65535 };
	int src = file_in(dir, "sc-src", 4096, 3);
	int dst = file_in(dir, "sc-dst", 4096, 3);
	unsigned int i;
	int p, bad;

	for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
		for (p = 0; p < 2; p++) {
			double t = timed_call(p, src, dst, 4096, counts[i], &bad);

			printf("scaling\t%s\t%s\t%u\t%.2f\t%d\n", fs, path_name[p],
			       counts[i], bad ? 0 : t / counts[i], bad);
		}
	close(src);
	close(dst);
}

/* SIGKILL a caller deduping destinations that differ only at the end. */
static void bench_kill(const char *dir, const char *fs, size_t len, int samples)
{
	static double t[2][64];
	int src = file_in(dir, "kill-src", len, 4);
	int dst = file_in(dir, "kill-dst", len, 4);
	int s, p;

	if (pwrite(dst, "!", 1, len - 1) != 1 || fsync(dst))
		perror("kill-dst");
	file_checksum(src);
	file_checksum(dst);
	for (s = 0; s < samples; s++)
		for (p = 0; p < 2; p++) {
			int bad, wstatus;
			pid_t pid = fork();
			double k;

			if (pid == 0) {
				timed_call(p, src, dst, len, 64, &bad);
				_exit(0);
			}
			usleep(200 * 1000);
			k = now_us();
			kill(pid, SIGKILL);
			waitpid(pid, &wstatus, 0);
			t[p][s] = (now_us() - k) / 1000;
		}
	for (p = 0; p < 2; p++) {
		double max = percentile(t[p], samples, 1.0);

		printf("kill\t%s\t%s\t%.1f\t%.1f\t%d\t%zu\n", fs, path_name[p],
		       percentile(t[p], samples, 0.5), max, samples,
		       (size_t)(len / MiB));
	}
	close(src);
	close(dst);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s DIR FS\n", argv[0]);
		return 2;
	}
	dev = open("/dev/fidedupe", O_RDWR);
	if (dev < 0) {
		perror("/dev/fidedupe");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	bench_latency(argv[1], argv[2]);
	bench_throughput(argv[1], argv[2], 256 * MiB);
	bench_scaling(argv[1], argv[2]);
	bench_kill(argv[1], argv[2], 512 * MiB, 20);
	return 0;
}
