// SPDX-License-Identifier: GPL-2.0
/*
 * Real, unmodified clients of FIDEDUPERANGE on btrfs and xfs: xfs_io's
 * "dedupe" command, duperemove, jdupes -B, rmlint's clone handler and
 * stress-ng's file-ioctl stressor.  They call the kernel's own ioctl, so
 * they reach fidedupe only through fidedupe_livepatch.
 *
 * The guest runs this program twice: first without the livepatch
 * (mainline's C), recording what each client did in
 * FIDEDUPE_CLIENTS_BASELINE.<fs>.<client> (its exit status, the bytes
 * every file of its tree shares, the problem lines it printed); then with
 * the livepatch (FIDEDUPE_LIVEPATCH=1), where each client must do exactly
 * that again, and where xfs_io must show fidedupe's rules.  No file's data
 * may change in either run.
 *
 * scripts/deps.sh installs every client, so a client missing from the PATH
 * fails its case: in the project's runs, a SKIP would hide a broken
 * set-up.  Outside the project, FIDEDUPE_ALLOW_MISSING_CLIENTS=1 makes a
 * missing client a SKIP instead.
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

/*
 * The fixture's data, as helper functions take it: FIXTURE_DATA(clients)
 * under a name that checkpatch reads as a type.
 */
#define clients_fixture FIXTURE_DATA(clients)

FIXTURE_VARIANT(clients) {
	const char *fs;
};

/* Both go through the native path: FIDEDUPERANGE on the source. */
FIXTURE_VARIANT_ADD(clients, btrfs_native) { .fs = "btrfs" };
FIXTURE_VARIANT_ADD(clients, xfs_native) { .fs = "xfs" };

FIXTURE_SETUP(clients)
{
	char why[640];

	if (!have_prerequisites(variant->fs, why, sizeof(why)))
		SKIP(return, "%s", why);
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
static int client_file(clients_fixture *self, const char *name,
		       size_t len, uint64_t seed)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s", self->dir, name);
	return make_file(p, len, seed);
}

/* @program is on the PATH. */
static bool have_program(const char *program)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "command -v '%s' >/dev/null 2>&1", program);
	return system(cmd) == 0;
}

/* FIDEDUPE_ALLOW_MISSING_CLIENTS=1: a missing client is a SKIP. */
static bool missing_clients_allowed(void)
{
	const char *v = getenv("FIDEDUPE_ALLOW_MISSING_CLIENTS");

	return v && !strcmp(v, "1");
}

/*
 * Whether @program is missing, and the case ends: a SKIP with
 * FIDEDUPE_ALLOW_MISSING_CLIENTS=1, else a failure (the assertion ends
 * the case here).
 */
static bool client_missing(struct __test_metadata *_metadata, const char *program)
{
	bool installed = have_program(program);

	if (!installed && missing_clients_allowed())
		SKIP(return true, "%s is not installed", program);
	ASSERT_TRUE(installed)
		TH_LOG("%s is not installed: scripts/deps.sh installs it (FIDEDUPE_ALLOW_MISSING_CLIENTS=1 makes it a SKIP)",
		       program);
	return false;
}

/* xfs_io -c "dedupe <dir>/src 0 0 LEN" <dir>/dst; its output in @out. */
static void xfs_io_dedupe(clients_fixture *self, size_t len,
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

	if (client_missing(_metadata, "xfs_io"))
		return;

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

	if (client_missing(_metadata, "xfs_io"))
		return;

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

	if (client_missing(_metadata, "xfs_io"))
		return;

	ASSERT_LE(0, src);
	ASSERT_LE(0, dst);
	xfs_io_dedupe(self, 4097, out, sizeof(out));
	EXPECT_NE(NULL, strstr(out, self->livepatch ? "deduped 4096/4097 bytes" :
						     "deduped 4097/4097 bytes"))
		TH_LOG("xfs_io said: %s", out);
	EXPECT_EQ(sum, file_checksum(dst));
}

/* A tree file without a block of other data. */
#define NO_POKE UINT64_MAX

/*
 * Longer than one request may be: mainline's 1 GiB, max_request_bytes.
 * Sparse (make_big_file()): data in the first MiB and from BIG_DATA_AT on.
 */
#define BIG_LEN (1026 * MiB)
#define BIG_DATA_AT (1023 * MiB)
#define BIG_DATA (1 * MiB + BIG_LEN - BIG_DATA_AT)

/*
 * The tree the tree clients work on, <dir>/tree: duplicates,
 * near-duplicates and unique files.  What a client shared is measured
 * between each file and its twin; @dup says that the two hold the same
 * bytes, so that a client that dedupes whole duplicate files must share
 * all of them and nothing else.
 */
static const struct tree_file {
	const char *name;
	uint64_t len;
	uint64_t seed;
	uint64_t poke;		/* 4 KiB of other data at this offset */
	const char *twin;
	bool dup;
	bool big;		/* sparse, see make_big_file() */
} tree[] = {
	{ "a", 2 * MiB, 1, NO_POKE, "b", .dup = true },
	{ "b", 2 * MiB, 1, NO_POKE, "a", .dup = true },
	{ "sub/c", 2 * MiB, 1, NO_POKE, "a", .dup = true },	/* in a subdirectory */
	{ "first", 2 * MiB, 1, 0, "a" },			/* a's but the first block */
	{ "near", 2 * MiB, 1, 1 * MiB, "a" },			/* but a middle block */
	{ "last", 2 * MiB, 1, 2 * MiB - 4 * KiB, "a" },		/* but the last block */
	{ "tail", 2 * MiB + 100, 1, NO_POKE, "a" },		/* a and a partial block */
	{ "tail2", 2 * MiB + 100, 1, NO_POKE, "tail", .dup = true },
	{ "half", 1 * MiB, 1, NO_POKE, "a" },			/* a's first MiB */
	{ "unique", 2 * MiB, 40, NO_POKE, "a" },
	{ "small", 3000, 1, NO_POKE, "small2", .dup = true },	/* shorter than a block */
	{ "small2", 3000, 1, NO_POKE, "small", .dup = true },
	{ "big", BIG_LEN, 50, NO_POKE, "big2", .dup = true, .big = true },
	{ "big2", BIG_LEN, 50, NO_POKE, "big", .dup = true, .big = true },
};

#define TREE_FILES ARRAY_SIZE(tree)

/*
 * Which files of the tree a client gets.  duperemove gets no big file: it
 * matches 128 KiB blocks, not whole files, and the big files are there
 * for the requests of the whole-file clients past the cap.
 */
enum tree_kind {
	NO_TREE,
	SMALL_TREE,	/* all but the big files */
	FULL_TREE,
};

static bool in_tree(enum tree_kind kind, const struct tree_file *t)
{
	return kind == FULL_TREE || (kind == SMALL_TREE && !t->big);
}

/* The bytes of @t that are not a hole: all a dedupe can share of it. */
static int64_t data_bytes(const struct tree_file *t)
{
	return t->big ? (int64_t)BIG_DATA : (int64_t)t->len;
}

/* What a client left behind. */
struct tree_result {
	int status;			/* the command's, as system() gives it */
	uint64_t sum[TREE_FILES];	/* before the client */
	int64_t shared[TREE_FILES];	/* bytes at another file's disk address */
	int64_t twin[TREE_FILES];	/* bytes at the twin's disk address */
};

static void tree_path(clients_fixture *self, const char *name,
		      char *p, size_t size)
{
	snprintf(p, size, "%s/tree/%s", self->dir, name);
}

static int tree_open(clients_fixture *self, const char *name)
{
	char p[PATH_MAX];

	tree_path(self, name, p, sizeof(p));
	return open(p, O_RDONLY);
}

/* FIEMAP gives the disk address of @e's data, and it is not in metadata. */
static bool extent_addressed(const struct fiemap_extent *e)
{
	return !(e->fe_flags & (FIEMAP_EXTENT_UNKNOWN | FIEMAP_EXTENT_DATA_INLINE |
				FIEMAP_EXTENT_ENCODED));
}

/*
 * Bytes of [0, @len) that the extents @ea and @eb map to the same disk
 * address at the same offset: what a dedupe between the two shared,
 * whichever was the source.
 */
static int64_t same_address_bytes(const struct fiemap_extent *ea, int na,
				  const struct fiemap_extent *eb, int nb, uint64_t len)
{
	int64_t total = 0;
	int i = 0, j = 0;

	while (i < na && j < nb) {
		const struct fiemap_extent *x = &ea[i], *y = &eb[j];
		uint64_t xend = x->fe_logical + x->fe_length;
		uint64_t yend = y->fe_logical + y->fe_length;
		uint64_t s = x->fe_logical > y->fe_logical ? x->fe_logical : y->fe_logical;
		uint64_t t = xend < yend ? xend : yend;

		if (t > len)
			t = len;
		/* Offset s maps to the same address in both: so does the rest. */
		if (t > s && extent_addressed(x) && extent_addressed(y) &&
		    x->fe_physical - x->fe_logical == y->fe_physical - y->fe_logical)
			total += t - s;
		if (xend <= yend)
			i++;
		else
			j++;
	}
	return total;
}

/* Disk addresses [start, end). */
struct disk_range {
	uint64_t start, end;
};

static int disk_range_cmp(const void *a, const void *b)
{
	const struct disk_range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/*
 * Bytes of [0, @len) of the extents @e whose disk address is in one of
 * @ranges, @count of them, sorted by start.
 */
static int64_t bytes_in_ranges(const struct fiemap_extent *e, int n, uint64_t len,
			       const struct disk_range *ranges, size_t count)
{
	int64_t total = 0;
	size_t k;
	int i;

	for (i = 0; i < n; i++) {
		uint64_t start = e[i].fe_physical, end;

		if (!extent_addressed(&e[i]) || e[i].fe_logical >= len)
			continue;
		end = start + e[i].fe_length;
		if (e[i].fe_logical + e[i].fe_length > len)
			end = start + (len - e[i].fe_logical);
		for (k = 0; k < count && ranges[k].start < end; k++) {
			uint64_t s = start > ranges[k].start ? start : ranges[k].start;
			uint64_t t = end < ranges[k].end ? end : ranges[k].end;

			if (t > s)
				total += t - s;
		}
	}
	return total;
}

/*
 * Makes <dir>/tree/<name>, @len bytes past the 1 GiB cap, as a hole but
 * for pattern @seed in its first MiB and in [BIG_DATA_AT, @len), which
 * straddles the cap and ends at EOF: a client that stops at 1 GiB leaves
 * the last 2 MiB unshared.  Two files made so hold the same bytes and
 * share no block; file_checksum() reads their 4 MiB of data, not 2 GiB
 * of holes.  Returns an O_RDWR fd or -errno.
 */
static int make_big_file(clients_fixture *self, const char *name,
			 uint64_t len, uint64_t seed)
{
	char p[PATH_MAX];
	int fd, ret;

	tree_path(self, name, p, sizeof(p));
	fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return -errno;
	ret = ftruncate(fd, len) ? -errno : 0;
	if (!ret)
		ret = write_pattern(fd, 0, 1 * MiB, seed);
	if (!ret)
		ret = write_pattern(fd, BIG_DATA_AT, len - BIG_DATA_AT, seed);
	if (ret) {
		close(fd);
		return ret;
	}
	return fd;
}

/* Makes the files of @kind in <dir>/tree, their checksums in @res. */
static void make_tree(struct __test_metadata *_metadata, clients_fixture *self,
		      enum tree_kind kind, struct tree_result *res)
{
	char p[PATH_MAX];
	unsigned int i;

	tree_path(self, "sub", p, sizeof(p));
	ASSERT_EQ(0, mkdir(p, 0755));
	for (i = 0; i < TREE_FILES; i++) {
		const struct tree_file *t = &tree[i];
		int fd;

		if (!in_tree(kind, t))
			continue;
		tree_path(self, t->name, p, sizeof(p));
		fd = t->big ? make_big_file(self, t->name, t->len, t->seed) :
			      make_file(p, t->len, t->seed);
		ASSERT_LE(0, fd) TH_LOG("%s: %s", t->name, strerror(-fd));
		if (t->poke != NO_POKE)
			ASSERT_EQ(0, write_pattern(fd, t->poke, 4 * KiB, 99));
		ASSERT_EQ(0, fsync(fd));
		res->sum[i] = file_checksum(fd);
		close(fd);
	}
}

/*
 * Per file of the tree, in @res: the bytes whose disk address another file
 * of the tree uses too, at any offset, and the bytes at its twin's address
 * at the same offset.  The first is what the client shared, block by
 * block, whichever files it made the sources; FIEMAP_EXTENT_SHARED is no
 * such measure, since btrfs sets it on the whole of an extent of which any
 * part is shared, so that it depends on the source duperemove happened to
 * pick.
 */
static void tree_sharing(struct __test_metadata *_metadata, clients_fixture *self,
			 enum tree_kind kind, struct tree_result *res)
{
	struct fiemap_extent *ext[TREE_FILES] = { NULL };
	int n[TREE_FILES] = { 0 };
	struct disk_range *ranges;
	unsigned int i, j, twin;
	size_t count, all = 0;
	int k;

	for (i = 0; i < TREE_FILES; i++) {
		int fd;

		if (!in_tree(kind, &tree[i]))
			continue;
		fd = tree_open(self, tree[i].name);
		ASSERT_LE(0, fd) TH_LOG("%s: %m", tree[i].name);
		n[i] = file_extents(fd, 0, tree[i].len, &ext[i]);
		close(fd);
		ASSERT_LE(0, n[i]) TH_LOG("FIEMAP of %s: %s", tree[i].name, strerror(-n[i]));
		all += n[i];
	}
	ranges = calloc(all + 1, sizeof(*ranges));
	ASSERT_NE(NULL, ranges);
	for (i = 0; i < TREE_FILES; i++) {
		if (!in_tree(kind, &tree[i]))
			continue;
		/* The disk ranges of every other file, sorted and merged. */
		count = 0;
		for (j = 0; j < TREE_FILES; j++)
			for (k = 0; j != i && k < n[j]; k++)
				if (extent_addressed(&ext[j][k]))
					ranges[count++] = (struct disk_range){
						ext[j][k].fe_physical,
						ext[j][k].fe_physical + ext[j][k].fe_length };
		qsort(ranges, count, sizeof(*ranges), disk_range_cmp);
		for (j = 0, k = 0; j < count; j++) {
			if (k && ranges[j].start <= ranges[k - 1].end) {
				if (ranges[j].end > ranges[k - 1].end)
					ranges[k - 1].end = ranges[j].end;
			} else {
				ranges[k++] = ranges[j];
			}
		}
		res->shared[i] = bytes_in_ranges(ext[i], n[i], tree[i].len, ranges, k);
		for (twin = 0; strcmp(tree[twin].name, tree[i].twin); twin++)
			;
		res->twin[i] = same_address_bytes(ext[i], n[i], ext[twin], n[twin],
						  tree[i].len);
	}
	free(ranges);
	for (i = 0; i < TREE_FILES; i++)
		free(ext[i]);
}

/* No file's data changed. */
static void tree_unchanged(struct __test_metadata *_metadata, clients_fixture *self,
			   enum tree_kind kind, const struct tree_result *res)
{
	unsigned int i;

	for (i = 0; i < TREE_FILES; i++) {
		const struct tree_file *t = &tree[i];
		int fd;

		if (!in_tree(kind, t))
			continue;
		fd = tree_open(self, t->name);
		ASSERT_LE(0, fd) TH_LOG("%s: %m", t->name);
		EXPECT_EQ(res->sum[i], file_checksum(fd)) TH_LOG("%s changed", t->name);
		close(fd);
	}
}

/* A line a client printed that reports a problem. */
static bool is_error_line(const char *line)
{
	return strcasestr(line, "error") || strcasestr(line, "fail") ||
	       strcasestr(line, "warn");
}

/*
 * Writes the problem lines of @out to @f, one "error <line>" each, with
 * what differs between two runs of the same client replaced: the
 * fixture's directory by "<dir>", a process id in brackets by "[pid]".
 */
static void write_error_lines(FILE *f, const char *out, const char *dir)
{
	size_t dlen = strlen(dir), n;
	char *copy = strdup(out), *line, *save;

	if (!copy) {
		fputs("error <out of memory>\n", f);
		return;
	}
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!is_error_line(line))
			continue;
		fputs("error ", f);
		while (*line) {
			n = *line == '[' ? strspn(line + 1, "0123456789") : 0;
			if (!strncmp(line, dir, dlen)) {
				fputs("<dir>", f);
				line += dlen;
			} else if (n && line[n + 1] == ']') {
				fputs("[pid]", f);
				line += n + 2;
			} else {
				fputc(*line++, f);
			}
		}
		fputc('\n', f);
	}
	free(copy);
}

/* The lines of @path that are not in @other, each logged; -1 on failure. */
static int lines_not_in(struct __test_metadata *_metadata, const char *path,
			const char *other, const char *what)
{
	char line[1024], old[1024];
	int count = 0;
	FILE *f = fopen(path, "r"), *o;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		bool found = false;

		o = fopen(other, "r");
		if (!o) {
			fclose(f);
			return -1;
		}
		while (!found && fgets(old, sizeof(old), o))
			found = !strcmp(old, line);
		fclose(o);
		if (!found) {
			TH_LOG("%s: %.*s", what, (int)strcspn(line, "\n"), line);
			count++;
		}
	}
	fclose(f);
	return count;
}

/*
 * Writes what @client did: "status N", per file of the tree "shared NAME
 * SHARED TWIN", then its problem lines.  Without the livepatch this is
 * the baseline, FIDEDUPE_CLIENTS_BASELINE.<fs>.<client>; with it, the same
 * name and ".livepatch", and it must hold the baseline's lines, no more
 * and no fewer: through fidedupe the client must report and share what
 * it did through mainline.
 */
static void check_record(struct __test_metadata *_metadata, clients_fixture *self,
			 const char *client, enum tree_kind kind,
			 const struct tree_result *res, const char *out)
{
	const char *baseline = getenv("FIDEDUPE_CLIENTS_BASELINE");
	char base[PATH_MAX - 16], now[PATH_MAX];
	unsigned int i;
	FILE *f;

	/* By default beside the filesystems, for both runs to find. */
	if (baseline)
		snprintf(base, sizeof(base), "%s.%s.%s", baseline, self->fs, client);
	else
		snprintf(base, sizeof(base), "%s/clients.%s.%s", fidedupe_mnt_root(),
			 self->fs, client);
	snprintf(now, sizeof(now), "%s%s", base, self->livepatch ? ".livepatch" : "");
	f = fopen(now, "w");
	ASSERT_NE(NULL, f) TH_LOG("%s: %m", now);
	fprintf(f, "status %d\n", res->status);
	for (i = 0; i < TREE_FILES; i++)
		if (in_tree(kind, &tree[i]))
			fprintf(f, "shared %s %lld %lld\n", tree[i].name,
				(long long)res->shared[i], (long long)res->twin[i]);
	write_error_lines(f, out, self->dir);
	fclose(f);
	if (!self->livepatch)
		return;
	ASSERT_EQ(0, access(base, R_OK))
		TH_LOG("no baseline %s: run without the livepatch first", base);
	EXPECT_EQ(0, lines_not_in(_metadata, now, base, "not without the livepatch"));
	EXPECT_EQ(0, lines_not_in(_metadata, base, now, "only without the livepatch"));
}

/*
 * Runs @cmd in <dir>, the program @client over the files of @kind in
 * <dir>/tree, and checks what every client must do: exit 0, leave every
 * file's data as it was, reach fidedupe through the livepatch only, and do
 * through fidedupe what it did through mainline (check_record()).  @res
 * for the caller's own checks of what the client shared; false if
 * @client is not installed (a SKIP, with FIDEDUPE_ALLOW_MISSING_CLIENTS=1).
 */
static bool run_client(struct __test_metadata *_metadata, clients_fixture *self,
		       const char *client, const char *cmd, enum tree_kind kind,
		       struct tree_result *res)
{
	static char out[1 << 16];
	long long before = stat_counter("calls_fideduperange"), calls;
	double started = now_seconds(), made, ran;
	char full[PATH_MAX + 512];
	unsigned int i;

	if (client_missing(_metadata, client))
		return false;
	ASSERT_LE(0, before);
	memset(res, 0, sizeof(*res));
	snprintf(full, sizeof(full), "%s/tree", self->dir);
	ASSERT_EQ(0, mkdir(full, 0755));
	if (kind != NO_TREE) {
		make_tree(_metadata, self, kind, res);
		/* What is shared after the client, the client shared. */
		tree_sharing(_metadata, self, kind, res);
		for (i = 0; i < TREE_FILES; i++) {
			ASSERT_EQ(0, res->shared[i])
				TH_LOG("%s shared before %s ran", tree[i].name, client);
		}
	}
	snprintf(full, sizeof(full), "cd '%s' && %s", self->dir, cmd);
	made = now_seconds();
	res->status = run(full, out, sizeof(out));
	ran = now_seconds();
	calls = stat_counter("calls_fideduperange") - before;
	EXPECT_EQ(0, res->status);
	if (kind != NO_TREE) {
		tree_unchanged(_metadata, self, kind, res);
		tree_sharing(_metadata, self, kind, res);
	}
	TH_LOG("%s: status %d, %lld calls through fidedupe; %.0f s, tree %.0f s, checks %.0f s",
	       client, res->status, calls, ran - made, made - started, now_seconds() - ran);
	EXPECT_EQ(self->livepatch, calls > 0);
	check_record(_metadata, self, client, kind, res, out);
	if (_metadata->exit_code != KSFT_PASS)
		TH_LOG("%s said:\n%s", client, out);
	return true;
}

TEST_F_TIMEOUT(clients, duperemove_tree, 300)
{
	struct tree_result res;

	if (!run_client(_metadata, self, "duperemove", "duperemove -dr tree", SMALL_TREE, &res))
		return;
	/* It shared the duplicates; the rest is compared with the baseline. */
	EXPECT_EQ((int64_t)tree[1].len, res.twin[1]);
}

/*
 * A client that dedupes whole duplicate files shares every duplicate pair
 * in full and nothing else, big files included, through mainline as
 * through fidedupe (which shortens no request of these clients: they ask
 * for 16 MiB at a time).
 */
static void whole_file_client(struct __test_metadata *_metadata, clients_fixture *self,
			      const char *client, const char *cmd)
{
	struct tree_result res;
	unsigned int i;

	if (!run_client(_metadata, self, client, cmd, FULL_TREE, &res))
		return;
	/* Braces: EXPECT_*() TH_LOG() is two statements. */
	for (i = 0; i < TREE_FILES; i++) {
		EXPECT_EQ(tree[i].dup ? data_bytes(&tree[i]) : 0, res.twin[i])
			TH_LOG("%s and %s", tree[i].name, tree[i].twin);
	}
}

TEST_F_TIMEOUT(clients, jdupes_tree, 600)
{
	whole_file_client(_metadata, self, "jdupes", "jdupes -r -B tree");
}

/*
 * rmlint finds the duplicates and writes a shell script whose clone
 * handler runs "rmlint --dedupe ORIGINAL DUPLICATE" for each (-c
 * sh:handler=clone is 2.9's syntax); -T df: duplicate files only, so that
 * the script removes nothing else.  -d: the script does not ask.
 */
TEST_F_TIMEOUT(clients, rmlint_tree, 600)
{
	whole_file_client(_metadata, self, "rmlint",
			  "rmlint -T df tree -o sh:rmlint.sh -c sh:handler=clone && sh rmlint.sh -d");
}

/*
 * stress-ng's file-ioctl stressor, among other ioctls, dedupes the 1 MiB
 * of its file into a second file in a loop, and asks for 65535
 * destinations (ENOMEM in fs/ioctl.c, before the VFS); it ignores what the
 * calls return, so what it shows is that it ran its time and exited 0,
 * with or without fidedupe under its calls.
 */
TEST_F_TIMEOUT(clients, stress_ng_file_ioctl, 180)
{
	struct tree_result res;

	run_client(_metadata, self, "stress-ng",
		   "stress-ng --file-ioctl 1 --timeout 10s --temp-path tree --metrics-brief",
		   NO_TREE, &res);
}

TEST_HARNESS_MAIN
