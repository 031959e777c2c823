// SPDX-License-Identifier: GPL-2.0

//! A file descriptor of the current task held for one scope, as `fdget()`
//! and `fdput()` hold it (`CLASS(fd, f)(fd)` in C).
//!
//! In the tree: `rust/kernel/fs/fd.rs`, a new file.
//!
//! C header: [`include/linux/file.h`](srctree/include/linux/file.h)

use kernel::{
    bindings,
    ffi::c_ulong,
    fs::{
        file::BadFdError,
        LocalFile, //
    },
};

/// The flag of a `struct fd` that holds a counted reference, which
/// `fdput()` drops.
const FDPUT_FPUT: c_ulong = bindings::FDPUT_FPUT as c_ulong;
/// The flag bits of a `struct fd`, which `fd_file()` masks off.
const FD_FLAGS: c_ulong = FDPUT_FPUT | bindings::FDPUT_POS_UNLOCK as c_ulong;

/// A `struct fd` that is not empty: the file a descriptor named when it
/// was resolved, held until the end of [`with_fd`]'s scope.
///
/// While the task's file table is not shared, `fdget()` borrows the file
/// without touching its reference count: no other task can close the
/// descriptor, and this one does not while it runs the scope.  With a
/// shared table it takes a reference of its own and says so with
/// `FDPUT_FPUT`; [`Drop`] is `fdput()`.
///
/// # Invariants
///
/// `self.0` is a non-empty `struct fd` from `fdget()` on this thread: a
/// valid file that is not an `O_PATH` file, with `FDPUT_FPUT` set if the
/// reference is counted and ours to drop.
struct Fd(bindings::fd);

impl Fd {
    /// `fd_file()`.
    #[inline]
    fn as_ptr(&self) -> *mut bindings::file {
        (self.0.word & !FD_FLAGS) as *mut bindings::file
    }

    #[inline]
    fn file(&self) -> &LocalFile {
        // SAFETY: `as_ptr()` is a valid file (type invariant), referenced while
        // `self` lives, either by our own count or by the task's file
        // table, which only this thread changes and not while the borrow
        // lasts.  `fdget()` takes no `f_pos_lock`, so no `fdget_pos()`
        // call of another thread is involved.
        unsafe { LocalFile::from_raw_file(self.as_ptr()) }
    }
}

impl Drop for Fd {
    #[inline]
    fn drop(&mut self) {
        if self.0.word & FDPUT_FPUT != 0 {
            // SAFETY: A counted reference (type invariant), ours to drop,
            // dropped here exactly once.
            unsafe { bindings::fput(self.as_ptr()) };
        }
    }
}

/// Lends `f` the file that descriptor `fd` of the current task names,
/// held as `fdget()` holds it until `f` returns; [`BadFdError`] if `fd` is
/// not an open descriptor, or is an `O_PATH` one.
///
/// The file is lent, not returned: a borrowed file is valid only while the
/// descriptor cannot be closed, which this scope guarantees and a value
/// that could outlive it would not.  Nothing here takes `f_pos_lock`; a
/// caller that reads or writes `f_pos` needs `fdget_pos()` instead.
#[inline]
pub(crate) fn with_fd<R>(fd: u32, f: impl FnOnce(&LocalFile) -> R) -> Result<R, BadFdError> {
    // SAFETY: `fdget()` may be called with any number in task context; it
    // returns an empty `struct fd` for one that is not an open,
    // non-`O_PATH` descriptor (`FMODE_PATH` is in its mask).
    let raw = unsafe { bindings::fdget(fd) };
    if raw.word == 0 {
        return Err(BadFdError);
    }
    // INVARIANT: not empty (above), from `fdget()` on this thread.
    let held = Fd(raw);
    Ok(f(held.file()))
}
