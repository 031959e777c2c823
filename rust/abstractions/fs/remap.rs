// SPDX-License-Identifier: GPL-2.0

//! Sharing extents between files: the checks the VFS makes before it calls
//! a filesystem's `remap_file_range`, and that call.
//!
//! In the tree: `rust/kernel/fs/remap.rs`, a new file.
//!
//! C header: [`include/linux/fs.h`](srctree/include/linux/fs.h)

use kernel::{
    bindings,
    fs::LocalFile,
    prelude::*, //
};

/// `REMAP_FILE_DEDUP`: share only ranges whose data are equal.
pub(crate) const REMAP_FILE_DEDUP: u32 = bindings::REMAP_FILE_DEDUP;
/// `REMAP_FILE_CAN_SHORTEN`: the filesystem may remap less than asked.
pub(crate) const REMAP_FILE_CAN_SHORTEN: u32 = bindings::REMAP_FILE_CAN_SHORTEN;

/// `remap_verify_area()`: checks `pos` and `len` (not negative, their sum
/// fits in `loff_t`) and asks the LSM and fanotify permission hooks
/// whether `file`'s area may be read, or written if `write`.  May sleep;
/// call it before taking freeze protection.
#[inline]
pub(crate) fn remap_verify_area(file: &LocalFile, pos: i64, len: i64, write: bool) -> Result {
    // SAFETY: The file is valid (`LocalFile`'s invariant); the function
    // checks `pos` and `len` itself.
    let ret = unsafe { bindings::remap_verify_area(file.as_ptr(), pos, len, write) };
    if ret < 0 {
        return Err(Error::from_errno(ret));
    }
    Ok(())
}

/// Whether `file`'s filesystem implements `remap_file_range`.
#[inline]
pub(crate) fn can_remap(file: &LocalFile) -> bool {
    // SAFETY: The file is valid and not an `O_PATH` file (`LocalFile`'s
    // invariant, `fdget()` refuses those), so `f_op` points to the
    // filesystem's static operations and does not change while it is open.
    unsafe { (*(*file.as_ptr()).f_op).remap_file_range.is_some() }
}

/// Calls `file_out`'s `f_op->remap_file_range` to share `len` bytes of
/// `file_in` at `pos_in` into `file_out` at `pos_out`, with `flags`
/// ([`REMAP_FILE_DEDUP`], [`REMAP_FILE_CAN_SHORTEN`]).
///
/// Returns what the callback returns: the bytes remapped, or a negative
/// errno, `-EBADE` for data that differ under [`REMAP_FILE_DEDUP`]; or
/// `-EOPNOTSUPP` if the filesystem has no callback.
///
/// # Safety
///
/// What the callback requires of its caller, which the VFS establishes in
/// `vfs_dedupe_file_range_one()` and `vfs_clone_file_range()`:
///
/// - both files are regular files on one superblock (a filesystem casts
///   both inodes to its own type, as xfs's `XFS_I()` does), open for
///   reading, and `file_out` passed the caller's write permission checks;
/// - both areas passed [`remap_verify_area()`], `file_out`'s for writing;
/// - `pos_in`, `pos_out`, `len` and the sums of each offset with `len`
///   are not negative (they fit in `loff_t`);
/// - the caller holds `mnt_want_write_file()` on `file_out` for the call;
/// - task context, where the callback may sleep.
#[inline]
pub(crate) unsafe fn remap_file_range(
    file_in: &LocalFile,
    pos_in: i64,
    file_out: &LocalFile,
    pos_out: i64,
    len: i64,
    flags: u32,
) -> i64 {
    // SAFETY: As for `can_remap()`.
    let Some(remap) = (unsafe { (*(*file_out.as_ptr()).f_op).remap_file_range }) else {
        return i64::from(EOPNOTSUPP.to_errno());
    };
    // SAFETY: Both files are valid (`LocalFile`'s invariant), and the
    // function's contract is the callback's.
    unsafe {
        remap(
            file_in.as_ptr(),
            pos_in,
            file_out.as_ptr(),
            pos_out,
            len,
            flags,
        )
    }
}
