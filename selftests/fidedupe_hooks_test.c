// SPDX-License-Identifier: GPL-2.0
/*
 * dedupe selftests: the hooks mainline calls around FIDEDUPERANGE, seen
 * from outside, on btrfs and xfs.
 *
 * - security_file_ioctl() on the source, which fs/ioctl.c calls before
 *   any ioctl: with Smack, a caller that may only read the source's label
 *   gets EACCES, because Smack asks for write and read access for an
 *   _IOWR command such as FIDEDUPERANGE.
 * - remap_verify_area() on the source (for the call and again for each
 *   destination) and on each destination: a fanotify pre-content listener
 *   counts the events and denies chosen ones.
 * - fsnotify's close event, which the last fput() of a file sends: the
 *   call drops exactly the references it took, with the file table of one
 *   thread (fdget() borrows) and of two (fdget() counts).
 */
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/fanotify.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <linux/capability.h>

#include "dedupe_fixture.h"

#ifndef FAN_PRE_ACCESS
#define FAN_PRE_ACCESS 0x00100000
#endif

#define LEN (64 * KiB)
#define SMACKFS "/sys/fs/smackfs"
#define SUBJECT "fidedupe_t"
/*
 * The label of the file the subject may only read, one per filesystem:
 * make check runs the btrfs and the xfs variants side by side, and a rule
 * is global.
 */
#define SECRET(self) (strcmp((self)->fs, "btrfs") ? "fidedupe_secret_xfs" : \
		      "fidedupe_secret_btrfs")

/* Mounts smackfs if it is not; 0, or -errno if Smack is not active. */
static int smackfs_ready(void)
{
	if (!access(SMACKFS "/load2", W_OK))
		return 0;
	if (access(SMACKFS, F_OK))
		return -ENOENT;
	if (mount("smackfs", SMACKFS, "smackfs", 0, NULL) && errno != EBUSY)
		return -errno;
	return access(SMACKFS "/load2", W_OK) ? -errno : 0;
}

static int write_string(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -EIO;
}

/* Sets the rule "SUBJECT @object @access" (access "r", "rw", "rwx", ...). */
static int smack_rule(const char *object, const char *access)
{
	char rule[128];

	snprintf(rule, sizeof(rule), "%s %s %s", SUBJECT, object, access);
	return write_string(SMACKFS "/load2", rule);
}

/* root without CAP_MAC_ADMIN and CAP_MAC_OVERRIDE: Smack's rules bind it. */
static int drop_mac_caps(void)
{
	struct __user_cap_header_struct header = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &header, data))
		return -errno;
	data[CAP_TO_INDEX(CAP_MAC_ADMIN)].effective &= ~CAP_TO_MASK(CAP_MAC_ADMIN);
	data[CAP_TO_INDEX(CAP_MAC_ADMIN)].permitted &= ~CAP_TO_MASK(CAP_MAC_ADMIN);
	data[CAP_TO_INDEX(CAP_MAC_OVERRIDE)].effective &= ~CAP_TO_MASK(CAP_MAC_OVERRIDE);
	data[CAP_TO_INDEX(CAP_MAC_OVERRIDE)].permitted &= ~CAP_TO_MASK(CAP_MAC_OVERRIDE);
	return syscall(SYS_capset, &header, data) ? -errno : 0;
}

/*
 * Makes the fixture's "src" and "dst" and labels @secret of them SECRET;
 * everything else the subject touches keeps the floor label "_", to which
 * it gets full access.  Returns 0 or -errno.
 */
static int label_one_secret(dedupe_fixture *self, const char *secret)
{
	char p[PATH_MAX];
	int fd;

	fd = fixture_file(self, "src", LEN, 1);
	if (fd < 0 || close(fd))
		return fd < 0 ? fd : -errno;
	fd = fixture_file(self, "dst", LEN, 1);
	if (fd < 0 || close(fd))
		return fd < 0 ? fd : -errno;
	snprintf(p, sizeof(p), "%s/%s", self->dir, secret);
	if (setxattr(p, "security.SMACK64", SECRET(self), strlen(SECRET(self)), 0))
		return -errno;
	return smack_rule("_", "rwx");
}

/*
 * In a child labelled SUBJECT without the MAC capabilities: dedupe all of
 * "src" into "dst", both opened read-only.  Returns the call's result and
 * the destination's status through @status.
 */
static int dedupe_as_smack_subject(dedupe_fixture *self, int32_t *status)
{
	struct {
		int ret;
		int32_t status;
	} *shared;
	int wstatus, ret = -ECHILD;
	pid_t pid;

	shared = mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED)
		return -ENOMEM;
	shared->ret = -ECHILD;
	pid = fork();
	if (pid == 0) {
		uint64_t bytes;
		int src, dst;

		if (write_string("/proc/self/attr/smack/current", SUBJECT) &&
		    write_string("/proc/self/attr/current", SUBJECT))
			_exit(1);
		if (drop_mac_caps())
			_exit(1);
		src = fixture_open(self, "src", O_RDONLY);
		dst = fixture_open(self, "dst", O_RDONLY);
		if (src < 0 || dst < 0) {
			shared->ret = src < 0 ? src : dst;
			_exit(2);
		}
		shared->ret = dedupe_one(self, src, 0, LEN, dst, 0, &shared->status, &bytes);
		_exit(0);
	}
	if (pid > 0 && waitpid(pid, &wstatus, 0) == pid) {
		ret = shared->ret;
		*status = shared->status;
	}
	munmap(shared, sizeof(*shared));
	return ret;
}

TEST_F(dedupe, lsm_file_ioctl_on_the_source)
{
	/*
	 * The source is labelled SECRET.  With read access only, the caller
	 * may open it but not issue FIDEDUPERANGE on it: EACCES from the LSM,
	 * whichever path; with read and write access the call dedupes.
	 */
	int32_t status = 0;
	int dst, ret;

	ret = smackfs_ready();
	if (ret)
		SKIP(return, "Smack is not active (%s)", strerror(-ret));
	ASSERT_EQ(0, label_one_secret(self, "src"));
	dst = fixture_open(self, "dst", O_RDONLY);
	ASSERT_LE(0, dst);

	ASSERT_EQ(0, smack_rule(SECRET(self), "r"));
	EXPECT_EQ(-EACCES, dedupe_as_smack_subject(self, &status));
	EXPECT_EQ(0, shared_bytes(dst, 0, LEN));

	ASSERT_EQ(0, smack_rule(SECRET(self), "rw"));
	EXPECT_EQ(0, dedupe_as_smack_subject(self, &status));
	EXPECT_EQ(FILE_DEDUPE_RANGE_SAME, status);
	EXPECT_EQ((int64_t)LEN, shared_bytes(dst, 0, LEN));
}

TEST_F(dedupe, lsm_file_ioctl_not_on_destinations)
{
	/*
	 * The destination is labelled SECRET and the caller may only read
	 * it.  fs/ioctl.c asks the LSM about the ioctl's own file, the
	 * source, and nothing else, so the call dedupes on both paths: the
	 * caller is root, whose CAP_SYS_ADMIN is its dedupe permission on a
	 * read-only descriptor, and Smack has no file_permission hook to
	 * refuse remap_verify_area().  An ioctl hook on the destination would
	 * ask Smack for write access to SECRET and get EACCES.
	 */
	int32_t status = 0;
	int dst, ret;

	ret = smackfs_ready();
	if (ret)
		SKIP(return, "Smack is not active (%s)", strerror(-ret));
	ASSERT_EQ(0, label_one_secret(self, "dst"));
	dst = fixture_open(self, "dst", O_RDONLY);
	ASSERT_LE(0, dst);
	ASSERT_EQ(0, smack_rule(SECRET(self), "r"));
	EXPECT_EQ(0, dedupe_as_smack_subject(self, &status));
	EXPECT_EQ(FILE_DEDUPE_RANGE_SAME, status);
	EXPECT_EQ((int64_t)LEN, shared_bytes(dst, 0, LEN));
}

/* A fanotify pre-content listener on a few files, answering in a thread. */
struct listener {
	int group;
	unsigned int files;
	ino_t ino[4];
	atomic_uint events[4];	/* per file, since the listener started */
	int deny_file;		/* deny this file's event number deny_nth (1-based) */
	unsigned int deny_nth;
	atomic_bool stop;
	pthread_t thread;
};

static int file_index(struct listener *l, int fd)
{
	struct stat st;
	unsigned int i;

	if (fstat(fd, &st))
		return -1;
	for (i = 0; i < l->files; i++)
		if (l->ino[i] == st.st_ino)
			return i;
	return -1;
}

static void *listen_events(void *arg)
{
	struct listener *l = arg;
	struct fanotify_event_metadata buf[4096 / sizeof(struct fanotify_event_metadata)];
	struct fanotify_event_metadata *ev;
	ssize_t n;

	while (!atomic_load(&l->stop)) {
		struct pollfd pfd = { .fd = l->group, .events = POLLIN };

		if (poll(&pfd, 1, 50) <= 0)
			continue;
		n = read(l->group, buf, sizeof(buf));
		for (ev = buf; n > 0 && FAN_EVENT_OK(ev, n); ev = FAN_EVENT_NEXT(ev, n)) {
			struct fanotify_response resp = { .fd = ev->fd, .response = FAN_ALLOW };
			int i = file_index(l, ev->fd);

			if (i >= 0) {
				unsigned int nth = atomic_fetch_add(&l->events[i], 1) + 1;

				if (i == l->deny_file && nth == l->deny_nth)
					resp.response = FAN_DENY;
			}
			if (ev->mask & FAN_PRE_ACCESS &&
			    write(l->group, &resp, sizeof(resp)) != sizeof(resp))
				return (void *)1;
			close(ev->fd);
		}
	}
	return NULL;
}

/*
 * Marks "<dir>/<names[i]>" for FAN_PRE_ACCESS and starts answering; files
 * opened from now on report their remap_verify_area() calls.
 */
static int listener_start(dedupe_fixture *self, struct listener *l,
			  const char *const *names, unsigned int files)
{
	unsigned int i;
	char p[PATH_MAX];
	struct stat st;

	memset(l, 0, sizeof(*l));
	l->deny_file = -1;
	l->files = files;
	l->group = fanotify_init(FAN_CLASS_PRE_CONTENT | FAN_CLOEXEC, O_RDONLY | O_LARGEFILE);
	if (l->group < 0)
		return -errno;
	for (i = 0; i < files; i++) {
		snprintf(p, sizeof(p), "%s/%s", self->dir, names[i]);
		if (stat(p, &st) ||
		    fanotify_mark(l->group, FAN_MARK_ADD, FAN_PRE_ACCESS, AT_FDCWD, p))
			return -errno;
		l->ino[i] = st.st_ino;
	}
	return pthread_create(&l->thread, NULL, listen_events, l) ? -EAGAIN : 0;
}

static int listener_stop(struct listener *l)
{
	void *failed = NULL;

	atomic_store(&l->stop, true);
	pthread_join(l->thread, &failed);
	close(l->group);
	return failed ? -EIO : 0;
}

static const char *const hook_files[] = { "src", "d0", "d1", "d2" };

/*
 * Reopens the four files (after the marks) and dedupes src into d0..d2,
 * each at its offset in @dest_offset.
 */
static int dedupe_three_at(dedupe_fixture *self, struct file_dedupe_range *r,
			   const uint64_t dest_offset[3])
{
	int fd[4], i, ret;

	for (i = 0; i < 4; i++) {
		fd[i] = fixture_open(self, hook_files[i], O_RDONLY);
		if (fd[i] < 0)
			return fd[i];
	}
	range_set(r, 0, LEN, 3);
	for (i = 0; i < 3; i++)
		range_dest(r, i, fd[i + 1], dest_offset[i]);
	ret = fixture_dedupe(self, fd[0], r);
	for (i = 0; i < 4; i++)
		close(fd[i]);
	return ret;
}

/* dedupe_three_at() with every destination at 0. */
static int dedupe_three(dedupe_fixture *self, struct file_dedupe_range *r)
{
	static const uint64_t at_zero[3];

	return dedupe_three_at(self, r, at_zero);
}

static int make_hook_files(dedupe_fixture *self)
{
	int i, fd;

	for (i = 0; i < 4; i++) {
		fd = fixture_file(self, hook_files[i], LEN, 1);
		if (fd < 0)
			return fd;
		close(fd);
	}
	return 0;
}

/*
 * Dedupes src into d0..d2, each at its offset in @dest_offset, with a
 * listener counting each file's events into @events.  Returns the call's
 * 0 or -errno, or 1 if this kernel has no fanotify pre-content events.
 */
static int count_area_events(struct __test_metadata *_metadata, dedupe_fixture *self,
			     struct file_dedupe_range *r, const uint64_t dest_offset[3],
			     unsigned int events[4])
{
	struct listener l;
	int i, ret;

	ASSERT_EQ(0, make_hook_files(self));
	ret = listener_start(self, &l, hook_files, 4);
	if (ret == -EINVAL || ret == -EOPNOTSUPP)
		return 1;
	ASSERT_EQ(0, ret) TH_LOG("fanotify listener: %s", strerror(-ret));
	ret = dedupe_three_at(self, r, dest_offset);
	ASSERT_EQ(0, listener_stop(&l));
	for (i = 0; i < 4; i++)
		events[i] = atomic_load(&l.events[i]);
	return ret;
}

TEST_F(dedupe, remap_verify_area_events)
{
	/*
	 * One call, three destinations: remap_verify_area() runs on the
	 * source once for the call and once more per destination, and once
	 * on each destination, so the source reports 4 events and each
	 * destination 1, on both paths.
	 */
	static const uint64_t at_zero[3];
	struct file_dedupe_range *r = range_alloc(3);
	unsigned int events[4];
	int i, ret;

	ret = count_area_events(_metadata, self, r, at_zero, events);
	if (ret == 1)
		SKIP(return, "no fanotify pre-content events here");
	ASSERT_EQ(0, ret);
	for (i = 0; i < 3; i++)
		EXPECT_EQ(FILE_DEDUPE_RANGE_SAME, r->info[i].status);
	EXPECT_EQ(4, events[0]);
	/* Not in a loop: EXPECT_EQ() and its TH_LOG() are two statements. */
	EXPECT_EQ(1, events[1]) TH_LOG("d0");
	EXPECT_EQ(1, events[2]) TH_LOG("d1");
	EXPECT_EQ(1, events[3]) TH_LOG("d2");
	free(r);
}

TEST_F(dedupe, remap_verify_area_events_bad_dest_offset)
{
	/*
	 * Destinations whose offset remap_verify_area() refuses before its
	 * hooks: d0 at -4096 as a loff_t, d1 at an end past LLONG_MAX; and as
	 * a control d2 past its EOF, which that check passes.  mainline's
	 * vfs_dedupe_file_range_one() checks the source's area first, so the
	 * source reports 4 events whatever the destinations' offsets, d0 and
	 * d1 none, d2 one; all three are EINVAL, on both paths.
	 */
	const uint64_t dest_offset[3] = {
		(uint64_t)-4096, (uint64_t)INT64_MAX - 4096, 2 * LEN,
	};
	struct file_dedupe_range *r = range_alloc(3);
	unsigned int events[4];
	int i, ret;

	ret = count_area_events(_metadata, self, r, dest_offset, events);
	if (ret == 1)
		SKIP(return, "no fanotify pre-content events here");
	ASSERT_EQ(0, ret);
	for (i = 0; i < 3; i++)
		EXPECT_EQ(-EINVAL, r->info[i].status);
	EXPECT_EQ(4, events[0]) TH_LOG("src");
	EXPECT_EQ(0, events[1]) TH_LOG("d0 at -4096");
	EXPECT_EQ(0, events[2]) TH_LOG("d1 ending past LLONG_MAX");
	EXPECT_EQ(1, events[3]) TH_LOG("d2 past its EOF");
	free(r);
}

/*
 * The call with the listener denying the @nth event of file @file; returns
 * the call's 0 or -errno.  The set-up must succeed: whether this kernel
 * has pre-content events at all is asked before, by the caller.
 */
static int dedupe_denied(struct __test_metadata *_metadata, dedupe_fixture *self,
			 struct file_dedupe_range *r, int file, unsigned int nth)
{
	struct listener l;
	int ret;

	ASSERT_EQ(0, make_hook_files(self));
	ret = listener_start(self, &l, hook_files, 4);
	ASSERT_EQ(0, ret) TH_LOG("fanotify listener: %s", strerror(-ret));
	l.deny_file = file;
	l.deny_nth = nth;
	ret = dedupe_three(self, r);
	EXPECT_EQ(0, listener_stop(&l));
	return ret;
}

TEST_F(dedupe, remap_verify_area_denied)
{
	struct file_dedupe_range *r = range_alloc(3);
	struct listener l;
	int ret;

	/*
	 * The prerequisite, before any call: a listener for pre-content
	 * events.  Its absence is the only SKIP; whatever errno a call
	 * returns below is the case's result.
	 */
	ASSERT_EQ(0, make_hook_files(self));
	ret = listener_start(self, &l, hook_files, 4);
	if (ret == -EINVAL || ret == -EOPNOTSUPP)
		SKIP(return, "no fanotify pre-content events here (%s)", strerror(-ret));
	ASSERT_EQ(0, ret);
	ASSERT_EQ(0, listener_stop(&l));

	/* The source's first event: the call itself fails. */
	ret = dedupe_denied(_metadata, self, r, 0, 1);
	EXPECT_EQ(-EPERM, ret);
	EXPECT_EQ(0x5a5a5a5a, r->info[0].status);

	/* The source's second: its check for the first destination. */
	ASSERT_EQ(0, dedupe_denied(_metadata, self, r, 0, 2));
	EXPECT_EQ(-EPERM, r->info[0].status);
	EXPECT_EQ(FILE_DEDUPE_RANGE_SAME, r->info[1].status);
	EXPECT_EQ(FILE_DEDUPE_RANGE_SAME, r->info[2].status);

	/* The second destination's own. */
	ASSERT_EQ(0, dedupe_denied(_metadata, self, r, 2, 1));
	EXPECT_EQ(FILE_DEDUPE_RANGE_SAME, r->info[0].status);
	EXPECT_EQ(-EPERM, r->info[1].status);
	EXPECT_EQ(0, r->info[1].bytes_deduped);
	EXPECT_EQ(FILE_DEDUPE_RANGE_SAME, r->info[2].status);
	free(r);
}

/* The close events queued on inotify group @group, read without waiting. */
static int close_events(int group)
{
	union {
		struct inotify_event first;	/* aligns the buffer */
		char buf[4096];
	} u;
	struct inotify_event *ev;
	int count = 0;
	ssize_t n;

	while ((n = read(group, u.buf, sizeof(u.buf))) > 0)
		for (ev = &u.first; (char *)ev < u.buf + n;
		     ev = (void *)((char *)ev + sizeof(*ev) + ev->len))
			count += !!(ev->mask & IN_CLOSE);
	return n < 0 && errno != EAGAIN ? -errno : count;
}

static void *wait_for_eof(void *arg)
{
	char c;

	return (void *)(long)read(*(int *)arg, &c, 1);
}

/*
 * Calls with a file that is the source, a destination, both, and a
 * destination named twice, then close(): no close event before it (a
 * reference the call did not take was dropped: the file would be freed
 * under the caller's descriptor), one after it (a reference it took was
 * kept: the file would never be freed).  @threads 2 shares the file table.
 */
static void files_released_once(struct __test_metadata *_metadata,
				dedupe_fixture *self, int threads)
{
	struct file_dedupe_range *r = range_alloc(2);
	int group, src, dst, ends[2], i;
	char p[PATH_MAX];
	pthread_t thread;

	ASSERT_EQ(0, make_hook_files(self));
	group = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	ASSERT_LE(0, group);
	for (i = 0; i < 2; i++) {
		snprintf(p, sizeof(p), "%s/%s", self->dir, hook_files[i]);
		ASSERT_LE(0, inotify_add_watch(group, p, IN_CLOSE));
	}
	ASSERT_EQ(0, pipe(ends));
	if (threads == 2)
		ASSERT_EQ(0, pthread_create(&thread, NULL, wait_for_eof, &ends[0]));
	src = fixture_open(self, hook_files[0], O_RDONLY);
	dst = fixture_open(self, hook_files[1], O_RDONLY);
	ASSERT_LE(0, src);
	ASSERT_LE(0, dst);

	/* The files are equal; within one, its blocks differ. */
	range_set(r, 0, 4096, 2);
	range_dest(r, 0, dst, 0);
	range_dest(r, 1, dst, 0);
	ASSERT_EQ(0, fixture_dedupe(self, src, r));
	EXPECT_EQ(FILE_DEDUPE_RANGE_SAME, r->info[0].status);
	EXPECT_EQ(FILE_DEDUPE_RANGE_SAME, r->info[1].status);
	range_set(r, 0, 4096, 1);
	range_dest(r, 0, src, 8192);
	ASSERT_EQ(0, fixture_dedupe(self, src, r));
	EXPECT_EQ(FILE_DEDUPE_RANGE_DIFFERS, r->info[0].status);
	EXPECT_EQ(0, close_events(group)) TH_LOG("a close event before close()");

	close(src);
	close(dst);
	EXPECT_EQ(2, close_events(group)) TH_LOG("not one close event per file");
	close(ends[1]);
	if (threads == 2)
		pthread_join(thread, NULL);
	close(ends[0]);
	close(group);
	free(r);
}

TEST_F(dedupe, files_released_once_one_thread)
{
	files_released_once(_metadata, self, 1);
}

TEST_F(dedupe, files_released_once_two_threads)
{
	files_released_once(_metadata, self, 2);
}

TEST_HARNESS_MAIN
