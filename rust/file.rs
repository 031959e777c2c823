// SPDX-License-Identifier: GPL-2.0

//! A file named by a request, as a small safe type over `struct file`.
//!
//! [`OpenFile`] holds a file as `fdget()` does (or with `get_file()`, the
//! file an ioctl was issued on) for the duration of the call and
//! answers the questions of [`RemapFile`] from the fields of the file and
//! its inode, as `linux/fs.h`'s inline functions read them, through the
//! kernel's exported functions, and through the C helpers of `glue.c` for
//! what Rust cannot reach (`current`'s credentials and signals,
//! `i_size_read()`'s barrier, the LSM hook).
//!
//! The small methods are `#[inline(always)]`: they stand for those inline
//! functions, one or two loads each, and at `opt-level=s` (the kernel's
//! `CONFIG_CC_OPTIMIZE_FOR_SIZE`) rustc otherwise calls each one out of
//! line, a dozen calls on every ioctl.

use kernel::{
    bindings,
    ffi::{
        c_int,
        c_ulong, //
    },
    prelude::*,
    types::NotThreadSafe, //
};

use crate::engine::{
    Caller,
    CheckedPair,
    RemapFile, //
};
use crate::rules::{
    fd_number,
    ChunkResult,
    DedupePermission,
    FileFacts,
    FileKind,
    FileRange, //
};

/// The helpers in `glue.c`.
mod glue {
    use kernel::bindings::{
        file,
        loff_t, //
    };
    use kernel::ffi::{
        c_int,
        c_ulong, //
    };

    // `struct file` holds zero-sized arrays (`its_array`) that rustc calls
    // FFI-unsafe; only pointers to it cross here, as in the `bindings` crate,
    // which allows the same lint.
    #[expect(improper_ctypes)]
    extern "C" {
        pub(super) fn fidedupe_fatal_signal_pending() -> bool;
        pub(super) fn fidedupe_i_size_read(file: *const file) -> loff_t;
        pub(super) fn fidedupe_caller_owns(file: *const file) -> bool;
        pub(super) fn fidedupe_caller_may_write(file: *const file) -> bool;
        pub(super) fn fidedupe_security_fideduperange(file: *mut file, arg: c_ulong) -> c_int;
    }
}

/// `FMODE_READ` of `linux/fs.h`, which bindgen cannot evaluate (a
/// `__force` cast); `glue.c` asserts at build time that it matches.
const FMODE_READ: bindings::fmode_t = 1 << 0;
/// `FMODE_WRITE` of `linux/fs.h`, checked like [`FMODE_READ`].
const FMODE_WRITE: bindings::fmode_t = 1 << 1;

/// `kernel::error::to_result()`, inlined: that one is an out-of-line call
/// from this crate, made here after each kernel function a call passes
/// through (`remap_verify_area()`, `mnt_want_write_file()`, the LSM hook).
#[inline(always)]
fn errno_result(ret: c_int) -> Result {
    if ret < 0 {
        Err(Error::from_errno(ret))
    } else {
        Ok(())
    }
}

/// A file resolved from a descriptor of the calling task, held as
/// `fs/ioctl.c` holds the files of `FIDEDUPERANGE`: with `fdget()`.
///
/// While the task's file table is not shared, `fdget()` borrows the file
/// without touching its reference count: no other task can close the
/// descriptor, and this one cannot while it runs the call.  With a shared
/// table it takes a reference of its own and says so with `FDPUT_FPUT`.
/// [`Drop`] is `fdput()`.
///
/// A borrowed file is valid only while this thread is in the call, so an
/// `OpenFile` is only ever lent, never owned: [`OpenFile::with_fd`] and
/// [`OpenFile::with_raw`] make one, lend it to a closure, and drop it when
/// the closure returns; the closure cannot keep it (its lifetime ends with
/// the closure), and it is `!Send` and `!Sync`.  Nothing here reads or
/// writes `f_pos`, so `fdget_pos()`'s `f_pos_lock` is no concern of it.
///
/// # Invariants
///
/// `self.fd` is a `struct fd` that is not empty: the address of a
/// `struct file` that is not an `O_PATH` file, so `f_inode` and `f_op` are
/// set and stay set while it is held, and `FDPUT_FPUT` if the reference is
/// counted and ours to drop; it is valid until `self` is dropped, which
/// happens before the call that made it returns.
pub(crate) struct OpenFile {
    fd: bindings::fd,
    _not_thread_safe: NotThreadSafe,
}

/// The flag of a `struct fd` that holds a counted reference (`fdput()`
/// drops it).
const FD_COUNTED: c_ulong = bindings::FDPUT_FPUT as c_ulong;
/// The flag bits of a `struct fd` (`fd_file()` masks them off).
const FD_FLAGS: c_ulong = FD_COUNTED | bindings::FDPUT_POS_UNLOCK as c_ulong;

impl OpenFile {
    /// Lends `f` the file that the user-supplied descriptor number `fd`
    /// names in the calling task, held as `fdget()` holds it until `f`
    /// returns; `EBADF` if `fd` is out of range, not open, or an `O_PATH`
    /// descriptor.
    pub(crate) fn with_fd<R>(fd: i64, f: impl FnOnce(&OpenFile) -> R) -> Result<R> {
        let file = Self::get(fd)?;
        Ok(f(&file))
    }

    /// Lends `f` a file its caller holds, with a reference of its own
    /// until `f` returns.
    ///
    /// # Safety
    ///
    /// `ptr` is a valid `struct file`, not an `O_PATH` file, that the caller
    /// keeps referenced until this function returns.
    pub(crate) unsafe fn with_raw<R>(
        ptr: *mut bindings::file,
        f: impl FnOnce(&OpenFile) -> R,
    ) -> R {
        // SAFETY: The function's contract is `from_raw()`'s.
        let file = unsafe { Self::from_raw(ptr) };
        f(&file)
    }

    /// Resolves a user-supplied descriptor number; `EBADF` if it is out of
    /// range, not open, or an `O_PATH` descriptor.
    fn get(fd: i64) -> Result<Self> {
        let number = fd_number(fd)?;
        // SAFETY: `fdget()` may be called with any number in process
        // context; it returns an empty `struct fd` for one that is not an
        // open, non-`O_PATH` descriptor (`FMODE_PATH` is in its mask).
        let fd = unsafe { bindings::fdget(number) };
        if fd.word == 0 {
            return Err(EBADF);
        }
        // INVARIANT: not empty and not `O_PATH` (above); borrowed from this
        // task's unshared table, which only this thread can change and
        // does not during the call, or counted with `FDPUT_FPUT`; only
        // `with_fd()` calls this, and drops the result before it returns.
        Ok(Self {
            fd,
            _not_thread_safe: NotThreadSafe,
        })
    }

    /// Takes a reference of its own to a file its caller holds.
    ///
    /// # Safety
    ///
    /// `ptr` is a valid `struct file`, not an `O_PATH` file, that the caller
    /// keeps referenced until this function returns.
    unsafe fn from_raw(ptr: *mut bindings::file) -> Self {
        // SAFETY: `ptr` is a valid file that the caller keeps referenced
        // for the duration of this call (the function's contract), so its
        // count is not zero and `get_file()` may take one more.
        let file = unsafe { bindings::get_file(ptr) };
        // INVARIANT: a counted reference of our own (`CLONED_FD()`) to a
        // file that is not `O_PATH` (the function's contract); a
        // `struct file` is aligned to more than the flag bits.
        Self {
            fd: bindings::fd {
                word: file as c_ulong | FD_COUNTED,
            },
            _not_thread_safe: NotThreadSafe,
        }
    }

    #[inline(always)]
    fn as_ptr(&self) -> *mut bindings::file {
        (self.fd.word & !FD_FLAGS) as *mut bindings::file
    }

    /// The file's `f_mode`.
    #[inline(always)]
    fn f_mode(&self) -> bindings::fmode_t {
        // SAFETY: `as_ptr()` is a valid file (type invariant).  Read once,
        // as `READ_ONCE()` would: a few of its flags may change while the
        // file is open, the ones asked about here do not.
        unsafe { core::ptr::addr_of!((*self.as_ptr()).f_mode).read_volatile() }
    }

    /// The file's inode, `file_inode()`.
    #[inline(always)]
    fn inode(&self) -> *mut bindings::inode {
        // SAFETY: `as_ptr()` is a valid file (type invariant), whose
        // `f_inode` is set at open and never changes.
        unsafe { (*self.as_ptr()).f_inode }
    }

    /// The inode's `i_mode`.
    #[inline(always)]
    fn inode_mode(&self) -> bindings::umode_t {
        // SAFETY: The inode of a file we hold is valid while we hold it
        // (type invariant).  Read once, as `READ_ONCE()` would: its type
        // bits never change, `chmod()` may change the others under us.
        unsafe { core::ptr::addr_of!((*self.inode()).i_mode).read_volatile() }
    }

    /// The inode's `i_flags` (`S_IMMUTABLE`, `S_SWAPFILE`, ...).
    #[inline(always)]
    fn inode_flags(&self) -> u32 {
        // SAFETY: The inode of a file we hold is valid while we hold it
        // (type invariant).  Read once, as `READ_ONCE()` would:
        // `FS_IOC_SETFLAGS` and `swapon` change it without our locks, as
        // they race with mainline's plain reads.
        unsafe { core::ptr::addr_of!((*self.inode()).i_flags).read_volatile() }
    }

    /// Asks the LSMs whether the caller may issue `FIDEDUPERANGE` with
    /// `arg` on this file: the `security_file_ioctl()` call `fs/ioctl.c`
    /// makes before it runs the ioctl.
    #[inline(always)]
    pub(crate) fn check_fideduperange_ioctl(&self, arg: u64) -> Result {
        // `arg` is a user address; the hook only passes it on.
        let arg = usize::try_from(arg).map_err(|_| EFAULT)?;
        // SAFETY: `as_ptr()` is a valid file (type invariant), and the
        // hook may be called on any open file in process context.
        let ret = unsafe { glue::fidedupe_security_fideduperange(self.as_ptr(), arg) };
        errno_result(ret)
    }
}

impl Drop for OpenFile {
    fn drop(&mut self) {
        // `fdput()`: only a counted reference is ours to drop.
        if self.fd.word & FD_COUNTED != 0 {
            // SAFETY: `as_ptr()` is a file we hold a counted reference to
            // (type invariant), dropped here exactly once.
            unsafe { bindings::fput(self.as_ptr()) }
        }
    }
}

impl FileFacts for OpenFile {
    #[inline(always)]
    fn is_readable(&self) -> bool {
        self.f_mode() & FMODE_READ != 0
    }

    #[inline(always)]
    fn kind(&self) -> FileKind {
        match u32::from(self.inode_mode()) & bindings::S_IFMT {
            bindings::S_IFREG => FileKind::Regular,
            bindings::S_IFDIR => FileKind::Directory,
            _ => FileKind::Other,
        }
    }

    #[inline(always)]
    fn can_remap(&self) -> bool {
        // SAFETY: `f_op` of an open, non-`O_PATH` file points to the
        // filesystem's static operations and does not change while the file
        // is open, and we hold a reference (type invariant).
        unsafe { (*(*self.as_ptr()).f_op).remap_file_range.is_some() }
    }

    #[inline(always)]
    fn is_swapfile(&self) -> bool {
        // `IS_SWAPFILE()`: always false without swap support.
        cfg!(CONFIG_SWAP) && self.inode_flags() & bindings::S_SWAPFILE != 0
    }

    #[inline(always)]
    fn is_immutable(&self) -> bool {
        self.inode_flags() & bindings::S_IMMUTABLE != 0
    }
}

impl DedupePermission for OpenFile {
    #[inline(always)]
    fn caller_is_admin(&self) -> bool {
        // SAFETY: `capable()` may be called from process context with any
        // capability number, and `CAP_SYS_ADMIN` is one.
        unsafe { bindings::capable(bindings::CAP_SYS_ADMIN as i32) }
    }

    #[inline(always)]
    fn is_open_for_write(&self) -> bool {
        self.f_mode() & FMODE_WRITE != 0
    }

    #[inline(always)]
    fn caller_owns(&self) -> bool {
        // SAFETY: `as_ptr()` is a valid file with an inode and a mount
        // (type invariant), and the helper reads the current task's creds.
        unsafe { glue::fidedupe_caller_owns(self.as_ptr()) }
    }

    #[inline(always)]
    fn caller_may_write(&self) -> bool {
        // SAFETY: As for `caller_owns()`; `inode_permission()` may sleep,
        // and we are in process context (an ioctl).
        unsafe { glue::fidedupe_caller_may_write(self.as_ptr()) }
    }
}

/// Write access to a destination's mount, from `mnt_want_write_file()`;
/// dropped with `mnt_drop_write_file()`.
pub(crate) struct MountWriteAccess<'a>(&'a OpenFile);

impl Drop for MountWriteAccess<'_> {
    fn drop(&mut self) {
        // SAFETY: This value exists only after `mnt_want_write_file()`
        // succeeded on the same file, which is still referenced through
        // the borrow, so the access is ours to drop exactly once.
        unsafe { bindings::mnt_drop_write_file(self.0.as_ptr()) }
    }
}

impl RemapFile for OpenFile {
    type WriteAccess<'a> = MountWriteAccess<'a>;

    #[inline(always)]
    fn size(&self) -> Result<u64> {
        // SAFETY: `as_ptr()` is a valid file with an inode (type invariant).
        let size = unsafe { glue::fidedupe_i_size_read(self.as_ptr()) };
        // A negative size is a corrupt inode, not a size to compare with.
        u64::try_from(size).map_err(|_| EIO)
    }

    #[inline(always)]
    fn block_size(&self) -> u64 {
        // `i_blocksize()`.
        // SAFETY: The inode of a file we hold is valid (type invariant);
        // a regular file's `i_blkbits` is set when the inode is made.
        let bits = unsafe { (*self.inode()).i_blkbits };
        1u64.checked_shl(u32::from(bits)).unwrap_or(0)
    }

    #[inline(always)]
    fn same_fs(&self, other: &Self) -> bool {
        // SAFETY: The inodes of files we hold are valid (type invariant),
        // and an inode's `i_sb` never changes.
        unsafe { (*self.inode()).i_sb == (*other.inode()).i_sb }
    }

    #[inline(always)]
    fn same_inode(&self, other: &Self) -> bool {
        self.inode() == other.inode()
    }

    #[inline(always)]
    fn verify_area(&self, range: FileRange, write: bool) -> Result {
        // SAFETY: `as_ptr()` is a valid file (type invariant), and the
        // offset and length are non-negative `loff_t`s whose sum fits
        // (`FileRange`'s invariant).
        let ret = unsafe {
            bindings::remap_verify_area(self.as_ptr(), range.loff_offset(), range.loff_len(), write)
        };
        errno_result(ret)
    }

    #[inline(always)]
    fn want_write(&self) -> Result<MountWriteAccess<'_>> {
        // SAFETY: `as_ptr()` is a valid file (type invariant); on success
        // the access is released by `MountWriteAccess::drop`.
        let ret = unsafe { bindings::mnt_want_write_file(self.as_ptr()) };
        errno_result(ret)?;
        Ok(MountWriteAccess(self))
    }

    fn remap(
        pair: &CheckedPair<'_, Self>,
        src_part: FileRange,
        dest_part: FileRange,
    ) -> ChunkResult {
        let (src, dest) = (pair.src(), pair.dest());
        if src_part.len() != dest_part.len() {
            return ChunkResult::Failed(EINVAL);
        }
        // SAFETY: See `can_remap()`.
        let Some(remap) = (unsafe { (*(*dest.as_ptr()).f_op).remap_file_range }) else {
            return ChunkResult::Failed(EOPNOTSUPP);
        };
        let flags = bindings::REMAP_FILE_DEDUP | bindings::REMAP_FILE_CAN_SHORTEN;
        // SAFETY: Both files are referenced for the whole call (type
        // invariant).  `pair` is the proof of what the callback requires
        // of its caller: both regular files of one superblock (the
        // callback casts both inodes to its filesystem's type), both
        // areas verified, dedupe permitted, and `mnt_want_write_file()`
        // held on `dest` while `pair` lives.  Offsets and length come
        // from `FileRange`s, so they and their sums fit in `loff_t`.
        // `remap_file_range` may sleep, and this is process context.
        let ret = unsafe {
            remap(
                src.as_ptr(),
                src_part.loff_offset(),
                dest.as_ptr(),
                dest_part.loff_offset(),
                dest_part.loff_len(),
                flags,
            )
        };
        ChunkResult::from_remap_return(ret)
    }
}

/// The task that issued the ioctl (`current`).
pub(crate) struct CallingTask;

impl Caller for CallingTask {
    #[inline(always)]
    fn fatal_signal_pending(&self) -> bool {
        // SAFETY: Reading `current`'s pending signals is always valid in
        // process context.
        unsafe { glue::fidedupe_fatal_signal_pending() }
    }
}
