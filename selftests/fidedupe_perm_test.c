// SPDX-License-Identifier: GPL-2.0
/*
 * dedupe selftests: who may dedupe into what.  Unprivileged callers
 * (owner or not, with or without write permission, with or without an fd
 * open for writing), read-only mounts, immutable files and swapfiles, on
 * btrfs and xfs.
 */
#define _GNU_SOURCE
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/swap.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/capability.h>
#include <linux/mount.h>

#include "dedupe_fixture.h"

#define NOBODY 65534
#define LEN (64 * KiB)

/* What an unprivileged child saw, shared with the parent. */
struct child_result {
	int ret;
	int32_t status;
	uint64_t bytes;
};

/* Who calls: a uid and, for a caller that stays root, its capabilities. */
struct caller {
	uid_t uid;		/* NOBODY, or 0 to stay root */
	bool limit_caps;	/* root with only @caps (effective and permitted) */
	uint64_t caps;
	int dirfd;		/* where "src" and "dst" are opened; -1: the fixture's dir */
};

static const struct caller nobody = { .uid = NOBODY, .dirfd = -1 };

static int set_caps(uint64_t caps)
{
	struct __user_cap_header_struct header = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2] = {
		{ .effective = (uint32_t)caps, .permitted = (uint32_t)caps },
		{ .effective = (uint32_t)(caps >> 32), .permitted = (uint32_t)(caps >> 32) },
	};

	return syscall(SYS_capset, &header, data);
}

static int open_as_caller(dedupe_fixture *self, const struct caller *who,
			  const char *name, int flags)
{
	int fd;

	if (who->dirfd < 0)
		return fixture_open(self, name, flags);
	fd = openat(who->dirfd, name, flags);
	return fd < 0 ? -errno : fd;
}

/*
 * Forks; the child becomes @who, opens "src" read-only and "dst" with
 * @dest_flags (or uses @dest_fd when it is >= 0) and dedupes all of src
 * into dst.  Returns the child's view.
 */
static struct child_result run_as(dedupe_fixture *self, const struct caller *who,
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

		if (who->uid && (setgroups(0, NULL) || setresgid(who->uid, who->uid, who->uid) ||
				 setresuid(who->uid, who->uid, who->uid)))
			_exit(1);
		if (who->limit_caps && set_caps(who->caps))
			_exit(1);
		src = open_as_caller(self, who, "src", O_RDONLY);
		dst = dest_fd >= 0 ? dest_fd : open_as_caller(self, who, "dst", dest_flags);
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

static struct child_result run_unprivileged(dedupe_fixture *self,
					    int dest_flags, int dest_fd)
{
	return run_as(self, &nobody, dest_flags, dest_fd);
}

/* src and dst of identical content; dst gets @owner and @mode. */
static void make_pair(struct __test_metadata *_metadata,
		      dedupe_fixture *self, uid_t owner, mode_t mode)
{
	char p[PATH_MAX];

	ASSERT_EQ(0, chmod(self->dir, 0755));
	ASSERT_EQ(0, close(fixture_file(self, "src", LEN, 1)));
	ASSERT_EQ(0, close(fixture_file(self, "dst", LEN, 1)));
	snprintf(p, sizeof(p), "%s/dst", self->dir);
	ASSERT_EQ(0, chown(p, owner, owner));
	ASSERT_EQ(0, chmod(p, mode));
}

/* How much of "<dir>/dst" shares its extents now, or -errno. */
static int64_t dst_shared(dedupe_fixture *self)
{
	int dst = fixture_open(self, "dst", O_RDONLY);
	int64_t shared = dst < 0 ? dst : shared_bytes(dst, 0, LEN);

	close(dst);
	return shared;
}

TEST_F(dedupe, unprivileged_owner_read_only_fd)
{
	/*
	 * The owner, with write permission for the owner only (0644):
	 * ownership and the write permission both allow it.
	 */
	struct child_result res;

	make_pair(_metadata, self, NOBODY, 0644);
	res = run_unprivileged(self, O_RDONLY, -1);
	ASSERT_EQ(0, res.ret);
	EXPECT_EQ(FILE_DEDUPE_RANGE_SAME, res.status);
	EXPECT_EQ(LEN, res.bytes);
	EXPECT_EQ(LEN, dst_shared(self));
}

TEST_F(dedupe, unprivileged_owner_without_write_permission)
{
	/* The owner, but nobody may write (0444): only ownership allows it. */
	struct child_result res;

	make_pair(_metadata, self, NOBODY, 0444);
	res = run_unprivileged(self, O_RDONLY, -1);
	ASSERT_EQ(0, res.ret);
	EXPECT_EQ(FILE_DEDUPE_RANGE_SAME, res.status);
	EXPECT_EQ(LEN, res.bytes);
	EXPECT_EQ(LEN, dst_shared(self));
}

TEST_F(dedupe, cap_sys_admin_is_reason_enough)
{
	/*
	 * root with CAP_SYS_ADMIN and no other capability, not the owner,
	 * no write permission (0444), the destination open read-only: only
	 * CAP_SYS_ADMIN allows it.  Without any capability: EPERM.
	 */
	struct caller admin = {
		.uid = 0, .limit_caps = true, .caps = 1ULL << CAP_SYS_ADMIN, .dirfd = -1,
	};
	struct caller no_caps = { .uid = 0, .limit_caps = true, .caps = 0, .dirfd = -1 };
	struct child_result res;

	make_pair(_metadata, self, 1000, 0444);
	res = run_as(self, &no_caps, O_RDONLY, -1);
	ASSERT_EQ(0, res.ret);
	EXPECT_EQ(-EPERM, res.status);
	EXPECT_EQ(0, dst_shared(self));
	res = run_as(self, &admin, O_RDONLY, -1);
	ASSERT_EQ(0, res.ret);
	EXPECT_EQ(FILE_DEDUPE_RANGE_SAME, res.status);
	EXPECT_EQ(LEN, res.bytes);
	EXPECT_EQ(LEN, dst_shared(self));
}

TEST_F(dedupe, cap_dac_override_without_cap_sys_admin)
{
	/* The reverse: write permission through CAP_DAC_OVERRIDE alone. */
	struct caller dac = {
		.uid = 0, .limit_caps = true, .caps = 1ULL << CAP_DAC_OVERRIDE, .dirfd = -1,
	};
	struct child_result res;

	make_pair(_metadata, self, 1000, 0444);
	res = run_as(self, &dac, O_RDONLY, -1);
	ASSERT_EQ(0, res.ret);
	EXPECT_EQ(FILE_DEDUPE_RANGE_SAME, res.status);
	EXPECT_EQ(LEN, dst_shared(self));
}

/*
 * Whether this kernel lets root make user namespaces; if not, why, in
 * @why.  Asked before any is made: once they are available, a failure to
 * make one fails the case rather than skipping it.
 */
static bool have_user_namespaces(char *why, size_t size)
{
	long max = -1;
	FILE *f;

	if (access("/proc/self/ns/user", F_OK)) {
		snprintf(why, size, "no user namespaces in this kernel (CONFIG_USER_NS)");
		return false;
	}
	f = fopen("/proc/sys/user/max_user_namespaces", "r");
	if (f) {
		if (fscanf(f, "%ld", &max) != 1)
			max = -1;
		fclose(f);
	}
	if (max == 0) {
		snprintf(why, size, "user namespaces are disabled: user.max_user_namespaces is 0");
		return false;
	}
	return true;
}

/*
 * A user namespace whose uid and gid maps are "@inside @outside 1", as an
 * fd for MOUNT_ATTR_IDMAP; -errno on failure: fork()'s, unshare()'s in
 * the child, -ECHILD if the child said nothing, -EIO if a map was refused.
 */
static int userns_fd(unsigned int inside, unsigned int outside)
{
	static const char * const files[] = { "uid_map", "gid_map" };
	int ready[2], fd, n, f;
	char p[64], map[64];
	unsigned char err;
	unsigned int i;
	pid_t pid;

	if (pipe(ready))
		return -errno;
	pid = fork();
	if (pid < 0) {
		fd = -errno;
		close(ready[0]);
		close(ready[1]);
		return fd;
	}
	if (pid == 0) {
		/* One byte: 0 in the new namespace, or unshare()'s errno. */
		close(ready[0]);
		err = unshare(CLONE_NEWUSER) ? errno : 0;
		if (write(ready[1], &err, 1) != 1 || err)
			_exit(1);
		pause();
		_exit(0);
	}
	close(ready[1]);
	if (read(ready[0], &err, 1) != 1) {
		fd = -ECHILD;
		goto out;
	}
	if (err) {
		fd = -err;
		goto out;
	}
	n = snprintf(map, sizeof(map), "%u %u 1\n", inside, outside);
	for (i = 0; i < 2; i++) {
		snprintf(p, sizeof(p), "/proc/%d/%s", pid, files[i]);
		f = open(p, O_WRONLY);
		if (f < 0 || write(f, map, n) != n) {
			fd = -EIO;
			if (f >= 0)
				close(f);
			goto out;
		}
		close(f);
	}
	snprintf(p, sizeof(p), "/proc/%d/ns/user", pid);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fd = -errno;
out:
	close(ready[0]);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return fd;
}

TEST_F(dedupe, idmapped_mount_ownership)
{
	/*
	 * dst is owned by uid 1000 on disk, mode 0444.  Through a mount that
	 * maps 1000 to nobody, nobody owns it and may dedupe into it;
	 * through the plain mount it may not (EPERM).  Both paths read the
	 * ownership through the destination's mount.
	 */
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP };
	struct caller through_idmap = { .uid = NOBODY, .dirfd = -1 };
	struct child_result res;
	int tree, userns;
	char why[128];

	if (!have_user_namespaces(why, sizeof(why)))
		SKIP(return, "%s", why);
	make_pair(_metadata, self, 1000, 0444);
	userns = userns_fd(1000, NOBODY);
	ASSERT_LE(0, userns) TH_LOG("user namespace: %s", strerror(-userns));
	tree = syscall(SYS_open_tree, AT_FDCWD, self->dir, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	ASSERT_LE(0, tree) TH_LOG("open_tree: %m");
	attr.userns_fd = userns;
	ASSERT_EQ(0, syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof(attr)))
		TH_LOG("mount_setattr(MOUNT_ATTR_IDMAP): %m");
	through_idmap.dirfd = tree;

	res = run_unprivileged(self, O_RDONLY, -1);
	ASSERT_EQ(0, res.ret);
	EXPECT_EQ(-EPERM, res.status);
	EXPECT_EQ(0, dst_shared(self));
	res = run_as(self, &through_idmap, O_RDONLY, -1);
	ASSERT_EQ(0, res.ret);
	EXPECT_EQ(FILE_DEDUPE_RANGE_SAME, res.status);
	EXPECT_EQ(LEN, res.bytes);
	EXPECT_EQ(LEN, dst_shared(self));
	close(userns);
	close(tree);
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

/*
 * What an unprivileged caller cannot get through the world-accessible node
 * that FIDEDUPERANGE would not give it either: each case runs as nobody on
 * both paths and asserts the same outcome on both.
 */

/* The fixture's directory through the read-only bind mount of its filesystem. */
static int open_read_only_dir(dedupe_fixture *self)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s-ro/%s", fidedupe_mnt_root(), self->fs,
		 strrchr(self->dir, '/') + 1);
	return open(p, O_RDONLY | O_DIRECTORY);
}

TEST_F(dedupe, unprivileged_read_only_bind_mount)
{
	/* nobody owns dst, but reaches it through a read-only mount: EROFS. */
	struct caller through_ro = { .uid = NOBODY, .dirfd = -1 };
	struct child_result res;

	make_pair(_metadata, self, NOBODY, 0644);
	through_ro.dirfd = open_read_only_dir(self);
	ASSERT_LE(0, through_ro.dirfd) TH_LOG("%s-ro: %m", self->fs);
	res = run_as(self, &through_ro, O_RDONLY, -1);
	ASSERT_EQ(0, res.ret);
	EXPECT_EQ(-EROFS, res.status);
	EXPECT_EQ(0, dst_shared(self));
	close(through_ro.dirfd);
}

TEST_F(dedupe, unprivileged_not_permitted_on_read_only_mount)
{
	/*
	 * root owns dst (0644): nobody may not dedupe into it, and reaches it
	 * through a read-only mount.  Mainline asks for write access to the
	 * mount first: EROFS, not EPERM.
	 */
	struct caller through_ro = { .uid = NOBODY, .dirfd = -1 };
	struct child_result res;

	make_pair(_metadata, self, 0, 0644);
	through_ro.dirfd = open_read_only_dir(self);
	ASSERT_LE(0, through_ro.dirfd) TH_LOG("%s-ro: %m", self->fs);
	res = run_as(self, &through_ro, O_RDONLY, -1);
	ASSERT_EQ(0, res.ret);
	EXPECT_EQ(-EROFS, res.status);
	EXPECT_EQ(0, dst_shared(self));
	close(through_ro.dirfd);
}

static int set_inode_flag(dedupe_fixture *self, const char *name, int flag, bool on)
{
	int fd = fixture_open(self, name, O_RDONLY), flags, ret = 0;

	if (fd < 0)
		return fd;
	if (ioctl(fd, FS_IOC_GETFLAGS, &flags))
		ret = -errno;
	flags = on ? flags | flag : flags & ~flag;
	if (!ret && ioctl(fd, FS_IOC_SETFLAGS, &flags))
		ret = -errno;
	close(fd);
	return ret;
}

TEST_F(dedupe, unprivileged_immutable_dest)
{
	/* nobody owns dst, which is immutable: EPERM on both paths. */
	struct child_result res;

	make_pair(_metadata, self, NOBODY, 0644);
	ASSERT_EQ(0, set_inode_flag(self, "dst", FS_IMMUTABLE_FL, true));
	res = run_unprivileged(self, O_RDONLY, -1);
	ASSERT_EQ(0, set_inode_flag(self, "dst", FS_IMMUTABLE_FL, false));
	ASSERT_EQ(0, res.ret);
	EXPECT_EQ(-EPERM, res.status);
	EXPECT_EQ(0, dst_shared(self));
}

TEST_F(dedupe, unprivileged_append_only_dest)
{
	/*
	 * nobody owns dst, which is append-only.  No byte is written, so
	 * mainline dedupes it, and so does Rust; without ownership the
	 * caller may not (EPERM), append-only or not.
	 */
	struct child_result res;
	char p[PATH_MAX];

	make_pair(_metadata, self, NOBODY, 0644);
	ASSERT_EQ(0, set_inode_flag(self, "dst", FS_APPEND_FL, true));
	res = run_unprivileged(self, O_RDONLY, -1);
	ASSERT_EQ(0, res.ret);
	EXPECT_EQ(FILE_DEDUPE_RANGE_SAME, res.status);
	EXPECT_EQ(LEN, dst_shared(self));
	ASSERT_EQ(0, set_inode_flag(self, "dst", FS_APPEND_FL, false));
	ASSERT_EQ(0, close(fixture_file(self, "dst", LEN, 1)));
	snprintf(p, sizeof(p), "%s/dst", self->dir);
	ASSERT_EQ(0, chown(p, 0, 0));
	ASSERT_EQ(0, set_inode_flag(self, "dst", FS_APPEND_FL, true));
	res = run_unprivileged(self, O_RDONLY, -1);
	ASSERT_EQ(0, set_inode_flag(self, "dst", FS_APPEND_FL, false));
	ASSERT_EQ(0, res.ret);
	EXPECT_EQ(-EPERM, res.status);
	EXPECT_EQ(0, dst_shared(self));
}

/*
 * A descriptor opened by uid 1000 in its private directory (0700), which
 * nobody cannot even traverse, and passed over a socket: it is as good as
 * its open mode and the file's ownership, on both paths.  Returns the fd
 * the parent received, or -errno.
 */
static int fd_from_private_dir(dedupe_fixture *self, int flags)
{
	char dir[PATH_MAX], p[PATH_MAX + 8];
	char byte = 0, ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl),
	};
	struct cmsghdr *c;
	int sv[2], fd = -EIO;
	pid_t pid;

	snprintf(dir, sizeof(dir), "%s/private", self->dir);
	snprintf(p, sizeof(p), "%s/dst", dir);
	if (mkdir(dir, 0700) && errno != EEXIST)
		return -errno;
	if (chown(dir, 1000, 1000))
		return -errno;
	if (access(p, F_OK)) {
		fd = make_file(p, LEN, 1);
		if (fd < 0 || fchown(fd, 1000, 1000) || fchmod(fd, 0644))
			return -EIO;
		close(fd);
	}
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		return -errno;
	pid = fork();
	if (pid == 0) {
		int f;

		if (setresgid(1000, 1000, 1000) || setresuid(1000, 1000, 1000))
			_exit(1);
		f = open(p, flags);
		if (f < 0)
			_exit(2);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &f, sizeof(int));
		_exit(sendmsg(sv[1], &msg, 0) == 1 ? 0 : 3);
	}
	fd = -EIO;
	if (pid > 0 && recvmsg(sv[0], &msg, 0) == 1) {
		c = CMSG_FIRSTHDR(&msg);
		if (c && c->cmsg_type == SCM_RIGHTS)
			memcpy(&fd, CMSG_DATA(c), sizeof(int));
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
	close(sv[0]);
	close(sv[1]);
	return fd;
}

TEST_F(dedupe, unprivileged_fd_passed_from_private_dir)
{
	struct child_result res;
	int ro, rw;

	make_pair(_metadata, self, 0, 0644);
	/* Read-only: nobody neither owns it nor may write it: EPERM. */
	ro = fd_from_private_dir(self, O_RDONLY);
	ASSERT_LE(0, ro);
	res = run_unprivileged(self, 0, ro);
	ASSERT_EQ(0, res.ret);
	EXPECT_EQ(-EPERM, res.status);
	EXPECT_EQ(0, shared_bytes(ro, 0, LEN));
	close(ro);
	/* Open for writing by its owner: FMODE_WRITE allows it. */
	rw = fd_from_private_dir(self, O_RDWR);
	ASSERT_LE(0, rw);
	res = run_unprivileged(self, 0, rw);
	ASSERT_EQ(0, res.ret);
	EXPECT_EQ(FILE_DEDUPE_RANGE_SAME, res.status);
	EXPECT_EQ((int64_t)LEN, shared_bytes(rw, 0, LEN));
	close(rw);
}

/* Opens "<dir>/<name>" through the read-only bind mount of the fixture's fs. */
static int open_read_only_mount(dedupe_fixture *self, const char *name)
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
static int make_swapfile(dedupe_fixture *self, char *path, size_t size)
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
static int native_swapfile_errno(dedupe_fixture *self)
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
