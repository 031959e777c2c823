// SPDX-License-Identifier: GPL-2.0

//! A file named by a request, as a small safe type over `struct file`.
//!
//! [`OpenFile`] holds a reference taken with `fget()` (or `get_file()` on
//! the file an ioctl was issued on) for the duration of the call and
//! answers the questions of [`RemapFile`] through the kernel's exported
//! functions and the one-line C helpers of `glue.c`.

use kernel::{bindings, fs::LocalFile, prelude::*, sync::aref::ARef};

use crate::engine::{Caller, RemapFile};
use crate::rules::{fd_number, ChunkResult, DedupePermission, FileFacts, FileKind, FileRange};

/// The helpers in `glue.c`.
mod glue {
    use kernel::bindings::{file, loff_t, umode_t};

    // `struct file` holds zero-sized arrays (`its_array`) that rustc calls
    // FFI-unsafe; only pointers to it cross here, as in the `bindings` crate,
    // which allows the same lint.
    #[allow(improper_ctypes)]
    extern "C" {
        pub(super) fn fidedupe_fatal_signal_pending() -> bool;
        pub(super) fn fidedupe_i_size_read(file: *const file) -> loff_t;
        pub(super) fn fidedupe_i_mode(file: *const file) -> umode_t;
        pub(super) fn fidedupe_i_blocksize(file: *const file) -> u32;
        pub(super) fn fidedupe_same_sb(a: *const file, b: *const file) -> bool;
        pub(super) fn fidedupe_fmode_read(file: *const file) -> bool;
        pub(super) fn fidedupe_fmode_write(file: *const file) -> bool;
        pub(super) fn fidedupe_is_swapfile(file: *const file) -> bool;
        pub(super) fn fidedupe_is_immutable(file: *const file) -> bool;
        pub(super) fn fidedupe_caller_owns(file: *const file) -> bool;
        pub(super) fn fidedupe_caller_may_write(file: *const file) -> bool;
    }
}

/// A file resolved from a descriptor of the calling task.
///
/// # Invariants
///
/// `self.0` holds a reference to a `struct file` that is not an `O_PATH`
/// file (`fget()` does not return those), so `f_inode` and `f_op` are set.
pub(crate) struct OpenFile(ARef<LocalFile>);

impl OpenFile {
    /// Resolves a user-supplied descriptor number; `EBADF` if it is out of
    /// range, not open, or an `O_PATH` descriptor.
    pub(crate) fn get(fd: i64) -> Result<Self> {
        let file = LocalFile::fget(fd_number(fd)?)?;
        Ok(Self(file))
    }

    /// Takes a reference of its own to the file an ioctl was issued on.
    ///
    /// # Safety
    ///
    /// `ptr` is a valid `struct file`, not an `O_PATH` file, that the
    /// current task looked up in its own descriptor table (as `fs/ioctl.c`
    /// does with `fdget()`) and keeps referenced until this function
    /// returns.
    pub(crate) unsafe fn from_raw(ptr: *mut bindings::file) -> Self {
        // SAFETY: `ptr` is valid and referenced for the duration of this
        // call (function contract), and `ARef::from` takes a reference of
        // our own with `get_file()` that keeps it valid afterwards. The file
        // is in the current task's descriptor table, so as for
        // `LocalFile::fget()`, any `fdget_pos()` that did not take
        // `f_pos_lock` is on this thread.
        Self(ARef::from(unsafe { LocalFile::from_raw_file(ptr) }))
    }

    fn as_ptr(&self) -> *mut bindings::file {
        self.0.as_ptr()
    }
}

impl FileFacts for OpenFile {
    fn is_readable(&self) -> bool {
        // SAFETY: `as_ptr()` is a valid file by the type invariant.
        unsafe { glue::fidedupe_fmode_read(self.as_ptr()) }
    }

    fn kind(&self) -> FileKind {
        // SAFETY: `as_ptr()` is a valid file with an inode (type invariant).
        let mode = u32::from(unsafe { glue::fidedupe_i_mode(self.as_ptr()) });
        match mode & bindings::S_IFMT {
            bindings::S_IFREG => FileKind::Regular,
            bindings::S_IFDIR => FileKind::Directory,
            _ => FileKind::Other,
        }
    }

    fn can_remap(&self) -> bool {
        // SAFETY: `f_op` of an open, non-`O_PATH` file points to the
        // filesystem's static operations and does not change while the file
        // is open; we hold a reference (type invariant).
        unsafe { (*(*self.as_ptr()).f_op).remap_file_range.is_some() }
    }

    fn is_swapfile(&self) -> bool {
        // SAFETY: `as_ptr()` is a valid file with an inode (type invariant).
        unsafe { glue::fidedupe_is_swapfile(self.as_ptr()) }
    }

    fn is_immutable(&self) -> bool {
        // SAFETY: `as_ptr()` is a valid file with an inode (type invariant).
        unsafe { glue::fidedupe_is_immutable(self.as_ptr()) }
    }
}

impl DedupePermission for OpenFile {
    fn caller_is_admin(&self) -> bool {
        // SAFETY: `capable()` may be called from process context with any
        // capability number; `CAP_SYS_ADMIN` is one.
        unsafe { bindings::capable(bindings::CAP_SYS_ADMIN as i32) }
    }

    fn is_open_for_write(&self) -> bool {
        // SAFETY: `as_ptr()` is a valid file by the type invariant.
        unsafe { glue::fidedupe_fmode_write(self.as_ptr()) }
    }

    fn caller_owns(&self) -> bool {
        // SAFETY: `as_ptr()` is a valid file with an inode and a mount
        // (type invariant); the helper reads the current task's creds.
        unsafe { glue::fidedupe_caller_owns(self.as_ptr()) }
    }

    fn caller_may_write(&self) -> bool {
        // SAFETY: as for `caller_owns()`; `inode_permission()` may sleep,
        // and we are in process context (an ioctl).
        unsafe { glue::fidedupe_caller_may_write(self.as_ptr()) }
    }
}

/// Write access to a destination's mount, from `mnt_want_write_file()`;
/// dropped with `mnt_drop_write_file()`.
pub(crate) struct MountWriteAccess<'a>(&'a OpenFile);

impl Drop for MountWriteAccess<'_> {
    fn drop(&mut self) {
        // SAFETY: this value exists only after `mnt_want_write_file()`
        // succeeded on the same file, which is still referenced through
        // the borrow, so the access is ours to drop exactly once.
        unsafe { bindings::mnt_drop_write_file(self.0.as_ptr()) }
    }
}

/// Converts an offset or length checked by [`FileRange`] to `loff_t`.
fn loff(value: u64) -> bindings::loff_t {
    // `FileRange` keeps offsets and ends at or below `i64::MAX`.
    i64::try_from(value).unwrap_or(i64::MAX)
}

impl RemapFile for OpenFile {
    type WriteAccess<'a> = MountWriteAccess<'a>;

    fn size(&self) -> u64 {
        // SAFETY: `as_ptr()` is a valid file with an inode (type invariant).
        let size = unsafe { glue::fidedupe_i_size_read(self.as_ptr()) };
        u64::try_from(size).unwrap_or(0)
    }

    fn block_size(&self) -> u64 {
        // SAFETY: `as_ptr()` is a valid file with an inode (type invariant).
        u64::from(unsafe { glue::fidedupe_i_blocksize(self.as_ptr()) })
    }

    fn same_fs(&self, other: &Self) -> bool {
        // SAFETY: both are valid files with inodes (type invariant).
        unsafe { glue::fidedupe_same_sb(self.as_ptr(), other.as_ptr()) }
    }

    fn verify_area(&self, range: FileRange, write: bool) -> Result {
        // SAFETY: `as_ptr()` is a valid file (type invariant); the helper
        // accepts any offset and length and rejects negative ones.
        let ret = unsafe {
            bindings::remap_verify_area(
                self.as_ptr(),
                loff(range.offset()),
                loff(range.len()),
                write,
            )
        };
        kernel::error::to_result(ret)
    }

    fn want_write(&self) -> Result<MountWriteAccess<'_>> {
        // SAFETY: `as_ptr()` is a valid file (type invariant); on success
        // the access is released by `MountWriteAccess::drop`.
        let ret = unsafe { bindings::mnt_want_write_file(self.as_ptr()) };
        kernel::error::to_result(ret)?;
        Ok(MountWriteAccess(self))
    }

    fn remap_from(&self, src: &Self, src_offset: u64, dest_offset: u64, len: u64) -> ChunkResult {
        // SAFETY: see `can_remap()`.
        let Some(remap) = (unsafe { (*(*self.as_ptr()).f_op).remap_file_range }) else {
            return ChunkResult::Failed(EOPNOTSUPP);
        };
        let flags = bindings::REMAP_FILE_DEDUP | bindings::REMAP_FILE_CAN_SHORTEN;
        // SAFETY: both files are referenced for the whole call (type
        // invariant); the caller holds `mnt_want_write_file()` on `self`
        // (the engine keeps a `MountWriteAccess` alive around this call);
        // offsets and length come from `FileRange`s, so they and their sums
        // fit in `loff_t`. `remap_file_range` may sleep: process context.
        let ret = unsafe {
            remap(
                src.as_ptr(),
                loff(src_offset),
                self.as_ptr(),
                loff(dest_offset),
                loff(len),
                flags,
            )
        };
        ChunkResult::from_remap_return(ret)
    }
}

/// The task that issued the ioctl.
pub(crate) struct CurrentTask;

impl Caller for CurrentTask {
    fn fatal_signal_pending(&self) -> bool {
        // SAFETY: reads `current`'s pending signals; always valid in process
        // context.
        unsafe { glue::fidedupe_fatal_signal_pending() }
    }
}
