// SPDX-License-Identifier: GPL-2.0

//! What a `struct file` says about its opener and its inode.
//!
//! In the tree: inherent methods of `LocalFile` in
//! `rust/kernel/fs/file.rs`, with their helpers in `rust/helpers/fs.c`.
//!
//! C header: [`include/linux/fs.h`](srctree/include/linux/fs.h)

use kernel::{
    bindings,
    fs::LocalFile,
    prelude::*, //
};

use super::inode::Inode;

/// The helpers of `helpers.c`.
mod helper {
    use kernel::bindings::file;
    use kernel::ffi::c_int;

    // As in `inode.rs`: only pointers to `struct file` cross here.
    #[expect(improper_ctypes)]
    extern "C" {
        pub(super) fn fidedupe_inode_owned_by_fsuid(file: *const file) -> bool;
        pub(super) fn fidedupe_file_permission(file: *const file, mask: c_int) -> c_int;
    }
}

/// Bits of a file's `f_mode` (`fmode_t`), which bindgen cannot evaluate
/// (a `__force` cast).
pub(crate) mod fmode {
    /// `FMODE_READ`: open for reading.
    pub(crate) const READ: u32 = 1 << 0;
    /// `FMODE_WRITE`: open for writing.
    pub(crate) const WRITE: u32 = 1 << 1;
}

/// Access masks of `inode_permission()` (`MAY_*`).
pub(crate) mod may {
    /// `MAY_WRITE`.
    pub(crate) const WRITE: i32 = super::bindings::MAY_WRITE as i32;
}

/// Methods `LocalFile` does not have yet.
pub(crate) trait LocalFileExt {
    /// The file's `f_mode`: how it was opened ([`fmode`]).
    fn mode(&self) -> u32;
    /// The file's inode, `file_inode()`.
    fn inode(&self) -> &Inode;
    /// Whether the current task's fsuid owns the file's inode, its owner
    /// mapped through the idmap of the mount the file was opened on.
    fn inode_owned_by_fsuid(&self) -> bool;
    /// `inode_permission()` for `mask` ([`may`]) on the file's inode,
    /// through the idmap of the mount the file was opened on.  May sleep.
    fn permission(&self, mask: i32) -> Result;
}

impl LocalFileExt for LocalFile {
    #[inline]
    fn mode(&self) -> u32 {
        // SAFETY: The file is valid (`LocalFile`'s invariant).  Read once,
        // as `READ_ONCE()` would: some of its flags may change while the
        // file is open, `FMODE_READ` and `FMODE_WRITE` do not.
        unsafe { core::ptr::addr_of!((*self.as_ptr()).f_mode).read_volatile() }
    }

    #[inline]
    fn inode(&self) -> &Inode {
        // SAFETY: The file is valid (`LocalFile`'s invariant); its
        // `f_inode` is set at open, never changes, and is referenced for
        // as long as the file is.
        unsafe { Inode::from_raw((*self.as_ptr()).f_inode) }
    }

    #[inline]
    fn inode_owned_by_fsuid(&self) -> bool {
        // SAFETY: The file is valid, with an inode and a mount
        // (`LocalFile`'s invariant); the helper reads the current task's
        // credentials.
        unsafe { helper::fidedupe_inode_owned_by_fsuid(self.as_ptr()) }
    }

    #[inline]
    fn permission(&self, mask: i32) -> Result {
        // SAFETY: As for `inode_owned_by_fsuid()`; `inode_permission()`
        // may sleep, which the method's caller allows.
        let ret = unsafe { helper::fidedupe_file_permission(self.as_ptr(), mask) };
        if ret < 0 {
            return Err(Error::from_errno(ret));
        }
        Ok(())
    }
}
