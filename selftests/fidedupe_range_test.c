// SPDX-License-Identifier: GPL-2.0
/*
 * dedupe selftests: range edges, overflow, short counts and the prefix
 * rule, on btrfs and xfs.
 *
 * The Rust implementation's chunk and request limits are 16 MiB and
 * 1 GiB.
 */
#ifdef FIDEDUPE_OUT_OF_TREE
/*
 * Out of tree, they are the module's parameters, which the run passes in
 * FIDEDUPE_CHUNK_BYTES and FIDEDUPE_MAX_REQUEST_BYTES.
 */
#endif
#define _GNU_SOURCE
#include <pthread.h>
#include <time.h>

#include "dedupe_fixture.h"


/* Two files of identical content, and their checksums. */
struct file_pair {
	int src, dst;
	uint64_t sum_src, sum_dst;
};

static struct file_pair identical_files(dedupe_fixture *self, size_t len)
{
	struct file_pair p = {
		.src = fixture_file(self, "src", len, 1),
		.dst = fixture_file(self, "dst", len, 1),
	};

	p.sum_src = file_checksum(p.src);
	p.sum_dst = file_checksum(p.dst);
	return p;
}

/* Declares src, dst, status and bytes for a test over two equal files. */
#define TWO_FILES(len)							\
	struct file_pair pair = identical_files(self, (len));		\
	int src = pair.src, dst = pair.dst;				\
	uint64_t bytes;							\
	int32_t status;							\
									\
	ASSERT_LE(0, src);						\
	ASSERT_LE(0, dst)

/* Neither file's data changed. */
#define DATA_UNCHANGED()						\
	do {								\
		EXPECT_EQ(pair.sum_src, file_checksum(src));		\
		EXPECT_EQ(pair.sum_dst, file_checksum(dst));		\
	} while (0)

TEST_F(dedupe, zero_length_succeeds)
{
	TWO_FILES(1 * MiB);

	ASSERT_EQ(0, dedupe_one(self, src, 0, 0, dst, 0, &status, &bytes));
	EXPECT_EQ(FILE_DEDUPE_RANGE_SAME, status);
	EXPECT_EQ(0, bytes);
	EXPECT_EQ(0, shared_bytes(dst, 0, 1 * MiB));
	/* At EOF, length 0 is still inside the file. */
	ASSERT_EQ(0, dedupe_one(self, src, 1 * MiB, 0, dst, 1 * MiB, &status, &bytes));
	EXPECT_EQ(FILE_DEDUPE_RANGE_SAME, status);
	DATA_UNCHANGED();
}

TEST_F(dedupe, zero_length_still_checks_files)
{
	TWO_FILES(1 * MiB);
	int dir = open(self->dir, O_RDONLY | O_DIRECTORY);

	ASSERT_EQ(0, dedupe_one(self, src, 0, 0, dir, 0, &status, &bytes));
	EXPECT_EQ(-EISDIR, status);
	ASSERT_EQ(0, dedupe_one(self, src, 0, 0, 1000, 0, &status, &bytes));
	EXPECT_EQ(-EBADF, status);
	EXPECT_EQ(-EISDIR, dedupe_one(self, dir, 0, 0, dst, 0, &status, &bytes));
	/* Past EOF is past EOF, whatever the length. */
	ASSERT_EQ(0, dedupe_one(self, src, 0, 0, dst, 2 * MiB, &status, &bytes));
	EXPECT_EQ(WANT(FILE_DEDUPE_RANGE_SAME, -EINVAL), status);
	DATA_UNCHANGED();
}

TEST_F(dedupe, block_minus_one)
{
	/*
	 * Not at EOF, so the filesystem rounds 4095 down to 0 bytes.  mainline
	 * reports SAME and the length asked for; Rust gives SAME with 0
	 * bytes only to a request of 0 bytes, and this one EINVAL.
	 */
	TWO_FILES(1 * MiB);

	ASSERT_EQ(0, dedupe_one(self, src, 0, 4095, dst, 0, &status, &bytes));
	EXPECT_EQ(WANT(FILE_DEDUPE_RANGE_SAME, -EINVAL), status);
	EXPECT_EQ(WANT(4095, 0), bytes);
	EXPECT_EQ(0, shared_bytes(dst, 0, 1 * MiB));
	DATA_UNCHANGED();
}

TEST_F(dedupe, advancing_client_terminates)
{
	/*
	 * A client that goes on while the status is SAME and fewer bytes than
	 * asked were deduped, advancing by bytes_deduped, must stop: 8191
	 * bytes not at EOF are 4096 shared, then 4095 that cannot be
	 * (EINVAL).  With SAME and 0 bytes for the second call it would spin.
	 */
	uint64_t off = 0, left = 8191, calls = 0;

	TWO_FILES(1 * MiB);

	do {
		ASSERT_EQ(0, dedupe_one(self, src, off, left, dst, off, &status, &bytes));
		calls++;
		if (status != FILE_DEDUPE_RANGE_SAME)
			break;
		ASSERT_GE(left, bytes);
		off += bytes;
		left -= bytes;
	} while (left && calls < 10);
	/* mainline claims all 8191 bytes at once: one call, none left. */
	EXPECT_EQ(WANT(1, 2), calls);
	EXPECT_EQ(WANT(FILE_DEDUPE_RANGE_SAME, -EINVAL), status);
	EXPECT_EQ(WANT(0, 4095), left);
	EXPECT_EQ(4096, shared_bytes(dst, 0, 1 * MiB));
	DATA_UNCHANGED();
}

TEST_F(dedupe, unaligned_length_rounded_down)
{
	TWO_FILES(1 * MiB);

	ASSERT_EQ(0, dedupe_one(self, src, 0, 4097, dst, 0, &status, &bytes));
	EXPECT_EQ(FILE_DEDUPE_RANGE_SAME, status);
	EXPECT_EQ(WANT(4097, 4096), bytes);
	EXPECT_EQ(4096, shared_bytes(dst, 0, 1 * MiB));
	DATA_UNCHANGED();
}

TEST_F(dedupe, unaligned_length_at_both_eofs)
{
	TWO_FILES(4097);

	ASSERT_EQ(0, dedupe_one(self, src, 0, 4097, dst, 0, &status, &bytes));
	EXPECT_EQ(FILE_DEDUPE_RANGE_SAME, status);
	EXPECT_EQ(4097, bytes);
	EXPECT_EQ(4097, shared_bytes(dst, 0, 4097));
	DATA_UNCHANGED();
}

TEST_F(dedupe, source_range_past_eof)
{
	TWO_FILES(1 * MiB);

	EXPECT_EQ(-EINVAL, dedupe_one(self, src, 4096, 1 * MiB, dst, 0, &status, &bytes));
	EXPECT_EQ(-EINVAL, dedupe_one(self, src, 2 * MiB, 0, dst, 0, &status, &bytes));
	EXPECT_EQ(0, shared_bytes(dst, 0, 1 * MiB));
	DATA_UNCHANGED();
}

TEST_F(dedupe, dest_range_past_eof)
{
	TWO_FILES(1 * MiB);

	ASSERT_EQ(0, dedupe_one(self, src, 0, 8192, dst, 1 * MiB - 4096, &status, &bytes));
	EXPECT_EQ(-EINVAL, status);
	EXPECT_EQ(0, bytes);
	EXPECT_EQ(0, shared_bytes(dst, 0, 1 * MiB));
	DATA_UNCHANGED();
}

/*
 * The two cases below fail under both implementations, and under the Rust
 * one its checked arithmetic answers first; but every one of them would
 * also fail in remap_verify_area(), at the EOF check or in the filesystem,
 * so they cannot tell checked arithmetic from wrapping arithmetic.  The
 * KUnit case range_rejects_overflow of the rules' suite pins the
 * arithmetic itself.
 */
TEST_F(dedupe, offsets_at_i64_max)
{
	TWO_FILES(1 * MiB);

	EXPECT_EQ(-EINVAL, dedupe_one(self, src, INT64_MAX, 0, dst, 0, &status, &bytes));
	EXPECT_EQ(-EINVAL, dedupe_one(self, src, INT64_MAX, 1, dst, 0, &status, &bytes));
	EXPECT_EQ(-EINVAL, dedupe_one(self, src, 0, INT64_MAX, dst, 0, &status, &bytes));
	EXPECT_EQ(-EINVAL, dedupe_one(self, src, (uint64_t)INT64_MAX + 1, 0, dst, 0,
				      &status, &bytes));
	ASSERT_EQ(0, dedupe_one(self, src, 0, 4096, dst, INT64_MAX, &status, &bytes));
	EXPECT_EQ(-EINVAL, status);
	ASSERT_EQ(0, dedupe_one(self, src, 0, 4096, dst, INT64_MAX - 100, &status, &bytes));
	EXPECT_EQ(-EINVAL, status);
	DATA_UNCHANGED();
}

TEST_F(dedupe, lengths_that_overflow)
{
	TWO_FILES(1 * MiB);

	/* len = UINT64_MAX: offset + len wraps in 64 bits. */
	EXPECT_EQ(-EINVAL, dedupe_one(self, src, 0, UINT64_MAX, dst, 0, &status, &bytes));
	EXPECT_EQ(-EINVAL, dedupe_one(self, src, 4096, UINT64_MAX - 4095, dst, 0,
				      &status, &bytes));
	/* No wrap in 64 bits, but the end is past INT64_MAX (loff_t). */
	EXPECT_EQ(-EINVAL, dedupe_one(self, src, 4096, INT64_MAX - 100, dst, 0,
				      &status, &bytes));
	ASSERT_EQ(0, dedupe_one(self, src, 0, 4096, dst, UINT64_MAX - 4095, &status, &bytes));
	EXPECT_EQ(-EINVAL, status);
	EXPECT_EQ(0, shared_bytes(dst, 0, 1 * MiB));
	DATA_UNCHANGED();
}

TEST_F(dedupe, unaligned_offset)
{
	TWO_FILES(1 * MiB);

	ASSERT_EQ(0, dedupe_one(self, src, 1, 4096, dst, 1, &status, &bytes));
	EXPECT_EQ(-EINVAL, status);
	EXPECT_EQ(0, bytes);
	DATA_UNCHANGED();
}

/*
 * One file whose second half repeats its first: 2 chunks at 0 into the
 * same file at distances below, at and above one chunk overlap, and the
 * filesystem, which sees one chunk at a time, cannot tell; at 2 chunks
 * they do not overlap and dedupe.
 */
TEST_F_TIMEOUT(dedupe, overlap_judged_on_the_whole_range, 300)
{
	uint64_t chunk = CHUNK_BYTES, len = 2 * chunk;
	uint64_t distances[] = { chunk / 2, chunk, chunk + 4096, len - 4096 };
	uint64_t sum, bytes;
	int32_t status;
	unsigned int i;
	int fd;

	/* 64 MiB with the default chunk: the small-limits run does it. */
	if (chunk > 1 * MiB)
		SKIP(return, "needs a chunk_bytes of 1 MiB at most");
	fd = fixture_file(self, "one", 2 * len, 1);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, copy_range_within(fd, 0, len, len));
	sum = file_checksum(fd);
	for (i = 0; i < ARRAY_SIZE(distances); i++) {
		ASSERT_EQ(0, dedupe_one(self, fd, 0, len, fd, distances[i], &status, &bytes));
		EXPECT_EQ(-EINVAL, status) TH_LOG("distance %llu",
						  (unsigned long long)distances[i]);
		EXPECT_EQ(0, bytes);
	}
	EXPECT_EQ(0, shared_bytes(fd, 0, 2 * len));
	ASSERT_EQ(0, dedupe_one(self, fd, 0, len, fd, len, &status, &bytes));
	EXPECT_EQ(FILE_DEDUPE_RANGE_SAME, status);
	EXPECT_EQ(len, bytes);
	EXPECT_EQ((int64_t)(2 * len), shared_bytes(fd, 0, 2 * len));
	EXPECT_EQ(sum, file_checksum(fd));
}

TEST_F(dedupe, overlapping_ranges_in_one_file)
{
	int fd = fixture_file(self, "one", 256 * KiB, 1);
	uint64_t sum, bytes;
	int32_t status;

	ASSERT_LE(0, fd);
	/* Second half = first half, so the halves dedupe with each other. */
	ASSERT_EQ(0, write_pattern(fd, 128 * KiB, 128 * KiB, 1 + (128 * KiB) / MiB));
	sum = file_checksum(fd);
	ASSERT_EQ(0, dedupe_one(self, fd, 0, 64 * KiB, fd, 32 * KiB, &status, &bytes));
	EXPECT_EQ(-EINVAL, status);
	EXPECT_EQ(0, bytes);
	ASSERT_EQ(0, dedupe_one(self, fd, 0, 128 * KiB, fd, 128 * KiB, &status, &bytes));
	EXPECT_EQ(FILE_DEDUPE_RANGE_SAME, status);
	EXPECT_EQ(128 * KiB, bytes);
	EXPECT_EQ(256 * KiB, shared_bytes(fd, 0, 256 * KiB));
	EXPECT_EQ(sum, file_checksum(fd));
}

TEST_F_TIMEOUT(dedupe, prefix_rule, 300)
{
	/*
	 * The data differ in the second chunk: Rust keeps the first chunk
	 * shared and says so (DIFFERS, bytes_deduped = one chunk); mainline
	 * compares the whole range first and shares nothing.
	 */
	uint64_t chunk = CHUNK_BYTES, len = chunk + chunk / 2;

	TWO_FILES(len);

	ASSERT_EQ(1, pwrite(dst, "!", 1, chunk + 10));
	ASSERT_EQ(0, fsync(dst));
	pair.sum_dst = file_checksum(dst);
	ASSERT_EQ(0, dedupe_one(self, src, 0, len, dst, 0, &status, &bytes));
	EXPECT_EQ(FILE_DEDUPE_RANGE_DIFFERS, status);
	EXPECT_EQ(WANT(0, chunk), bytes);
	EXPECT_EQ((int64_t)WANT(0, chunk), shared_bytes(dst, 0, len));
	DATA_UNCHANGED();
}

/*
 * A destination shorter than the request but longer than the cap: the cap
 * shortens the request before any destination is checked against it, as
 * mainline does, so the destination's EOF is checked against the shortened
 * range.  Needs a small max_request_bytes; mainline's cap is 1 GiB, so on
 * mainline the request is past the destination's EOF.
 */
TEST_F_TIMEOUT(dedupe, cap_before_destination_checks, 300)
{
	uint64_t max = MAX_REQUEST_BYTES, len = 2 * max;
	struct file_pair pair;
	uint64_t bytes;
	int32_t status;
	int src, dst;

	if (max > 64 * MiB)
		SKIP(return, "needs a max_request_bytes of 64 MiB at most");
	src = fixture_file(self, "src", len, 1);
	dst = fixture_file(self, "dst", len - max / 2, 1);
	pair.src = src;
	pair.dst = dst;
	ASSERT_LE(0, src);
	ASSERT_LE(0, dst);
	pair.sum_src = file_checksum(src);
	pair.sum_dst = file_checksum(dst);
	ASSERT_EQ(0, dedupe_one(self, src, 0, len, dst, 0, &status, &bytes));
	EXPECT_EQ(WANT(-EINVAL, FILE_DEDUPE_RANGE_SAME), status);
	EXPECT_EQ(WANT(0, max), bytes);
	EXPECT_EQ((int64_t)WANT(0, max), shared_bytes(dst, 0, len - max / 2));
	DATA_UNCHANGED();
}

#ifdef FIDEDUPE_OUT_OF_TREE
/* 1 GiB: minutes under emulation, out of the in-tree selftests. */
/*
 * The same at full size, where mainline's 1 GiB cap applies too: source
 * 1280 MiB, destination 1152 MiB, sparse but for their first MiB, request
 * 1280 MiB.  Both give SAME with 1 GiB.
 */
TEST_F_TIMEOUT(dedupe, cap_before_destination_checks_full_size, 600)
{
	const uint64_t cap = 1024 * MiB, len = 1280 * MiB;
	struct file_pair pair;
	uint64_t bytes;
	int32_t status;
	int src, dst;

	if (cap != MAX_REQUEST_BYTES)
		SKIP(return, "needs the module's default max_request_bytes");
	/* 2 GiB of page cache compared, minutes under emulation: once per path. */
	if (strcmp(self->fs, "btrfs"))
		SKIP(return, "run on btrfs only, for time");
	/*
	 * Through the livepatch the cap is btrfs_module's code, and the
	 * small-limits run through the livepatch pins its order: 150 s of
	 * the VM's time not spent a third time.
	 */
	if (livepatch_expected())
		SKIP(return, "through the livepatch at small limits only, for time");
	src = fixture_file(self, "src", 1 * MiB, 1);
	dst = fixture_file(self, "dst", 1 * MiB, 1);
	pair.src = src;
	pair.dst = dst;
	ASSERT_LE(0, src);
	ASSERT_LE(0, dst);
	ASSERT_EQ(0, ftruncate(src, len));
	ASSERT_EQ(0, ftruncate(dst, len - 128 * MiB));
	pair.sum_src = file_checksum(src);
	pair.sum_dst = file_checksum(dst);
	ASSERT_EQ(0, dedupe_one(self, src, 0, len, dst, 0, &status, &bytes));
	EXPECT_EQ(FILE_DEDUPE_RANGE_SAME, status);
	EXPECT_EQ(cap, bytes);
	EXPECT_EQ((int64_t)(1 * MiB), shared_bytes(dst, 0, 1 * MiB));
	DATA_UNCHANGED();
}
#endif

/*
 * A destination truncated while Rust dedupes it chunk by chunk: the
 * chunk after the truncate fails, the chunks before stay shared, and the
 * status is negative with bytes_deduped the shared prefix.  mainline
 * remaps the whole range under the inode lock, so the truncate comes
 * before (EINVAL, 0) or after (SAME); it never shows this state.  Needs a
 * small chunk_bytes so that one call is many chunks; tries until the
 * truncate lands inside a call.
 */
struct truncater {
	int fd;
	uint64_t to, after_us;
};

static void *truncate_later(void *arg)
{
	struct truncater *t = arg;

	usleep(t->after_us);
	if (ftruncate(t->fd, t->to))
		return (void *)1;
	return NULL;
}

TEST_F_TIMEOUT(dedupe, error_after_shared_prefix, 600)
{
	uint64_t chunk = CHUNK_BYTES, len = 256 * chunk, half;
	unsigned int tries, mixed = 0;

	/* As many chunks as the cap allows, at least 8, in small files. */
	if (len > MAX_REQUEST_BYTES)
		len = MAX_REQUEST_BYTES;
	half = len / 2;
	if (chunk > 1 * MiB || len < 8 * chunk)
		SKIP(return, "needs a chunk_bytes of 1 MiB at most");
	for (tries = 0; tries < 12 && !mixed; tries++) {
		struct file_pair pair = identical_files(self, len);
		struct truncater t = { .fd = pair.dst, .to = half };
		double started, took;
		uint64_t bytes;
		int32_t status;
		pthread_t thread;
		void *failed;
		int probe;

		ASSERT_LE(0, pair.src);
		ASSERT_LE(0, pair.dst);
		/* Time one call on a copy to place the truncate inside the next. */
		probe = fixture_file(self, "probe", len, 1);
		ASSERT_LE(0, probe);
		started = now_seconds();
		ASSERT_EQ(0, dedupe_one(self, pair.src, 0, len, probe, 0, &status, &bytes));
		took = now_seconds() - started;
		close(probe);
		t.after_us = (uint64_t)(took * 1e6 * (tries % 4 + 1) / 5);
		ASSERT_EQ(0, pthread_create(&thread, NULL, truncate_later, &t));
		ASSERT_EQ(0, dedupe_one(self, pair.src, 0, len, pair.dst, 0, &status, &bytes));
		ASSERT_EQ(0, pthread_join(thread, &failed));
		ASSERT_EQ(NULL, failed);
		TH_LOG("try %u: status %d, %llu bytes deduped (truncate after %.3f of %.3f s)",
		       tries, status, (unsigned long long)bytes, t.after_us / 1e6, took);
		ASSERT_TRUE(status == FILE_DEDUPE_RANGE_SAME || status == -EINVAL);
		if (status == FILE_DEDUPE_RANGE_SAME)
			EXPECT_EQ(len, bytes);
		if (status == -EINVAL && bytes) {
			mixed++;
			EXPECT_FALSE(self->mainline_rules);
			EXPECT_GT(len, bytes);
			EXPECT_EQ(0, bytes % chunk);
		}
		if (self->mainline_rules && status == -EINVAL)
			EXPECT_EQ(0, bytes);
		/* What is reported shared is shared, as far as the file goes. */
		EXPECT_EQ((int64_t)(bytes < half ? bytes : half), shared_bytes(pair.dst, 0, half));
		EXPECT_EQ(pair.sum_src, file_checksum(pair.src));
		close(pair.src);
		close(pair.dst);
	}
	if (self->mainline_rules)
		EXPECT_EQ(0, mixed);
	if (!self->mainline_rules)
		EXPECT_LT(0, mixed) TH_LOG("the truncate never landed inside a call");
}

TEST_F_TIMEOUT(dedupe, max_request_shortens, 300)
{
	/*
	 * A request longer than max_request_bytes is shortened, and the short
	 * count shows in bytes_deduped.  mainline's cap is a fixed 1 GiB, too
	 * long to exercise here; the Rust implementation's is checked where
	 * it is small.
	 */
	uint64_t max = MAX_REQUEST_BYTES, len = 2 * max;

	if (max > 64 * MiB)
		SKIP(return, "needs a max_request_bytes of 64 MiB at most");
	TWO_FILES(len);
	ASSERT_EQ(0, dedupe_one(self, src, 0, len, dst, 0, &status, &bytes));
	EXPECT_EQ(FILE_DEDUPE_RANGE_SAME, status);
	EXPECT_EQ(WANT(len, max), bytes);
	EXPECT_EQ((int64_t)WANT(len, max), shared_bytes(dst, 0, len));
	DATA_UNCHANGED();
}

TEST_HARNESS_MAIN
