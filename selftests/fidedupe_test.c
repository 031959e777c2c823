// SPDX-License-Identifier: GPL-2.0
/*
 * dedupe selftests: the checks on the source and on each destination,
 * status and bytes_deduped, on btrfs and on xfs.  Where the C and the
 * Rust vfs_dedupe_file_range() differ, a case asserts mainline's measured
 * behaviour under the C one and the Rust one's rule under it, so that
 * this file documents every difference.
 *
 * Needs btrfs, xfs and ext4 mounted under $FIDEDUPE_MNT (default
 * /tmp/fidedupe), as run_fidedupe_tests.sh mounts them.
 */
#ifdef FIDEDUPE_OUT_OF_TREE
/*
 * Out of tree, every case runs once through FIDEDUPERANGE (native) and
 * once through /dev/fidedupe (module), which must be loaded.
 */
#endif

#define _GNU_SOURCE
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "dedupe_fixture.h"

TEST_F(dedupe, identical_ranges_are_shared)
{
	const size_t len = 1 * MiB;
	struct file_dedupe_range *r = range_alloc(1);
	int src = fixture_file(self, "src", len, 1);
	int dst = fixture_file(self, "dst", len, 1);
	uint64_t sum_src, sum_dst;

	ASSERT_LE(0, src);
	ASSERT_LE(0, dst);
	sum_src = file_checksum(src);
	sum_dst = file_checksum(dst);
	ASSERT_EQ(sum_src, sum_dst);
	ASSERT_EQ(0, shared_bytes(dst, 0, len));

	range_set(r, 0, len, 1);
	range_dest(r, 0, dst, 0);
	ASSERT_EQ(0, fixture_dedupe(self, src, r));
	EXPECT_EQ(FILE_DEDUPE_RANGE_SAME, r->info[0].status);
	EXPECT_EQ(len, r->info[0].bytes_deduped);

	EXPECT_EQ((int64_t)len, shared_bytes(src, 0, len));
	EXPECT_EQ((int64_t)len, shared_bytes(dst, 0, len));
	EXPECT_EQ(sum_src, file_checksum(src));
	EXPECT_EQ(sum_dst, file_checksum(dst));
	free(r);
}

TEST_F(dedupe, differing_ranges_share_nothing)
{
	const size_t len = 1 * MiB;
	struct file_dedupe_range *r = range_alloc(1);
	int src = fixture_file(self, "src", len, 1);
	int dst = fixture_file(self, "dst", len, 1);
	uint64_t sum_src, sum_dst;

	ASSERT_LE(0, src);
	ASSERT_LE(0, dst);
	/* One byte differs, in the last block. */
	ASSERT_EQ(1, pwrite(dst, "!", 1, len - 10));
	ASSERT_EQ(0, fsync(dst));
	sum_src = file_checksum(src);
	sum_dst = file_checksum(dst);
	ASSERT_NE(sum_src, sum_dst);

	range_set(r, 0, len, 1);
	range_dest(r, 0, dst, 0);
	ASSERT_EQ(0, fixture_dedupe(self, src, r));
	EXPECT_EQ(FILE_DEDUPE_RANGE_DIFFERS, r->info[0].status);
	EXPECT_EQ(0, r->info[0].bytes_deduped);

	EXPECT_EQ(0, shared_bytes(src, 0, len));
	EXPECT_EQ(0, shared_bytes(dst, 0, len));
	EXPECT_EQ(sum_src, file_checksum(src));
	EXPECT_EQ(sum_dst, file_checksum(dst));
	free(r);
}

/* Every kind of descriptor the review asks about, on either side. */
enum fd_kind {
	FD_CLOSED, FD_O_PATH, FD_DIRECTORY, FD_PIPE, FD_SOCKET, FD_CHAR_DEVICE,
	FD_WRITE_ONLY, FD_READ_ONLY, FD_APPEND, FD_MEMFD, FD_EXT4_FILE,
	FD_OTHER_REMAP_FS,
};

static const char *const fd_kind_name[] = {
	"closed", "O_PATH", "directory", "pipe", "socket", "char device",
	"write-only", "read-only", "O_APPEND", "memfd", "ext4 file",
	"file on another remap-capable fs",
};

/*
 * A descriptor of @kind; regular files hold pattern 1 over @len bytes, so a
 * regular file of the fixture's filesystem dedupes with "src".
 */
static int make_kind(dedupe_fixture *self, enum fd_kind kind, size_t len)
{
	char p[PATH_MAX];
	int fds[2], fd;

	switch (kind) {
	case FD_CLOSED:
		fd = open("/dev/null", O_RDONLY);
		close(fd);
		return fd;
	case FD_O_PATH:
		return fixture_open(self, "src", O_PATH);
	case FD_DIRECTORY:
		return open(self->dir, O_RDONLY | O_DIRECTORY);
	case FD_PIPE:
		if (pipe(fds))
			return -errno;
		return fds[0];
	case FD_SOCKET:
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds))
			return -errno;
		return fds[0];
	case FD_CHAR_DEVICE:
		return open("/dev/null", O_RDWR);
	case FD_WRITE_ONLY:
		close(fixture_file(self, "kind", len, 1));
		return fixture_open(self, "kind", O_WRONLY);
	case FD_READ_ONLY:
		close(fixture_file(self, "kind", len, 1));
		return fixture_open(self, "kind", O_RDONLY);
	case FD_APPEND:
		close(fixture_file(self, "kind", len, 1));
		return fixture_open(self, "kind", O_RDWR | O_APPEND);
	case FD_MEMFD:
		fd = memfd_create("dedupe", 0);
		if (fd >= 0 && write_pattern(fd, 0, len, 1))
			return -EIO;
		return fd;
	case FD_EXT4_FILE:
		snprintf(p, sizeof(p), "%s/ext4/kind.%d", fidedupe_mnt_root(), getpid());
		fd = make_file(p, len, 1);
		unlink(p);
		return fd;
	case FD_OTHER_REMAP_FS:
		snprintf(p, sizeof(p), "%s/%s/kind.%d", fidedupe_mnt_root(),
			 strcmp(self->fs, "btrfs") ? "btrfs" : "xfs", getpid());
		fd = make_file(p, len, 1);
		unlink(p);
		return fd;
	}
	return -EINVAL;
}

/*
 * What each kind gives, as the source (errno of the call) and as the
 * destination (its status), under mainline's rules and under the Rust
 * implementation's.  0 is success (FILE_DEDUPE_RANGE_SAME and the whole
 * range shared).
 */
static const struct {
	int src_mainline, src_rust, dest_mainline, dest_rust;
} fd_kind_want[] = {
	[FD_CLOSED]	    = { -EBADF, -EBADF, -EBADF, -EBADF },
	[FD_O_PATH]	    = { -EBADF, -EBADF, -EBADF, -EBADF },
	[FD_DIRECTORY]	    = { -EISDIR, -EISDIR, -EISDIR, -EISDIR },
	/* mainline: S_ISREG is checked on the source only */
	[FD_PIPE]	    = { -EINVAL, -EINVAL, -EXDEV, -EINVAL },
	[FD_SOCKET]	    = { -EINVAL, -EINVAL, -EXDEV, -EINVAL },
	[FD_CHAR_DEVICE]    = { -EINVAL, -EINVAL, -EXDEV, -EINVAL },
	/* both files are read by the compare; mainline reads only the source */
	[FD_WRITE_ONLY]	    = { -EINVAL, -EBADF, 0, -EBADF },
	[FD_READ_ONLY]	    = { 0, 0, 0, 0 },
	[FD_APPEND]	    = { 0, 0, 0, 0 },
	/* mainline: remap support is checked on the source only */
	[FD_MEMFD]	    = { -EOPNOTSUPP, -EOPNOTSUPP, -EXDEV, -EOPNOTSUPP },
	[FD_EXT4_FILE]	    = { -EOPNOTSUPP, -EOPNOTSUPP, -EXDEV, -EOPNOTSUPP },
	[FD_OTHER_REMAP_FS] = { -EXDEV, -EXDEV, -EXDEV, -EXDEV },
};

/* fd_kind_* tests: the source or the destination is a descriptor of @kind. */
static void check_kind_as_source(struct __test_metadata *_metadata,
				 dedupe_fixture *self, enum fd_kind kind)
{
	const size_t len = 64 * KiB;
	int dst = fixture_file(self, "dst", len, 1);
	int src, want = WANT(fd_kind_want[kind].src_mainline, fd_kind_want[kind].src_rust);
	struct file_dedupe_range *r = range_alloc(1);
	uint64_t sum = file_checksum(dst);

	ASSERT_LE(0, dst);
	ASSERT_EQ(0, close(fixture_file(self, "src", len, 1)));
	src = make_kind(self, kind, len);
	ASSERT_TRUE(kind == FD_CLOSED || src >= 0) TH_LOG("%s: %d", fd_kind_name[kind], src);
	range_set(r, 0, len, 1);
	range_dest(r, 0, dst, 0);
	if (kind == FD_OTHER_REMAP_FS) {
		/* The call fails on the destination: a status, not an errno. */
		ASSERT_EQ(0, fixture_dedupe(self, src, r));
		EXPECT_EQ(want, r->info[0].status) TH_LOG("%s", fd_kind_name[kind]);
	} else {
		EXPECT_EQ(want, fixture_dedupe(self, src, r))
			TH_LOG("source %s", fd_kind_name[kind]);
		if (want) {
			/* A failing source fails the call before any destination. */
			EXPECT_EQ(0x5a5a5a5a, r->info[0].status);
			EXPECT_EQ(0, shared_bytes(dst, 0, len));
		} else {
			EXPECT_EQ(FILE_DEDUPE_RANGE_SAME, r->info[0].status);
			EXPECT_EQ(len, r->info[0].bytes_deduped);
			EXPECT_EQ((int64_t)len, shared_bytes(dst, 0, len));
		}
	}
	EXPECT_EQ(sum, file_checksum(dst));
	free(r);
}

/*
 * A second descriptor to read what a destination of @kind holds, or -1 if
 * it is not a regular file: the checks after the call use it, since the
 * destination's own descriptor may be write-only.
 */
static int kind_reader(dedupe_fixture *self, enum fd_kind kind, int dst)
{
	switch (kind) {
	case FD_WRITE_ONLY:
	case FD_READ_ONLY:
	case FD_APPEND:
		return fixture_open(self, "kind", O_RDONLY);
	case FD_MEMFD:
	case FD_EXT4_FILE:
	case FD_OTHER_REMAP_FS:
		return dup(dst);
	default:
		return -1;
	}
}

static void check_kind_as_dest(struct __test_metadata *_metadata,
			       dedupe_fixture *self, enum fd_kind kind)
{
	const size_t len = 64 * KiB;
	int src = fixture_file(self, "src", len, 1);
	int dst, reader, want = WANT(fd_kind_want[kind].dest_mainline,
				     fd_kind_want[kind].dest_rust);
	uint64_t sum = file_checksum(src), dest_sum = 0, bytes;
	int64_t shared;
	int32_t status;

	ASSERT_LE(0, src);
	dst = make_kind(self, kind, len);
	ASSERT_TRUE(kind == FD_CLOSED || dst >= 0) TH_LOG("%s: %d", fd_kind_name[kind], dst);
	reader = kind_reader(self, kind, dst);
	if (reader >= 0)
		dest_sum = file_checksum(reader);
	ASSERT_EQ(0, dedupe_one(self, src, 0, len, dst, 0, &status, &bytes));
	EXPECT_EQ(want, status) TH_LOG("destination %s", fd_kind_name[kind]);
	EXPECT_EQ(want ? 0 : len, bytes);
	EXPECT_EQ(sum, file_checksum(src));
	EXPECT_EQ(want ? 0 : (int64_t)len, shared_bytes(src, 0, len));
	if (reader >= 0) {
		/* A memfd has no FIEMAP; every other regular file does. */
		shared = shared_bytes(reader, 0, len);
		if (kind != FD_MEMFD)
			EXPECT_EQ(want ? 0 : (int64_t)len, shared) TH_LOG("%s", fd_kind_name[kind]);
		EXPECT_EQ(dest_sum, file_checksum(reader));
		close(reader);
	}
}

TEST_F(dedupe, source_closed_fd)
{
	check_kind_as_source(_metadata, self, FD_CLOSED);
}

TEST_F(dedupe, dest_closed_fd)
{
	check_kind_as_dest(_metadata, self, FD_CLOSED);
}

TEST_F(dedupe, source_o_path)
{
	check_kind_as_source(_metadata, self, FD_O_PATH);
}

TEST_F(dedupe, dest_o_path)
{
	check_kind_as_dest(_metadata, self, FD_O_PATH);
}

TEST_F(dedupe, source_directory)
{
	check_kind_as_source(_metadata, self, FD_DIRECTORY);
}

TEST_F(dedupe, dest_directory)
{
	check_kind_as_dest(_metadata, self, FD_DIRECTORY);
}

TEST_F(dedupe, source_pipe)
{
	check_kind_as_source(_metadata, self, FD_PIPE);
}

TEST_F(dedupe, dest_pipe)
{
	check_kind_as_dest(_metadata, self, FD_PIPE);
}

TEST_F(dedupe, source_socket)
{
	check_kind_as_source(_metadata, self, FD_SOCKET);
}

TEST_F(dedupe, dest_socket)
{
	check_kind_as_dest(_metadata, self, FD_SOCKET);
}

TEST_F(dedupe, source_char_device)
{
	check_kind_as_source(_metadata, self, FD_CHAR_DEVICE);
}

TEST_F(dedupe, dest_char_device)
{
	check_kind_as_dest(_metadata, self, FD_CHAR_DEVICE);
}

TEST_F(dedupe, source_write_only)
{
	check_kind_as_source(_metadata, self, FD_WRITE_ONLY);
}

TEST_F(dedupe, dest_write_only)
{
	check_kind_as_dest(_metadata, self, FD_WRITE_ONLY);
}

TEST_F(dedupe, source_read_only)
{
	check_kind_as_source(_metadata, self, FD_READ_ONLY);
}

TEST_F(dedupe, dest_read_only)
{
	check_kind_as_dest(_metadata, self, FD_READ_ONLY);
}

TEST_F(dedupe, source_o_append)
{
	check_kind_as_source(_metadata, self, FD_APPEND);
}

TEST_F(dedupe, dest_o_append)
{
	check_kind_as_dest(_metadata, self, FD_APPEND);
}

TEST_F(dedupe, source_memfd)
{
	check_kind_as_source(_metadata, self, FD_MEMFD);
}

TEST_F(dedupe, dest_memfd)
{
	check_kind_as_dest(_metadata, self, FD_MEMFD);
}

TEST_F(dedupe, source_ext4_no_remap)
{
	check_kind_as_source(_metadata, self, FD_EXT4_FILE);
}

TEST_F(dedupe, dest_ext4_no_remap)
{
	check_kind_as_dest(_metadata, self, FD_EXT4_FILE);
}

TEST_F(dedupe, source_other_filesystem)
{
	check_kind_as_source(_metadata, self, FD_OTHER_REMAP_FS);
}

TEST_F(dedupe, dest_other_filesystem)
{
	check_kind_as_dest(_metadata, self, FD_OTHER_REMAP_FS);
}


TEST_F(dedupe, dest_fd_high_bits)
{
	/*
	 * mainline hands the 64-bit dest_fd to fdget(), which takes an
	 * unsigned int: (1 << 32) + fd names fd.  Rust: EBADF.
	 */
	const size_t len = 64 * KiB;
	int src = fixture_file(self, "src", len, 1);
	int dst = fixture_file(self, "dst", len, 1);
	uint64_t bytes;
	int32_t status;

	ASSERT_EQ(0, dedupe_one(self, src, 0, len, (1LL << 32) + dst, 0, &status, &bytes));
	EXPECT_EQ(WANT(FILE_DEDUPE_RANGE_SAME, -EBADF), status);
	EXPECT_EQ(WANT(len, 0), bytes);
	ASSERT_EQ(0, dedupe_one(self, src, 0, len, -1, 0, &status, &bytes));
	EXPECT_EQ(-EBADF, status);
}

#ifdef FIDEDUPE_OUT_OF_TREE
TEST_F(dedupe, src_fd_out_of_range)
{
	/*
	 * /dev/fidedupe takes a 64-bit src_fd: outside 0..INT_MAX it is EBADF.
	 * FIDEDUPERANGE is issued on the source itself, and the ioctl system
	 * call takes an unsigned int: the high bits never reach the VFS.
	 */
	const size_t len = 64 * KiB;
	struct file_dedupe_range *r = range_alloc(1);
	int src = fixture_file(self, "src", len, 1);
	int dst = fixture_file(self, "dst", len, 1);
	const int64_t bad[] = { (1LL << 32) + src, -1, INT_MAX, INT64_MIN + src };
	unsigned int i;
	long ret;

	ASSERT_LE(0, src);
	ASSERT_LE(0, dst);
	range_set(r, 0, len, 1);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		range_dest(r, 0, dst, 0);
		if (self->path == PATH_MODULE) {
			EXPECT_EQ(-EBADF, fixture_dedupe(self, bad[i], r));
			EXPECT_EQ(0x5a5a5a5a, r->info[0].status);
			continue;
		}
		ret = syscall(SYS_ioctl, (unsigned long)bad[i], FIDEDUPERANGE, r);
		/* The system call truncates the descriptor to 32 bits. */
		if ((uint32_t)bad[i] == (uint32_t)src) {
			EXPECT_EQ(0, ret);
			EXPECT_EQ(FILE_DEDUPE_RANGE_SAME, r->info[0].status);
		} else {
			EXPECT_EQ(-1, ret);
			EXPECT_EQ(EBADF, errno);
		}
	}
	EXPECT_EQ(self->path == PATH_MODULE ? 0 : (int64_t)len, shared_bytes(dst, 0, len));
	free(r);
}

/*
 * Three destinations in a struct file_dedupe_range placed so that the
 * third record crosses from a readable page into a PROT_NONE one.
 * /dev/fidedupe reads the first records with the header, up to the one
 * that faults, and writes each back once done: the first two are done and
 * written back, then reading the third faults (EFAULT).  Through
 * FIDEDUPERANGE, fs/ioctl.c copies the whole array in first, so the call
 * faults before any destination (both with and without the livepatch).
 */
TEST_F(dedupe, efault_partway_on_read)
{
	const size_t len = 64 * KiB, page = getpagesize();
	int src = fixture_file(self, "src", len, 1);
	int dst[3], i;
	char *map;
	struct file_dedupe_range *r;
	size_t size = sizeof(*r) + 3 * sizeof(r->info[0]);

	ASSERT_LE(0, src);
	map = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, map);
	r = (void *)(map + page - size + 16);
	range_set(r, 0, len, 3);
	for (i = 0; i < 3; i++) {
		char name[8];

		snprintf(name, sizeof(name), "dst%d", i);
		dst[i] = fixture_file(self, name, len, 1);
		ASSERT_LE(0, dst[i]);
		if (i < 2)
			range_dest(r, i, dst[i], 0);
	}
	/* Only the readable start of the third record is set. */
	r->info[2].dest_fd = dst[2];
	r->info[2].dest_offset = 0;
	ASSERT_EQ(0, mprotect(map + page, page, PROT_NONE));
	EXPECT_EQ(-EFAULT, fixture_dedupe(self, src, r));
	if (self->path == PATH_MODULE) {
		for (i = 0; i < 2; i++) {
			EXPECT_EQ(FILE_DEDUPE_RANGE_SAME, r->info[i].status);
			EXPECT_EQ(len, r->info[i].bytes_deduped);
			EXPECT_EQ((int64_t)len, shared_bytes(dst[i], 0, len));
		}
	} else {
		for (i = 0; i < 2; i++) {
			EXPECT_EQ(0x5a5a5a5a, r->info[i].status);
			EXPECT_EQ(0, shared_bytes(dst[i], 0, len));
		}
	}
	EXPECT_EQ(0, shared_bytes(dst[2], 0, len));
	munmap(map, 2 * page);
}

/*
 * Twenty records, the eleventh crossing into a PROT_NONE page.
 * /dev/fidedupe reads records eight at a time (rust/request.rs): the read
 * of records 8-15 stops at the eleventh, and records 8 and 9 must still be
 * deduped and written back before its fault is reported, exactly as when
 * every record is read alone.  Through
 * FIDEDUPERANGE the copy-in faults before any destination.
 */
TEST_F(dedupe, efault_partway_inside_a_read_ahead)
{
	enum { RECORDS = 20, FAULTING = 10 };
	const size_t len = 64 * KiB, page = getpagesize();
	int src = fixture_file(self, "src", len, 1);
	int dst = fixture_file(self, "dst", len, 1);
	struct file_dedupe_range *r;
	char *map;
	int i;

	ASSERT_LE(0, src);
	ASSERT_LE(0, dst);
	map = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, map);
	/* Record FAULTING starts 16 bytes before the PROT_NONE page. */
	r = (void *)(map + page - 16 - FAULTING * sizeof(r->info[0]) - sizeof(*r));
	range_set(r, 0, len, RECORDS);
	for (i = 0; i < FAULTING; i++)
		range_dest(r, i, dst, 0);
	r->info[FAULTING].dest_fd = dst;
	r->info[FAULTING].dest_offset = 0;
	ASSERT_EQ(0, mprotect(map + page, page, PROT_NONE));
	EXPECT_EQ(-EFAULT, fixture_dedupe(self, src, r));
	for (i = 0; i < FAULTING; i++) {
		if (self->path == PATH_MODULE) {
			EXPECT_EQ(FILE_DEDUPE_RANGE_SAME, r->info[i].status) TH_LOG("record %d", i);
			EXPECT_EQ(len, r->info[i].bytes_deduped) TH_LOG("record %d", i);
		} else {
			EXPECT_EQ(0x5a5a5a5a, r->info[i].status) TH_LOG("record %d", i);
		}
	}
	EXPECT_EQ(self->path == PATH_MODULE ? (int64_t)len : 0, shared_bytes(dst, 0, len));
	munmap(map, 2 * page);
}

/*
 * The same three records with the second and third on a read-only page.
 * /dev/fidedupe dedupes the first, writes it back, dedupes the second and
 * faults writing it back: the third is neither attempted nor written.
 * Through FIDEDUPERANGE every destination is deduped on the kernel's copy
 * and the copy-out faults after the first record: EFAULT, and all three
 * shared.
 *
 * No path can write the second and third records, on a page the caller
 * cannot write either, so what they hold shows nothing: what shows how
 * far each path went is the first record, on the writable page, and which
 * destinations the filesystem shares.
 */
TEST_F(dedupe, efault_partway_on_write_back)
{
	const size_t len = 64 * KiB, page = getpagesize();
	int src = fixture_file(self, "src", len, 1);
	int dst[3], i;
	char *map;
	struct file_dedupe_range *r;

	ASSERT_LE(0, src);
	map = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, map);
	r = (void *)(map + page - sizeof(*r) - sizeof(r->info[0]));
	range_set(r, 0, len, 3);
	for (i = 0; i < 3; i++) {
		char name[8];

		snprintf(name, sizeof(name), "dst%d", i);
		dst[i] = fixture_file(self, name, len, 1);
		ASSERT_LE(0, dst[i]);
		range_dest(r, i, dst[i], 0);
	}
	ASSERT_EQ(0, mprotect(map + page, page, PROT_READ));
	EXPECT_EQ(-EFAULT, fixture_dedupe(self, src, r));
	EXPECT_EQ(FILE_DEDUPE_RANGE_SAME, r->info[0].status);
	EXPECT_EQ(len, r->info[0].bytes_deduped);
	/* Both paths dedupe the second destination, before the fault. */
	EXPECT_EQ((int64_t)len, shared_bytes(dst[0], 0, len));
	EXPECT_EQ((int64_t)len, shared_bytes(dst[1], 0, len));
	/* The fault ends /dev/fidedupe's call; FIDEDUPERANGE's comes after. */
	EXPECT_EQ(self->path == PATH_MODULE ? 0 : (int64_t)len, shared_bytes(dst[2], 0, len));
	munmap(map, 2 * page);
}
#endif

TEST_F(dedupe, second_mount_of_same_fs)
{
	/* Different mounts of one filesystem are allowed on both paths. */
	const size_t len = 64 * KiB;
	int src = fixture_file(self, "src", len, 1);
	char p[PATH_MAX];
	uint64_t bytes;
	int32_t status;
	int dst;

	ASSERT_EQ(0, close(fixture_file(self, "dst", len, 1)));
	snprintf(p, sizeof(p), "%s/%s-bind/%s/dst", fidedupe_mnt_root(), self->fs,
		 strrchr(self->dir, '/') + 1);
	dst = open(p, O_RDWR);
	ASSERT_LE(0, dst) TH_LOG("%s: %m", p);
	ASSERT_EQ(0, dedupe_one(self, src, 0, len, dst, 0, &status, &bytes));
	EXPECT_EQ(FILE_DEDUPE_RANGE_SAME, status);
	EXPECT_EQ(len, bytes);
}

TEST_F(dedupe, reserved_fields)
{
	const size_t len = 64 * KiB;
	struct file_dedupe_range *r = range_alloc(2);
	int src = fixture_file(self, "src", len, 1);
	int dst = fixture_file(self, "dst", len, 1);
#ifdef FIDEDUPE_OUT_OF_TREE
	struct fidedupe_args args = { .src_fd = src, .range_ptr = (uintptr_t)r };
#endif

	range_set(r, 0, len, 2);
	range_dest(r, 0, dst, 0);
	range_dest(r, 1, dst, 0);
	r->reserved1 = 1;
	EXPECT_EQ(-EINVAL, fixture_dedupe(self, src, r));
	r->reserved1 = 0;
	r->reserved2 = 1;
	EXPECT_EQ(-EINVAL, fixture_dedupe(self, src, r));
	EXPECT_EQ(0x5a5a5a5a, r->info[0].status);
	r->reserved2 = 0;

	/* A destination's reserved field fails that destination only. */
	r->info[0].reserved = 1;
	ASSERT_EQ(0, fixture_dedupe(self, src, r));
	EXPECT_EQ(-EINVAL, r->info[0].status);
	EXPECT_EQ(0, r->info[0].bytes_deduped);
	EXPECT_EQ(FILE_DEDUPE_RANGE_SAME, r->info[1].status);
	EXPECT_EQ(len, r->info[1].bytes_deduped);

	/* The descriptor is looked up first, as mainline does: EBADF. */
	range_dest(r, 0, -1, 0);
	r->info[0].reserved = 1;
	ASSERT_EQ(0, fixture_dedupe(self, src, r));
	EXPECT_EQ(-EBADF, r->info[0].status);
	r->info[0].reserved = 0;

	/* And the source's descriptor before the header's reserved fields. */
	r->reserved1 = 1;
	EXPECT_EQ(-EBADF, fixture_dedupe(self, 1000, r));
	r->reserved1 = 0;

#ifdef FIDEDUPE_OUT_OF_TREE
	/* struct fidedupe_args: flags and reserved must be 0. */
	if (self->path == PATH_MODULE) {
		args.flags = 1;
		EXPECT_EQ(-1, ioctl(self->dev, FIDEDUPE_IOC_DEDUPE_RANGE, &args));
		EXPECT_EQ(EINVAL, errno);
		args.flags = 0;
		args.reserved = 1;
		EXPECT_EQ(-1, ioctl(self->dev, FIDEDUPE_IOC_DEDUPE_RANGE, &args));
		EXPECT_EQ(EINVAL, errno);
		EXPECT_EQ(-1, ioctl(self->dev, _IO(FIDEDUPE_IOC_MAGIC, 0x7f), 0));
		EXPECT_EQ(ENOTTY, errno);
		/* The number of the first version, in device-mapper's 0xfd. */
		EXPECT_EQ(-1, ioctl(self->dev, _IOW(0xfd, 0x01, struct fidedupe_args), &args));
		EXPECT_EQ(ENOTTY, errno);
		args.reserved = 0;
		args.range_ptr = 8;
		EXPECT_EQ(-1, ioctl(self->dev, FIDEDUPE_IOC_DEDUPE_RANGE, &args));
		EXPECT_EQ(EFAULT, errno);
	}
#endif
	free(r);
}

/* @count destinations, all the same file at offset 0; returns the call's result. */
static int dedupe_many(dedupe_fixture *self, int src, int dst, size_t len,
		       unsigned int count, struct file_dedupe_range **out)
{
	struct file_dedupe_range *r = range_alloc(count);
	unsigned int i;

	range_set(r, 0, len, count);
	for (i = 0; i < count; i++)
		range_dest(r, i, dst, 0);
	*out = r;
	return fixture_dedupe(self, src, r);
}

static void check_dest_count(struct __test_metadata *_metadata,
			     dedupe_fixture *self, unsigned int count,
			     size_t len)
{
	int src = fixture_file(self, "src", 64 * KiB, 1);
	int dst = fixture_file(self, "dst", 64 * KiB, 1);
	/* fs/ioctl.c copies the whole array in one go, limited to PAGE_SIZE. */
	bool fits = sizeof(struct file_dedupe_range) +
		    count * sizeof(struct file_dedupe_range_info) <= 4096;
	struct file_dedupe_range *r;
	unsigned int i, bad = 0;
	int want = fits ? 0 : -ENOMEM;
	int ret;

#ifdef FIDEDUPE_OUT_OF_TREE
	/* /dev/fidedupe reads the records in batches, with no such limit. */
	if (self->path == PATH_MODULE)
		want = 0;
#endif

	ASSERT_LE(0, src);
	ASSERT_LE(0, dst);
	ret = dedupe_many(self, src, dst, len, count, &r);
	ASSERT_EQ(want, ret);
	for (i = 0; !ret && i < count; i++)
		if (r->info[i].status != FILE_DEDUPE_RANGE_SAME ||
		    r->info[i].bytes_deduped != len)
			bad++;
	EXPECT_EQ(0, bad);
	free(r);
}

TEST_F(dedupe, dest_count_1) { check_dest_count(_metadata, self, 1, 64 * KiB); }
TEST_F(dedupe, dest_count_127) { check_dest_count(_metadata, self, 127, 4 * KiB); }
TEST_F(dedupe, dest_count_128) { check_dest_count(_metadata, self, 128, 4 * KiB); }
/* 65535 destinations of length 0: every check, no filesystem work. */
TEST_F_TIMEOUT(dedupe, dest_count_65535, 300)
{
	check_dest_count(_metadata, self, 65535, 0);
}

TEST_F(dedupe, differs_in_the_middle_no_early_stop)
{
	const size_t len = 64 * KiB;
	struct file_dedupe_range *r = range_alloc(6);
	int src = fixture_file(self, "src", len, 1);
	int same1 = fixture_file(self, "same1", len, 1);
	int other = fixture_file(self, "other", len, 2);
	int same2 = fixture_file(self, "same2", len, 1);
	int dir = open(self->dir, O_RDONLY | O_DIRECTORY);
	uint64_t sum_other = file_checksum(other);

	range_set(r, 0, len, 6);
	range_dest(r, 0, same1, 0);
	range_dest(r, 1, other, 0);
	range_dest(r, 2, -1, 0);
	range_dest(r, 3, dir, 0);
	range_dest(r, 4, same2, len);	/* past EOF */
	range_dest(r, 5, same2, 0);
	ASSERT_EQ(0, fixture_dedupe(self, src, r));
	EXPECT_EQ(FILE_DEDUPE_RANGE_SAME, r->info[0].status);
	EXPECT_EQ(len, r->info[0].bytes_deduped);
	EXPECT_EQ(FILE_DEDUPE_RANGE_DIFFERS, r->info[1].status);
	EXPECT_EQ(0, r->info[1].bytes_deduped);
	EXPECT_EQ(-EBADF, r->info[2].status);
	EXPECT_EQ(-EISDIR, r->info[3].status);
	EXPECT_EQ(-EINVAL, r->info[4].status);
	EXPECT_EQ(0, r->info[4].bytes_deduped);
	/* Every destination was attempted: the last one too. */
	EXPECT_EQ(FILE_DEDUPE_RANGE_SAME, r->info[5].status);
	EXPECT_EQ(len, r->info[5].bytes_deduped);
	EXPECT_EQ((int64_t)len, shared_bytes(same2, 0, len));
	EXPECT_EQ(0, shared_bytes(other, 0, len));
	EXPECT_EQ(sum_other, file_checksum(other));
	free(r);
}

TEST_HARNESS_MAIN
