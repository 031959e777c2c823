// SPDX-License-Identifier: GPL-2.0
/*
 * Real, unmodified clients of FIDEDUPERANGE: xfs_io's "dedupe" command and
 * duperemove, on btrfs and xfs.  They call the kernel's own ioctl, so they
 * reach fidedupe only through fidedupe_livepatch.
 *
 * The guest runs this program twice: first without the livepatch
 * (mainline's C), recording what duperemove shared and which errors it
 * reported in FIDEDUPE_CLIENTS_BASELINE.<fs>; then with the livepatch
 * (FIDEDUPE_LIVEPATCH=1), where the same tree must end up sharing the same
 * bytes, with no error the first run did not report, and where xfs_io
 * must show fidedupe's rules.  No file's data may change in either run.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "dedupe_util.h"

FIXTURE(clients) {
	char dir[PATH_MAX / 2];
	const char *fs;
	bool livepatch;		/* FIDEDUPERANGE goes through fidedupe */
};

FIXTURE_VARIANT(clients) {
	const char *fs;
};

/* Both go through the native path: FIDEDUPERANGE on the source. */
FIXTURE_VARIANT_ADD(clients, btrfs_native) { .fs = "btrfs" };
FIXTURE_VARIANT_ADD(clients, xfs_native) { .fs = "xfs" };

FIXTURE_SETUP(clients)
{
	snprintf(self->dir, sizeof(self->dir), "%s/%s/c.XXXXXX",
		 fidedupe_mnt_root(), variant->fs);
	ASSERT_NE(NULL, mkdtemp(self->dir)) TH_LOG("mkdtemp %s: %m", self->dir);
	self->fs = variant->fs;
	self->livepatch = livepatch_expected();
	if (self->livepatch)
		ASSERT_TRUE(livepatch_complete());
	if (!self->livepatch)
		ASSERT_NE(1, livepatch_attr("enabled"));
}

FIXTURE_TEARDOWN(clients)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", self->dir);
	if (system(cmd))
		TH_LOG("could not remove %s", self->dir);
}

/* Runs @cmd with stderr joined to stdout; its output in @out, its status. */
static int run(const char *cmd, char *out, size_t size)
{
	char full[2 * PATH_MAX];
	size_t used = 0, n;
	FILE *p;

	snprintf(full, sizeof(full), "%s 2>&1", cmd);
	p = popen(full, "r");
	if (!p)
		return -1;
	while (used + 1 < size && (n = fread(out + used, 1, size - 1 - used, p)) > 0)
		used += n;
	out[used] = '\0';
	/* Drain what did not fit so that the command can finish. */
	while (fread(full, 1, sizeof(full), p) > 0)
		;
	return pclose(p);
}

/* "<dir>/<name>", made with @len bytes of pattern @seed. */
static int client_file(struct _test_data_clients *self, const char *name,
		       size_t len, uint64_t seed)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s", self->dir, name);
	return make_file(p, len, seed);
}

/* xfs_io -c "dedupe <dir>/src 0 0 LEN" <dir>/dst; its output in @out. */
static void xfs_io_dedupe(struct _test_data_clients *self, size_t len,
			  char *out, size_t size)
{
	char cmd[2 * PATH_MAX];

	snprintf(cmd, sizeof(cmd), "xfs_io -c 'dedupe %s/src 0 0 %zu' '%s/dst'",
		 self->dir, len, self->dir);
	run(cmd, out, size);
}

TEST_F(clients, xfs_io_same)
{
	const size_t len = 256 * KiB;
	int src = client_file(self, "src", len, 1);
	int dst = client_file(self, "dst", len, 1);
	long long before = stat_counter("calls_fideduperange");
	uint64_t sum = file_checksum(dst);
	char out[4096], want[64];

	ASSERT_LE(0, src);
	ASSERT_LE(0, dst);
	ASSERT_LE(0, before);
	xfs_io_dedupe(self, len, out, sizeof(out));
	snprintf(want, sizeof(want), "deduped %zu/%zu bytes at offset 0", len, len);
	EXPECT_NE(NULL, strstr(out, want)) TH_LOG("xfs_io said: %s", out);
	EXPECT_EQ((int64_t)len, shared_bytes(dst, 0, len));
	EXPECT_EQ(sum, file_checksum(dst));
	/* Only the livepatch sends xfs_io's call through fidedupe. */
	EXPECT_EQ(self->livepatch, stat_counter("calls_fideduperange") > before);
}

TEST_F(clients, xfs_io_differs)
{
	const size_t len = 256 * KiB;
	int src = client_file(self, "src", len, 1);
	int dst = client_file(self, "dst", len, 1);
	uint64_t sum;
	char out[4096];

	ASSERT_LE(0, src);
	ASSERT_LE(0, dst);
	ASSERT_EQ(0, write_pattern(dst, len - 4 * KiB, 4 * KiB, 7));
	ASSERT_EQ(0, fsync(dst));
	sum = file_checksum(dst);
	xfs_io_dedupe(self, len, out, sizeof(out));
	EXPECT_NE(NULL, strstr(out, "Extents did not match")) TH_LOG("xfs_io said: %s", out);
	EXPECT_EQ(0, shared_bytes(dst, 0, len));
	EXPECT_EQ(sum, file_checksum(dst));
}

TEST_F(clients, xfs_io_partial_block)
{
	/*
	 * 4097 bytes short of EOF: mainline shares the partial block and
	 * reports 4097; fidedupe dedupes whole blocks only, reports 4096,
	 * and xfs_io's retry of the last byte gets 0.
	 */
	const size_t len = 64 * KiB;
	int src = client_file(self, "src", len, 1);
	int dst = client_file(self, "dst", len, 1);
	uint64_t sum = file_checksum(dst);
	char out[4096];

	ASSERT_LE(0, src);
	ASSERT_LE(0, dst);
	xfs_io_dedupe(self, 4097, out, sizeof(out));
	EXPECT_NE(NULL, strstr(out, self->livepatch ? "deduped 4096/4097 bytes" :
						     "deduped 4097/4097 bytes"))
		TH_LOG("xfs_io said: %s", out);
	EXPECT_EQ(sum, file_checksum(dst));
}

/* The tree duperemove works on: duplicates, near-duplicates, unique files. */
static const struct {
	const char *name;
	size_t len;
	uint64_t seed;
	size_t poke;	/* if non-zero: 4 KiB of other data at this offset */
} tree[] = {
	{ "a", 2 * MiB, 1, 0 },
	{ "b", 2 * MiB, 1, 0 },			/* duplicate of a */
	{ "sub/c", 2 * MiB, 1, 0 },		/* duplicate in a subdirectory */
	{ "near", 2 * MiB, 1, 1 * MiB },	/* differs in one 4 KiB block */
	{ "tail", 2 * MiB + 100, 1, 0 },	/* a's data and a partial block */
	{ "half", 1 * MiB, 1, 0 },		/* a's first MiB */
	{ "unique", 2 * MiB, 40, 0 },
	{ "small", 3000, 1, 0 },		/* shorter than a block */
};

#define TREE_FILES ARRAY_SIZE(tree)

/* A line duperemove printed that reports a problem. */
static bool is_error_line(const char *line)
{
	return strcasestr(line, "error") || strcasestr(line, "fail") ||
	       strcasestr(line, "warn");
}

/*
 * Writes duperemove's problem lines of @out to @f, one "error <line>" each,
 * with the tree's directory (different in every run) replaced by "<tree>".
 */
static void write_error_lines(FILE *f, char *out, const char *dir)
{
	size_t dlen = strlen(dir);
	char *line, *save, *at;

	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!is_error_line(line))
			continue;
		fputs("error ", f);
		while ((at = strstr(line, dir))) {
			fwrite(line, 1, at - line, f);
			fputs("<tree>", f);
			line = at + dlen;
		}
		fprintf(f, "%s\n", line);
	}
}

/* The "error ..." lines of @path that are not in @baseline; -1 on failure. */
static int new_error_lines(struct __test_metadata *_metadata, const char *path,
			   const char *baseline)
{
	char line[1024], old[1024];
	int count = 0;
	FILE *f = fopen(path, "r"), *b;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		bool found = false;

		if (strncmp(line, "error ", 6))
			continue;
		b = fopen(baseline, "r");
		if (!b) {
			fclose(f);
			return -1;
		}
		while (!found && fgets(old, sizeof(old), b))
			found = !strcmp(old, line);
		fclose(b);
		if (!found) {
			TH_LOG("new: %s", line);
			count++;
		}
	}
	fclose(f);
	return count;
}

TEST_F_TIMEOUT(clients, duperemove_tree, 300)
{
	char path[PATH_MAX], base[PATH_MAX], now[PATH_MAX], cmd[PATH_MAX];
	static char out[1 << 16];
	uint64_t sum[TREE_FILES];
	int64_t shared[TREE_FILES];
	long long before = stat_counter("calls_fideduperange");
	const char *baseline = getenv("FIDEDUPE_CLIENTS_BASELINE");
	unsigned int i;
	FILE *f;

	ASSERT_NE(NULL, baseline) TH_LOG("FIDEDUPE_CLIENTS_BASELINE is not set");
	ASSERT_LE(0, before);
	snprintf(path, sizeof(path), "%s/sub", self->dir);
	ASSERT_EQ(0, mkdir(path, 0755));
	for (i = 0; i < TREE_FILES; i++) {
		int fd = client_file(self, tree[i].name, tree[i].len, tree[i].seed);

		ASSERT_LE(0, fd) TH_LOG("%s", tree[i].name);
		if (tree[i].poke)
			ASSERT_EQ(0, write_pattern(fd, tree[i].poke, 4 * KiB, 99));
		ASSERT_EQ(0, fsync(fd));
		sum[i] = file_checksum(fd);
		close(fd);
	}

	snprintf(cmd, sizeof(cmd), "duperemove -dr '%s'", self->dir);
	EXPECT_EQ(0, run(cmd, out, sizeof(out))) TH_LOG("duperemove: %s", out);

	for (i = 0; i < TREE_FILES; i++) {
		int fd;

		snprintf(path, sizeof(path), "%s/%s", self->dir, tree[i].name);
		fd = open(path, O_RDONLY);
		ASSERT_LE(0, fd);
		EXPECT_EQ(sum[i], file_checksum(fd)) TH_LOG("%s changed", tree[i].name);
		shared[i] = shared_bytes(fd, 0, tree[i].len);
		close(fd);
	}
	/* duperemove shared the duplicates, through the livepatch if loaded. */
	EXPECT_EQ((int64_t)tree[1].len, shared[1]);
	EXPECT_EQ(self->livepatch, stat_counter("calls_fideduperange") > before);

	/* This run's sharing and problem lines, in the baseline's format. */
	snprintf(base, sizeof(base), "%s.%s", baseline, self->fs);
	snprintf(now, sizeof(now), "%s.%s%s", baseline, self->fs,
		 self->livepatch ? ".livepatch" : "");
	f = fopen(now, "w");
	ASSERT_NE(NULL, f) TH_LOG("%s: %m", now);
	for (i = 0; i < TREE_FILES; i++)
		fprintf(f, "shared %s %lld\n", tree[i].name, (long long)shared[i]);
	write_error_lines(f, out, self->dir);
	fclose(f);
	if (!self->livepatch)
		return;

	/* With the livepatch: the same sharing, no problem line not seen before. */
	f = fopen(base, "r");
	ASSERT_NE(NULL, f) TH_LOG("no baseline %s: run without the livepatch first", base);
	for (i = 0; i < TREE_FILES; i++) {
		char name[64];
		long long was;

		ASSERT_EQ(2, fscanf(f, "shared %63s %lld\n", name, &was));
		ASSERT_STREQ(tree[i].name, name);
		EXPECT_EQ(was, shared[i]) TH_LOG("%s: %lld bytes shared without the livepatch",
						 name, was);
	}
	fclose(f);
	EXPECT_EQ(0, new_error_lines(_metadata, now, base));
}

TEST_HARNESS_MAIN
