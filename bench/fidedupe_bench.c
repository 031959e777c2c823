// SPDX-License-Identifier: GPL-2.0
/*
 * fidedupe_bench - both dedupe paths side by side in one boot: mainline's
 * FIDEDUPERANGE (native) and /dev/fidedupe (module), interleaved in blocks
 * so that drift hits both alike.  Prints tab-separated rows:
 *
 *   latency   FS PATH median_us p99_us calls
 *   split     FS PATH STAGE median_us p99_us calls status
 *   throughput FS PATH MiB_per_s bytes reps
 *   scaling   FS PATH dest_count us_per_dest status calls
 *   memres    FS stat_threshold_pages cpus resolution_kib
 *   memcal    FS files expected_kib peak_sunreclaim_kib peak_vmalloc_kib
 *   memory    FS PATH MODE dest_count peak_sunreclaim_kib peak_vmalloc_kib
 *             status windows meminfo_samples
 *   kill      FS PATH median_ms max_ms samples dest_mib
 *   killnowarm FS PATH median_ms max_ms samples dest_mib dst_uncached_mib
 *   killevict FS PATH median_mib max_mib samples
 *   lpsplit   FS PATH STAGE median_us p99_us calls status
 *   lpscaling FS PATH dest_count us_per_dest status calls
 *   insns     FS PATH STAGE bad
 *
 * split: the fixed cost of a call, stage by stage (see bench_split()).
 * memory: the peak of /proc/meminfo's SUnreclaim and VmallocUsed above a
 * baseline taken just before, sampled by a thread while calls run; memres
 * is the counters' resolution from per-cpu vmstat batching, memcal a known
 * allocation (open files) seen through the same method.
 * kill: src and dst in the page cache before every call; killnowarm: dst
 * as the previous killed call left it (the median MiB of it then out of
 * the cache is the last field); killevict: dst MiB out of the cache after
 * a killed call of PATH.
 *
 * usage: fidedupe_bench DIR FS   (DIR on a mounted btrfs or xfs; as root)
 *        fidedupe_bench DIR FS split | split-4k
 *        fidedupe_bench DIR FS profile PATH STAGE CALLS
 *        fidedupe_bench DIR FS livepatch TOGGLE LIVEPATCH_KO
 *        fidedupe_bench DIR FS aa
 *        fidedupe_bench DIR FS insns ROUNDS [livepatch]
 *
 * split: the split rows alone (make ablation: one module after another);
 * split-4k: with a fifth stage, the 4 KiB call of the latency row in the
 * same interleaving (make ablation ABLATION_4K=1).
 * aa: the latency, split and scaling rows (up to 127 destinations) with
 * native on both sides, "aalatency", "aasplit" and "aascaling" rows of PATH
 * "native1" and "native2": the method's own spread.
 * livepatch: the lpsplit and lpscaling rows alone, PATH "mainline" or
 * "livepatch": FIDEDUPERANGE without and with fidedupe_livepatch.ko, which
 * TOGGLE loads and unloads (see bench_livepatch()); TOGGLE "none": PATH
 * "mainline1" or "mainline2", both without the livepatch.
 * profile: CALLS calls of STAGE ("4k": the 4 KiB call of the latency row;
 * "zerolen": the split's last stage) on PATH ("native" or "module"), after
 * as many unrecorded ones, with the tracer on (/sys/kernel/tracing's
 * tracing_on, set up by the caller) only around the recorded calls and
 * only for this process (set_ftrace_pid).  Prints "profile FS PATH STAGE
 * CALLS bad", bad being the first unexpected result (0 if none).
 * insns: ROUNDS rounds of one call per stage of split-4k and path, each
 * between the two reads of the marker page that open and close a window
 * of bench/insns_plugin.c (make insns: QEMU counts what the call ran).
 * An insns row per call, in the order of the windows; bad is 1 if the
 * call's result was not the stage's.  With "livepatch" (loaded by the
 * caller), FIDEDUPERANGE alone, its rows of PATH "livepatch": fidedupe's
 * vfs_dedupe_file_range() behind fs/ioctl.c's copy-in and copy-out.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "../selftests/dedupe_util.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const char *const path_name[] = { "native", "module" };

/*
 * The two timed sides of the latency and scaling rows: native against the
 * module, or with @aa ("aa" rows) native against native in the same
 * interleaving, the spread of the method itself.
 */
static enum dedupe_path side_path(int side, bool aa)
{
	return aa ? PATH_NATIVE : side;
}

static const char *side_name(int side, bool aa)
{
	static const char *const aa_name[] = { "native1", "native2" };

	return aa ? aa_name[side] : path_name[side];
}
static int dev;

/*
 * Calls per path in the latency rows, and per path and stage in the split
 * rows: ROW_BLOCKS blocks of BLOCK_CALLS.  In one boot on 2026-12-06, three
 * runs of native against native each put the 4 KiB p99 ratio anywhere in
 * 0.70-1.30 with 20 blocks (2000 calls), within 0.96-1.01 with 200; the
 * aa rows of every make bench show the spread of that run.
 */
enum { BLOCK_CALLS = 100, ROW_BLOCKS = 200, ROW_CALLS = ROW_BLOCKS * BLOCK_CALLS };

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

/* A request for @count destinations, all @dst at 0, of @len bytes at 0. */
static struct file_dedupe_range *range_fill(unsigned int count, int dst,
					    size_t len)
{
	struct file_dedupe_range *r = range_alloc(count);
	unsigned int i;

	range_set(r, 0, len, count);
	for (i = 0; i < count; i++)
		range_dest(r, i, dst, 0);
	return r;
}

/*
 * One call of @r; 0 if it returned 0 and every destination has status
 * @want, else the call's -errno or the first other status.
 */
static int call_range(enum dedupe_path path, int src,
		      struct file_dedupe_range *r, int want)
{
	int ret = dedupe_via(path, dev, src, r);
	unsigned int i;

	for (i = 0; !ret && i < r->dest_count; i++)
		if (r->info[i].status != want)
			ret = r->info[i].status;
	return ret;
}

/* One call with @count destinations (all @dst at 0); returns its time in µs. */
static double timed_call(enum dedupe_path path, int src, int dst, size_t len,
			 unsigned int count, int *bad)
{
	struct file_dedupe_range *r = range_fill(count, dst, len);
	double t;

	t = now_us();
	*bad = call_range(path, src, r, FILE_DEDUPE_RANGE_SAME);
	t = now_us() - t;
	free(r);
	return t;
}

static void bench_latency(const char *dir, const char *fs, bool aa)
{
	static double t[2][ROW_CALLS];
	int src = file_in(dir, "lat-src", 4096 * 16, 1);
	int dst = file_in(dir, "lat-dst", 4096 * 16, 1);
	int b, i, p, bad;

	for (b = 0; b < ROW_BLOCKS; b++)
		for (p = 0; p < 2; p++)
			for (i = 0; i < BLOCK_CALLS; i++)
				t[p][b * BLOCK_CALLS + i] =
					timed_call(side_path(p, aa), src, dst,
						   4096, 1, &bad);
	for (p = 0; p < 2; p++)
		printf("%slatency\t%s\t%s\t%.1f\t%.1f\t%d\n", aa ? "aa" : "",
		       fs, side_name(p, aa), percentile(t[p], ROW_CALLS, 0.5),
		       percentile(t[p], ROW_CALLS, 0.99), ROW_CALLS);
	close(src);
	close(dst);
}

/*
 * The fixed cost of a call, split into stages that stop earlier and earlier
 * (the 4 KiB latency above is the full call):
 *   entry:   reserved1 set, rejected before the source is looked at;
 *   source:  dest_count 0, the source and its range checked;
 *   badfd:   one destination whose fd is not open (walk, no file);
 *   zerolen: one destination, length 0: every check, no remap;
 *   4k:      one destination, 4 KiB: the whole call (in bench_split() only
 *            with @with_4k).
 */
enum { STAGES = 5 };
static const char *const stage_name[STAGES] = {
	"entry", "source", "badfd", "zerolen", "4k" };
static const int stage_ret[STAGES] = { -EINVAL, 0, -EBADF, 0, 0 };

/* The request of each stage, @dst the destination's fd. */
static void stage_ranges(struct file_dedupe_range *r[STAGES], int dst)
{
	r[0] = range_fill(0, dst, 4096);
	r[0]->reserved1 = 1;
	r[1] = range_fill(0, dst, 4096);
	r[2] = range_fill(1, 1000, 4096);
	r[3] = range_fill(1, dst, 0);
	r[4] = range_fill(1, dst, 4096);
}

/*
 * @n calls of stage @s on @path, their times from @t on; the first
 * unexpected result kept in *@bad.
 */
static void stage_calls(enum dedupe_path path, int src,
			struct file_dedupe_range *r[STAGES], int s,
			double *t, int n, int *bad)
{
	int i;

	for (i = 0; i < n; i++) {
		double t0 = now_us();
		int ret = call_range(path, src, r[s], FILE_DEDUPE_RANGE_SAME);

		t[i] = now_us() - t0;
		if (ret != stage_ret[s] && !*bad)
			*bad = ret ? ret : 1;
	}
}

/* The split rows; with @aa native on both sides ("aasplit" rows). */
static void bench_split(const char *dir, const char *fs, bool with_4k, bool aa)
{
	const int stages = with_4k ? STAGES : STAGES - 1;
	static double t[STAGES][2][ROW_CALLS];
	int src = file_in(dir, "split-src", 4096 * 16, 5);
	int dst = file_in(dir, "split-dst", 4096 * 16, 5);
	struct file_dedupe_range *r[STAGES];
	int bad[STAGES][2] = { { 0 } };
	int s, b, p;

	stage_ranges(r, dst);
	for (b = 0; b < ROW_BLOCKS; b++)
		for (s = 0; s < stages; s++)
			for (p = 0; p < 2; p++)
				stage_calls(side_path(p, aa), src, r, s,
					    &t[s][p][b * BLOCK_CALLS],
					    BLOCK_CALLS, &bad[s][p]);
	for (s = 0; s < stages; s++)
		for (p = 0; p < 2; p++)
			printf("%ssplit\t%s\t%s\t%s\t%.2f\t%.2f\t%d\t%d\n",
			       aa ? "aa" : "", fs, side_name(p, aa),
			       stage_name[s], percentile(t[s][p], ROW_CALLS, 0.5),
			       percentile(t[s][p], ROW_CALLS, 0.99), ROW_CALLS, bad[s][p]);
	for (s = 0; s < STAGES; s++)
		free(r[s]);
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

/*
 * Per-destination cost against dest_count: about 2000 destinations per path
 * and count (at least one call), in up to 10 blocks whose first path
 * alternates, like the latency rows; the median call over dest_count.
 * With @aa only the counts mainline takes (up to 127).
 */
static void bench_scaling(const char *dir, const char *fs, bool aa)
{
	enum { DESTS = 2000, MAX_BLOCKS = 10 };
	static const unsigned int counts[] = { 1, 8, 32, 127, 128, 1024, 8192, 65535 };
	static double t[2][DESTS];
	int src = file_in(dir, "sc-src", 4096, 3);
	int dst = file_in(dir, "sc-dst", 4096, 3);
	unsigned int i, calls, blocks, per_block, b, c;
	int p, q, bad[2];

	for (i = 0; i < ARRAY_SIZE(counts) && !(aa && counts[i] > 127); i++) {
		calls = DESTS / counts[i] ? DESTS / counts[i] : 1;
		blocks = calls < MAX_BLOCKS ? calls : MAX_BLOCKS;
		per_block = calls / blocks;
		calls = blocks * per_block;
		bad[0] = bad[1] = 0;
		for (b = 0; b < blocks; b++)
			for (q = 0; q < 2; q++) {
				p = (q + b) % 2;
				for (c = 0; c < per_block; c++) {
					int ret;

					t[p][b * per_block + c] =
						timed_call(side_path(p, aa),
							   src, dst, 4096,
							   counts[i], &ret);
					if (ret && !bad[p])
						bad[p] = ret;
				}
			}
		for (p = 0; p < 2; p++)
			printf("%sscaling\t%s\t%s\t%u\t%.2f\t%d\t%u\n",
			       aa ? "aa" : "", fs, side_name(p, aa), counts[i],
			       bad[p] ? 0 : percentile(t[p], calls, 0.5) / counts[i],
			       bad[p], calls);
	}
	close(src);
	close(dst);
}

/* debugfs's calls_fideduperange: calls fidedupe served through the livepatch. */
static long long fideduperange_calls(void)
{
	FILE *f = fopen("/sys/kernel/debug/fidedupe/stats", "r");
	long long calls = -1;
	char line[256];

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "calls_fideduperange %lld", &calls) == 1)
			break;
	if (f)
		fclose(f);
	return calls;
}

/* Runs "@toggle load @ko" or "@toggle unload @ko"; exits if it fails. */
static void livepatch_set(const char *toggle, const char *ko, bool on)
{
	char cmd[2 * PATH_MAX + 32];

	snprintf(cmd, sizeof(cmd), "%s %s %s >&2", toggle,
		 on ? "load" : "unload", ko);
	if (system(cmd)) {
		fprintf(stderr, "livepatch: '%s' failed\n", cmd);
		exit(1);
	}
}

/*
 * FIDEDUPERANGE itself with fidedupe's livepatch unloaded (mainline) and
 * loaded (fidedupe's vfs_dedupe_file_range()): both enter through the
 * ioctl on the source, neither through /dev/fidedupe.  The livepatch can
 * only change between blocks, so each block runs every stage of
 * bench_split() and the 4 KiB call with 1, 8, 32 and 127 destinations on
 * one path, PER_BLOCK calls each (at least one call of a count), and the
 * first path of a block alternates: one load or unload a block.  Running
 * @toggle with "load @ko" or "unload @ko" returns once the transition is
 * complete.  debugfs's calls_fideduperange must move by a livepatch
 * block's calls and stay still in a mainline block; a row's status is -1
 * if it did not.  With @toggle "none" nothing is loaded and the paths
 * are "mainline1" and "mainline2": the same blocks with no difference
 * between the paths, the method's own spread.
 */
static void bench_livepatch(const char *dir, const char *fs,
			    const char *toggle, const char *ko)
{
	enum { BLOCKS = 20, PER_BLOCK = 100, N = BLOCKS * PER_BLOCK };
	const bool unpatched = !strcmp(toggle, "none");
	const char *const lp_path_name[] = {
		unpatched ? "mainline1" : "mainline",
		unpatched ? "mainline2" : "livepatch" };
	static const unsigned int counts[] = { 1, 8, 32, 127 };
	enum { COUNTS = ARRAY_SIZE(counts) };
	static double t[STAGES][2][N], ts[COUNTS][2][N];
	int src = file_in(dir, "lp-src", 4096 * 16, 8);
	int dst = file_in(dir, "lp-dst", 4096 * 16, 8);
	struct file_dedupe_range *r[STAGES];
	int bad[STAGES][2] = { { 0 } }, bad_sc[COUNTS][2] = { { 0 } };
	unsigned int per_count[COUNTS];
	int s, b, q, p, c, i, loaded = 0;

	for (c = 0; c < COUNTS; c++)
		per_count[c] = PER_BLOCK / counts[c] ? PER_BLOCK / counts[c] : 1;
	stage_ranges(r, dst);
	for (b = 0; b < BLOCKS; b++)
		for (q = 0; q < 2; q++) {
			long long served, calls = 0;

			p = (q + b) % 2;
			if (p != loaded && !unpatched)
				livepatch_set(toggle, ko, p);
			loaded = p && !unpatched;
			served = fideduperange_calls();
			for (s = 0; s < STAGES; s++) {
				stage_calls(PATH_NATIVE, src, r, s,
					    &t[s][p][b * PER_BLOCK], PER_BLOCK,
					    &bad[s][p]);
				calls += PER_BLOCK;
			}
			for (c = 0; c < COUNTS; c++)
				for (i = 0; i < (int)per_count[c]; i++) {
					int ret;

					ts[c][p][b * per_count[c] + i] =
						timed_call(PATH_NATIVE, src, dst,
							   4096, counts[c], &ret);
					if (ret && !bad_sc[c][p])
						bad_sc[c][p] = ret;
					calls++;
				}
			served = fideduperange_calls() - served;
			if (served != (loaded ? calls : 0))
				for (s = 0; s < STAGES; s++)
					bad[s][p] = -1;
		}
	if (loaded)
		livepatch_set(toggle, ko, false);
	for (s = 0; s < STAGES; s++)
		for (p = 0; p < 2; p++)
			printf("lpsplit\t%s\t%s\t%s\t%.2f\t%.2f\t%d\t%d\n", fs,
			       lp_path_name[p], stage_name[s],
			       percentile(t[s][p], N, 0.5),
			       percentile(t[s][p], N, 0.99), N, bad[s][p]);
	for (c = 0; c < COUNTS; c++)
		for (p = 0; p < 2; p++) {
			unsigned int calls = BLOCKS * per_count[c];

			printf("lpscaling\t%s\t%s\t%u\t%.2f\t%d\t%u\n", fs,
			       lp_path_name[p], counts[c],
			       bad_sc[c][p] ? 0 :
			       percentile(ts[c][p], calls, 0.5) / counts[c],
			       bad_sc[c][p], calls);
		}
	for (s = 0; s < STAGES; s++)
		free(r[s]);
	close(src);
	close(dst);
}

/* /proc/meminfo counters sampled during calls, in KiB. */
enum { M_SUNRECLAIM, M_VMALLOC, M_N };
static const char *const meminfo_key[M_N] = { "SUnreclaim:", "VmallocUsed:" };

static void read_meminfo(int fd, long *v)
{
	char buf[8192];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	int i;

	buf[n > 0 ? n : 0] = 0;
	for (i = 0; i < M_N; i++) {
		char *s = strstr(buf, meminfo_key[i]);

		v[i] = s ? strtol(s + strlen(meminfo_key[i]), NULL, 10) : 0;
	}
}

/* A thread that keeps the peak of the counters while armed. */
static struct {
	pthread_mutex_t lock;
	int fd;
	bool stop, armed;
	long base[M_N], peak[M_N];
	unsigned long samples;
} smp = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void *sampler(void *unused)
{
	for (;;) {
		long v[M_N];
		bool stop;
		int i;

		read_meminfo(smp.fd, v);
		pthread_mutex_lock(&smp.lock);
		for (i = 0; smp.armed && i < M_N; i++)
			if (v[i] > smp.peak[i])
				smp.peak[i] = v[i];
		smp.samples += smp.armed;
		stop = smp.stop;
		pthread_mutex_unlock(&smp.lock);
		if (stop)
			return NULL;
		usleep(1000);
	}
}

/* Baseline: one reading just before the window opens. */
static void sampler_arm(void)
{
	long v[M_N];

	usleep(20 * 1000);
	read_meminfo(smp.fd, v);
	pthread_mutex_lock(&smp.lock);
	memcpy(smp.base, v, sizeof(v));
	memcpy(smp.peak, v, sizeof(v));
	smp.samples = 0;
	smp.armed = true;
	pthread_mutex_unlock(&smp.lock);
}

/*
 * Closes the window; @delta[i] = max(peak - base, earlier @delta[i]).
 * Returns the number of samples the thread took in the window.
 */
static unsigned long sampler_disarm(long *delta)
{
	unsigned long n;
	long v[M_N];
	int i;

	read_meminfo(smp.fd, v);
	pthread_mutex_lock(&smp.lock);
	smp.armed = false;
	for (i = 0; i < M_N; i++) {
		long d = (v[i] > smp.peak[i] ? v[i] : smp.peak[i]) - smp.base[i];

		if (d > delta[i])
			delta[i] = d;
	}
	n = smp.samples;
	pthread_mutex_unlock(&smp.lock);
	return n;
}

/*
 * Resolution of the counters: each CPU folds its slab and vmalloc deltas
 * into the global counter only past its vmstat threshold (in pages), so
 * the global value lags by up to threshold * cpus pages either way.
 */
static void memory_resolution(const char *fs)
{
	FILE *f = fopen("/proc/zoneinfo", "r");
	char line[256];
	int t, max = 0;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, " vm stats threshold: %d", &t) == 1 && t > max)
			max = t;
	if (f)
		fclose(f);
	printf("memres\t%s\t%d\t%ld\t%ld\n", fs, max, cpus,
	       max * cpus * sysconf(_SC_PAGESIZE) / 1024);
}

/* Object size of a slab cache from /proc/slabinfo (root only), or 0. */
static long slab_objsize(const char *name)
{
	FILE *f = fopen("/proc/slabinfo", "r");
	char line[512], cache[64];
	long active, total, size = 0;

	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63s %ld %ld %ld", cache, &active, &total,
			   &size) == 4 && !strcmp(cache, name))
			break;
		size = 0;
	}
	if (f)
		fclose(f);
	return size;
}

/*
 * A known allocation seen through the same method: @n struct files (the
 * "filp" cache) and their fd table slots, held while the window is open.
 */
static void memory_calibrate(const char *dir, const char *fs)
{
	static const int files[] = { 256, 2048, 8192 };
	static int fds[8192];
	struct rlimit rl = { 16384, 16384 };
	long objsize = slab_objsize("filp");
	char p[4096];
	unsigned int c;
	int i, n;

	snprintf(p, sizeof(p), "%s/mem-src", dir);
	if (setrlimit(RLIMIT_NOFILE, &rl))
		perror("RLIMIT_NOFILE");
	for (c = 0; c < ARRAY_SIZE(files); c++) {
		long delta[M_N] = { LONG_MIN, LONG_MIN };

		sampler_arm();
		for (n = 0; n < files[c]; n++) {
			fds[n] = open(p, O_RDONLY);
			if (fds[n] < 0)
				break;
		}
		usleep(100 * 1000);
		sampler_disarm(delta);
		for (i = 0; i < n; i++)
			close(fds[i]);
		printf("memcal\t%s\t%d\t%ld\t%ld\t%ld\n", fs, n,
		       n * (objsize + 8) / 1024, delta[M_SUNRECLAIM],
		       delta[M_VMALLOC]);
	}
}

/*
 * Peak kernel memory above the baseline while calls with @count
 * destinations run back to back for at least 100 ms, the largest of a few
 * such windows.  remap: 4 KiB identical ranges, one destination file
 * repeated; badfd: destinations whose fd is not open, so that only the
 * VFS layer's walk over the records runs.
 */
static void bench_memory(const char *dir, const char *fs)
{
	static const unsigned int counts[] = { 1, 8, 32, 127, 128, 1024, 8192, 65535 };
	static const char *const mode_name[] = { "badfd", "remap" };
	int src = file_in(dir, "mem-src", 4096, 6);
	int dst = file_in(dir, "mem-dst", 4096, 6);
	pthread_t thread;
	unsigned int i;
	int m, p, w;

	smp.fd = open("/proc/meminfo", O_RDONLY);
	if (smp.fd < 0 || pthread_create(&thread, NULL, sampler, NULL)) {
		perror("meminfo sampler");
		return;
	}
	memory_resolution(fs);
	memory_calibrate(dir, fs);
	for (m = 0; m < 2; m++) {
		long idle[M_N] = { LONG_MIN, LONG_MIN };
		unsigned long samples = 0;

		/* The noise floor: the same window with no call in it. */
		for (w = 0; w < 3; w++) {
			sampler_arm();
			usleep(100 * 1000);
			samples += sampler_disarm(idle);
		}
		printf("memory\t%s\tnone\t%s\t0\t%ld\t%ld\t0\t3\t%lu\n", fs,
		       mode_name[m], idle[M_SUNRECLAIM], idle[M_VMALLOC], samples);
		for (i = 0; i < ARRAY_SIZE(counts); i++)
			for (p = 0; p < 2; p++) {
				struct file_dedupe_range *r =
					range_fill(counts[i], m ? dst : 1000, 4096);
				int want = m ? FILE_DEDUPE_RANGE_SAME : -EBADF;
				int windows = counts[i] >= 8192 ? 1 : 3;
				long delta[M_N] = { LONG_MIN, LONG_MIN };
				unsigned long samples = 0;
				int bad = 0;

				for (w = 0; w < windows && !bad; w++) {
					double t0;

					sampler_arm();
					t0 = now_us();
					do {
						bad = call_range(p, src, r, want);
					} while (!bad && now_us() - t0 < 100e3);
					samples += sampler_disarm(delta);
				}
				printf("memory\t%s\t%s\t%s\t%u\t%ld\t%ld\t%d\t%d\t%lu\n",
				       fs, path_name[p], mode_name[m], counts[i],
				       delta[M_SUNRECLAIM], delta[M_VMALLOC], bad,
				       windows, samples);
				free(r);
			}
	}
	pthread_mutex_lock(&smp.lock);
	smp.stop = true;
	pthread_mutex_unlock(&smp.lock);
	pthread_join(thread, NULL);
	close(smp.fd);
	close(src);
	close(dst);
}

/*
 * MiB of the first @len bytes of @fd not in the page cache (mincore());
 * with @warm, reads them back in.
 */
static double uncached_mib(int fd, size_t len, bool warm)
{
	size_t pg = sysconf(_SC_PAGESIZE), n = (len + pg - 1) / pg, i, miss = 0;
	unsigned char *vec = malloc(n);
	void *map = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	char c;

	if (!vec || map == MAP_FAILED || mincore(map, len, vec)) {
		perror("mincore");
		exit(1);
	}
	for (i = 0; i < n; i++)
		if (!(vec[i] & 1)) {
			miss++;
			if (warm && pread(fd, &c, 1, i * pg) != 1)
				perror("warm");
		}
	munmap(map, len);
	free(vec);
	return miss * (double)pg / MiB;
}

/* Forks a caller deduping @src into 64 x @dst, SIGKILLs it after 200 ms. */
static double kill_one(enum dedupe_path path, int src, int dst, size_t len)
{
	int bad, wstatus;
	pid_t pid = fork();
	double k;

	if (pid == 0) {
		timed_call(path, src, dst, len, 64, &bad);
		_exit(0);
	}
	usleep(200 * 1000);
	k = now_us();
	kill(pid, SIGKILL);
	waitpid(pid, &wstatus, 0);
	return (now_us() - k) / 1000;
}

/*
 * SIGKILL a caller deduping destinations that differ only at the end.
 * kill: src and dst wholly in the page cache before every call (what a
 * killed call of either path evicted is read back first, and reported as
 * killevict); killnowarm: no warm-up between calls, so each call finds
 * dst as the previous one (of the other path) left it.
 */
static void bench_kill(const char *dir, const char *fs, size_t len,
		       int samples, int cold_samples)
{
	static double t[2][64], ev[2][64], tc[2][64], cold[2][64];
	int src = file_in(dir, "kill-src", len, 4);
	int dst = file_in(dir, "kill-dst", len, 4);
	int s, p;

	if (pwrite(dst, "!", 1, len - 1) != 1 || fsync(dst))
		perror("kill-dst");
	uncached_mib(src, len, true);
	uncached_mib(dst, len, true);
	for (s = 0; s < samples; s++)
		for (p = 0; p < 2; p++) {
			t[p][s] = kill_one(p, src, dst, len);
			ev[p][s] = uncached_mib(dst, len, true);
			uncached_mib(src, len, true);
		}
	for (s = 0; s < cold_samples; s++)
		for (p = 0; p < 2; p++) {
			cold[p][s] = uncached_mib(dst, len, false);
			tc[p][s] = kill_one(p, src, dst, len);
		}
	for (p = 0; p < 2; p++) {
		printf("kill\t%s\t%s\t%.1f\t%.1f\t%d\t%zu\n", fs, path_name[p],
		       percentile(t[p], samples, 0.5),
		       percentile(t[p], samples, 1.0), samples,
		       (size_t)(len / MiB));
		printf("killnowarm\t%s\t%s\t%.1f\t%.1f\t%d\t%zu\t%.0f\n", fs,
		       path_name[p], percentile(tc[p], cold_samples, 0.5),
		       percentile(tc[p], cold_samples, 1.0), cold_samples,
		       (size_t)(len / MiB), percentile(cold[p], cold_samples, 0.5));
		printf("killevict\t%s\t%s\t%.1f\t%.1f\t%d\n", fs, path_name[p],
		       percentile(ev[p], samples, 0.5),
		       percentile(ev[p], samples, 1.0), samples);
	}
	close(src);
	close(dst);
}

static int write_tracing(const char *name, const char *value)
{
	char p[256];
	int fd, ret;

	snprintf(p, sizeof(p), "/sys/kernel/tracing/%s", name);
	fd = open(p, O_WRONLY | O_TRUNC);
	if (fd < 0)
		return -errno;
	ret = write(fd, value, strlen(value)) < 0 ? -errno : 0;
	close(fd);
	return ret;
}

static int bench_profile(const char *dir, const char *fs, const char *path_arg,
			 const char *stage, const char *calls_arg)
{
	int path = !strcmp(path_arg, "native") ? PATH_NATIVE :
		   !strcmp(path_arg, "module") ? PATH_MODULE : -1;
	size_t len = !strcmp(stage, "4k") ? 4096 :
		     !strcmp(stage, "zerolen") ? 0 : 1;
	long calls = strtol(calls_arg, NULL, 10);
	int src = file_in(dir, "profile-src", 4096 * 16, 7);
	int dst = file_in(dir, "profile-dst", 4096 * 16, 7);
	struct file_dedupe_range *r;
	char pid[32];
	int bad = 0, ret;
	long i;

	if (path < 0 || len == 1 || calls <= 0) {
		fprintf(stderr, "profile: PATH is native or module, STAGE 4k or zerolen, CALLS > 0\n");
		return 2;
	}
	r = range_fill(1, dst, len);
	snprintf(pid, sizeof(pid), "%d", getpid());
	ret = write_tracing("set_ftrace_pid", pid);
	for (i = 0; !ret && i < 2 * calls; i++) {
		if (i == calls)
			ret = write_tracing("tracing_on", "1");
		if (!ret)
			ret = call_range(path, src, r, FILE_DEDUPE_RANGE_SAME);
		if (ret && !bad)
			bad = ret;
	}
	write_tracing("tracing_on", "0");
	printf("profile\t%s\t%s\t%s\t%ld\t%d\n", fs, path_arg, stage, calls, bad);
	free(r);
	close(src);
	close(dst);
	return bad ? 1 : 0;
}

/*
 * The marker page of bench/insns_plugin.c: a read at offset 0 opens a
 * window on this vCPU, a read at offset 64 closes it.
 */
#define INSNS_MARK 0x5a5a00000000ULL

/* A load the compiler keeps: the plugin sees it as the marker. */
static void insns_mark(const char *mark, int offset)
{
	(void)__atomic_load_n(mark + offset, __ATOMIC_SEQ_CST);
}

static int bench_insns(const char *dir, const char *fs, const char *rounds_arg,
		       bool livepatch)
{
	char *mark = mmap((void *)INSNS_MARK, 4096, PROT_READ | PROT_WRITE,
			  MAP_FIXED_NOREPLACE | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	long rounds = strtol(rounds_arg, NULL, 10), i;
	int src = file_in(dir, "insns-src", 4096 * 16, 9);
	int dst = file_in(dir, "insns-dst", 4096 * 16, 9);
	struct file_dedupe_range *r[STAGES];
	/* With the livepatch, /dev/fidedupe would run fidedupe twice over. */
	const int paths = livepatch ? 1 : 2;
	int s, p, ret, bad = 0;

	if (mark == MAP_FAILED || rounds <= 0 || src < 0 || dst < 0) {
		fprintf(stderr, "insns: ROUNDS > 0, and the marker page at %#llx\n",
			INSNS_MARK);
		return 2;
	}
	mark[128] = 1;	/* faulted in here, not inside a window */
	stage_ranges(r, dst);
	/* Warm: the page cache, the slabs, the emulator's translations. */
	for (i = 0; i < 1000; i++)
		for (s = 0; s < STAGES; s++)
			for (p = 0; p < paths; p++)
				call_range(p, src, r[s], FILE_DEDUPE_RANGE_SAME);
	for (i = 0; i < rounds; i++)
		for (s = 0; s < STAGES; s++)
			for (p = 0; p < paths; p++) {
				insns_mark(mark, 0);
				ret = dedupe_via(p, dev, src, r[s]);
				insns_mark(mark, 64);
				if (!ret && r[s]->dest_count &&
				    r[s]->info[0].status != FILE_DEDUPE_RANGE_SAME)
					ret = r[s]->info[0].status;
				printf("insns\t%s\t%s\t%s\t%d\n", fs,
				       livepatch ? "livepatch" : path_name[p],
				       stage_name[s], ret != stage_ret[s]);
				bad |= ret != stage_ret[s];
			}
	for (s = 0; s < STAGES; s++)
		free(r[s]);
	close(src);
	close(dst);
	return bad;
}

int main(int argc, char **argv)
{
	bool split_4k = argc == 4 && !strcmp(argv[3], "split-4k");
	bool split_only = split_4k || (argc == 4 && !strcmp(argv[3], "split"));
	bool livepatch = argc == 6 && !strcmp(argv[3], "livepatch");
	bool aa = argc == 4 && !strcmp(argv[3], "aa");
	bool insns_livepatch = argc == 6 && !strcmp(argv[3], "insns") &&
			       !strcmp(argv[5], "livepatch");
	bool insns = (argc == 5 && !strcmp(argv[3], "insns")) || insns_livepatch;

	if (argc != 3 && !split_only && !livepatch && !aa && !insns &&
	    !(argc == 7 && !strcmp(argv[3], "profile"))) {
		fprintf(stderr, "usage: %s DIR FS [split | split-4k | profile PATH STAGE CALLS | livepatch TOGGLE LIVEPATCH_KO | aa | insns ROUNDS [livepatch]]\n",
			argv[0]);
		return 2;
	}
	dev = open("/dev/fidedupe", O_RDWR);
	if (dev < 0) {
		perror("/dev/fidedupe");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 7)
		return bench_profile(argv[1], argv[2], argv[4], argv[5], argv[6]);
	if (insns)
		return bench_insns(argv[1], argv[2], argv[4], insns_livepatch);
	if (livepatch) {
		bench_livepatch(argv[1], argv[2], argv[4], argv[5]);
		return 0;
	}
	if (split_only) {
		bench_split(argv[1], argv[2], split_4k, false);
		return 0;
	}
	if (aa) {
		bench_latency(argv[1], argv[2], true);
		bench_split(argv[1], argv[2], false, true);
		bench_scaling(argv[1], argv[2], true);
		return 0;
	}
	bench_latency(argv[1], argv[2], false);
	bench_split(argv[1], argv[2], false, false);
	bench_throughput(argv[1], argv[2], 256 * MiB);
	bench_scaling(argv[1], argv[2], false);
	bench_memory(argv[1], argv[2]);
	bench_kill(argv[1], argv[2], 1024 * MiB, 20, 10);
	return 0;
}
