// SPDX-License-Identifier: GPL-2.0
/*
 * fidedupe selftests: who may dedupe into what.  Unprivileged callers
 * (owner or not, with or without write permission, with or without an fd
 * open for writing), read-only mounts, immutable files and swapfiles, on
 * btrfs and xfs, through both paths.
 */
#define _GNU_SOURCE
#include <grp.h>
#include <sys/mman.h>
#include <sys/swap.h>
#include <sys/wait.h>

#include "dedupe_fixture.h"

#define NOBODY 65534
#define LEN (64 * KiB)

/* What an unprivileged child saw, shared with the parent. */
struct child_result {
	int ret;
	int32_t status;
	uint64_t bytes;
};

/*
 * Forks; the child drops to uid/gid NOBODY, opens "<dir>/src" read-only and
 * "<dir>/dst" with @dest_flags (or uses @dest_fd when it is >= 0) and
 * dedupes all of src into dst.  Returns the child's view.
 */
static struct child_result run_unprivileged(struct dedupe_fixture *self,
					    int dest_flags, int dest_fd)
{
	struct child_result *shared, res = { .ret = -ECHILD };
	int wstatus;
	pid_t pid;

	shared = mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED)
		return res;
	*shared = res;
	pid = fork();
	if (pid == 0) {
		int src, dst;

		if (setgroups(0, NULL) || setresgid(NOBODY, NOBODY, NOBODY) ||
		    setresuid(NOBODY, NOBODY, NOBODY))
			_exit(1);
		src = fixture_open(self, "src", O_RDONLY);
		dst = dest_fd >= 0 ? dest_fd : fixture_open(self, "dst", dest_flags);
		if (src < 0 || dst < 0) {
			shared->ret = src < 0 ? src : dst;
			_exit(2);
		}
		shared->ret = dedupe_one(self, src, 0, LEN, dst, 0,
					 &shared->status, &shared->bytes);
		_exit(0);
	}
	if (pid > 0 && waitpid(pid, &wstatus, 0) == pid)
		res = *shared;
	munmap(shared, sizeof(*shared));
	return res;
}

/* src and dst of identical content; dst gets @owner and @mode. */
static void make_pair(struct __test_metadata *_metadata,
		      struct dedupe_fixture *self, uid_t owner, mode_t mode)
{
	char p[PATH_MAX];

	ASSERT_EQ(0, chmod(self->dir, 0755));
	ASSERT_EQ(0, close(fixture_file(self, "src", LEN, 1)));
	ASSERT_EQ(0, close(fixture_file(self, "dst", LEN, 1)));
	snprintf(p, sizeof(p), "%s/dst", self->dir);
	ASSERT_EQ(0, chown(p, owner, owner));
	ASSERT_EQ(0, chmod(p, mode));
}

TEST_F(dedupe, unprivileged_owner_read_only_fd)
{
	struct child_result res;

	make_pair(_metadata, self, NOBODY, 0644);
	res = run_unprivileged(self, O_RDONLY, -1);
	ASSERT_EQ(0, res.ret);
	EXPECT_EQ(FILE_DEDUPE_RANGE_SAME, res.status);
	EXPECT_EQ(LEN, res.bytes);
}

TEST_F(dedupe, unprivileged_non_owner_without_write_permission)
{
	struct child_result res;
	int dst;

	make_pair(_metadata, self, 0, 0644);
	res = run_unprivileged(self, O_RDONLY, -1);
	ASSERT_EQ(0, res.ret);
	EXPECT_EQ(-EPERM, res.status);
	EXPECT_EQ(0, res.bytes);
	dst = fixture_open(self, "dst", O_RDONLY);
	EXPECT_EQ(0, shared_bytes(dst, 0, LEN));
}

TEST_F(dedupe, unprivileged_non_owner_with_write_permission)
{
	struct child_result res;

	make_pair(_metadata, self, 0, 0666);
	res = run_unprivileged(self, O_RDONLY, -1);
	ASSERT_EQ(0, res.ret);
	EXPECT_EQ(FILE_DEDUPE_RANGE_SAME, res.status);
	EXPECT_EQ(LEN, res.bytes);
}

TEST_F(dedupe, unprivileged_non_owner_fd_open_for_write)
{
	/* Opened O_RDWR by root, handed down: only FMODE_WRITE allows it. */
	struct child_result res;
	int dst;

	make_pair(_metadata, self, 0, 0644);
	dst = fixture_open(self, "dst", O_RDWR);
	ASSERT_LE(0, dst);
	res = run_unprivileged(self, 0, dst);
	ASSERT_EQ(0, res.ret);
	EXPECT_EQ(FILE_DEDUPE_RANGE_SAME, res.status);
	EXPECT_EQ(LEN, res.bytes);
}

/* Opens "<dir>/<name>" through the read-only bind mount of the fixture's fs. */
static int open_read_only_mount(struct dedupe_fixture *self, const char *name)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s-ro/%s/%s", fidedupe_mnt_root(), self->fs,
		 strrchr(self->dir, '/') + 1, name);
	return open(p, O_RDONLY);
}

TEST_F(dedupe, dest_on_read_only_mount)
{
	int src = fixture_file(self, "src", LEN, 1);
	int dst, dst_ro;
	uint64_t bytes;
	int32_t status;

	ASSERT_EQ(0, close(fixture_file(self, "dst", LEN, 1)));
	dst_ro = open_read_only_mount(self, "dst");
	ASSERT_LE(0, dst_ro);
	ASSERT_EQ(0, dedupe_one(self, src, 0, LEN, dst_ro, 0, &status, &bytes));
	EXPECT_EQ(-EROFS, status);
	EXPECT_EQ(0, bytes);
	/* Also with length 0: the mount is checked before the length. */
	ASSERT_EQ(0, dedupe_one(self, src, 0, 0, dst_ro, 0, &status, &bytes));
	EXPECT_EQ(-EROFS, status);
	dst = fixture_open(self, "dst", O_RDONLY);
	EXPECT_EQ(0, shared_bytes(dst, 0, LEN));
}

TEST_F(dedupe, source_on_read_only_mount)
{
	/* The source is only read: a read-only mount is fine. */
	int dst = fixture_file(self, "dst", LEN, 1);
	int src_ro;
	uint64_t bytes;
	int32_t status;

	ASSERT_EQ(0, close(fixture_file(self, "src", LEN, 1)));
	src_ro = open_read_only_mount(self, "src");
	ASSERT_LE(0, src_ro);
	ASSERT_EQ(0, dedupe_one(self, src_ro, 0, LEN, dst, 0, &status, &bytes));
	EXPECT_EQ(FILE_DEDUPE_RANGE_SAME, status);
	EXPECT_EQ(LEN, bytes);
}

static int set_immutable(int fd, bool on)
{
	int flags;

	if (ioctl(fd, FS_IOC_GETFLAGS, &flags))
		return -errno;
	flags = on ? flags | FS_IMMUTABLE_FL : flags & ~FS_IMMUTABLE_FL;
	return ioctl(fd, FS_IOC_SETFLAGS, &flags) ? -errno : 0;
}

TEST_F(dedupe, immutable_dest)
{
	int src = fixture_file(self, "src", LEN, 1);
	int dst = fixture_file(self, "dst", LEN, 1);
	uint64_t sum = file_checksum(dst), bytes;
	int32_t status;
	int ret;

	ASSERT_EQ(0, set_immutable(dst, true));
	ret = dedupe_one(self, src, 0, LEN, dst, 0, &status, &bytes);
	ASSERT_EQ(0, set_immutable(dst, false));
	ASSERT_EQ(0, ret);
	EXPECT_EQ(-EPERM, status);
	EXPECT_EQ(0, shared_bytes(dst, 0, LEN));
	EXPECT_EQ(sum, file_checksum(dst));
}

TEST_F(dedupe, immutable_source)
{
	/* mainline checks only the destination for immutability. */
	int src = fixture_file(self, "src", LEN, 1);
	int dst = fixture_file(self, "dst", LEN, 1);
	uint64_t sum = file_checksum(src), bytes;
	int32_t status;
	int ret;

	ASSERT_EQ(0, set_immutable(src, true));
	ret = dedupe_one(self, src, 0, LEN, dst, 0, &status, &bytes);
	ASSERT_EQ(0, set_immutable(src, false));
	ASSERT_EQ(WANT(0, -EPERM), ret);
	if (self->mainline_rules)
		EXPECT_EQ(FILE_DEDUPE_RANGE_SAME, status);
	if (!self->mainline_rules)
		EXPECT_EQ(0, shared_bytes(dst, 0, LEN));
	EXPECT_EQ(sum, file_checksum(src));
}

/*
 * Makes "<dir>/swap" an active swapfile of 16 MiB; returns an O_RDONLY fd,
 * or -errno.  btrfs needs it NOCOW before it has data.
 */
static int make_swapfile(struct dedupe_fixture *self, char *path, size_t size)
{
	char cmd[PATH_MAX + 32];
	int fd, flags = FS_NOCOW_FL;

	snprintf(path, size, "%s/swap", self->dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return -errno;
	if (!strcmp(self->fs, "btrfs") && ioctl(fd, FS_IOC_SETFLAGS, &flags))
		return -errno;
	if (write_pattern(fd, 0, 16 * MiB, 0) || fsync(fd))
		return -EIO;
	snprintf(cmd, sizeof(cmd), "mkswap -q '%s' >/dev/null", path);
	if (system(cmd))
		return -EIO;
	if (swapon(path, 0))
		return -errno;
	return fd;
}

/*
 * mainline leaves the swapfile check to generic_remap_file_range_prep(),
 * after the filesystem's own checks: btrfs first refuses to mix a NOCOW
 * (swap) file with a COW one, EINVAL; xfs reaches the ETXTBSY.
 */
static int native_swapfile_errno(struct dedupe_fixture *self)
{
	return strcmp(self->fs, "btrfs") ? -ETXTBSY : -EINVAL;
}

TEST_F(dedupe, swapfile_dest)
{
	int src = fixture_file(self, "src", LEN, 1);
	char path[PATH_MAX];
	int swap = make_swapfile(self, path, sizeof(path));
	uint64_t sum, bytes;
	int32_t status;
	int ret;

	ASSERT_LE(0, swap) TH_LOG("swapfile: %s", strerror(-swap));
	sum = file_checksum(swap);
	ret = dedupe_one(self, src, 0, LEN, swap, 0, &status, &bytes);
	EXPECT_EQ(0, swapoff(path));
	ASSERT_EQ(0, ret);
	EXPECT_EQ(WANT(native_swapfile_errno(self), -ETXTBSY), status);
	EXPECT_EQ(sum, file_checksum(swap));
}

TEST_F(dedupe, swapfile_source)
{
	/* mainline: the source's ETXTBSY comes back per destination. */
	int dst = fixture_file(self, "dst", LEN, 0);
	char path[PATH_MAX];
	int swap = make_swapfile(self, path, sizeof(path));
	uint64_t sum, bytes;
	int32_t status;
	int ret;

	ASSERT_LE(0, swap) TH_LOG("swapfile: %s", strerror(-swap));
	sum = file_checksum(swap);
	ret = dedupe_one(self, swap, 0, LEN, dst, 0, &status, &bytes);
	EXPECT_EQ(0, swapoff(path));
	ASSERT_EQ(WANT(0, -ETXTBSY), ret);
	if (self->mainline_rules)
		EXPECT_EQ(native_swapfile_errno(self), status);
	EXPECT_EQ(0, shared_bytes(dst, 0, LEN));
	EXPECT_EQ(sum, file_checksum(swap));
}

TEST_HARNESS_MAIN
