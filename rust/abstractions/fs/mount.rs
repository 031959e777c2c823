// SPDX-License-Identifier: GPL-2.0

//! Write access to the mount a file was opened on.
//!
//! In the tree: `rust/kernel/fs/mount.rs`, a new file.
//!
//! C header: [`include/linux/mount.h`](srctree/include/linux/mount.h)

use kernel::{
    bindings,
    fs::LocalFile,
    prelude::*, //
};

/// Write access to a file's mount, taken by [`want_write_file`] and given
/// back with `mnt_drop_write_file()` when dropped: while it lives, the
/// mount is not read-only and its superblock is not frozen.
///
/// # Invariants
///
/// `mnt_want_write_file()` succeeded on `self.0`, and the access has not
/// been dropped.
pub(crate) struct MountWriteAccess<'a>(&'a LocalFile);

/// `mnt_want_write_file()`: write access to the mount `file` was opened
/// on, `EROFS` if it is read-only.  May sleep while the superblock is
/// frozen; call it after any fsnotify permission hook, which must not run
/// under freeze protection.
#[inline]
pub(crate) fn want_write_file(file: &LocalFile) -> Result<MountWriteAccess<'_>> {
    // SAFETY: The file is valid (`LocalFile`'s invariant); on success the
    // access is given back by `MountWriteAccess::drop`.
    let ret = unsafe { bindings::mnt_want_write_file(file.as_ptr()) };
    if ret < 0 {
        return Err(Error::from_errno(ret));
    }
    // INVARIANT: `mnt_want_write_file()` succeeded.
    Ok(MountWriteAccess(file))
}

impl Drop for MountWriteAccess<'_> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: The access is ours (type invariant), on a file still
        // referenced through the borrow, and is dropped here exactly once.
        unsafe { bindings::mnt_drop_write_file(self.0.as_ptr()) }
    }
}
