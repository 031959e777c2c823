// SPDX-License-Identifier: GPL-2.0

//! The C type of `vfs_dedupe_file_range()`, for the livepatch's stand-in.
//!
//! In the tree: not sent.  The built-in implementation is
//! `vfs_dedupe_file_range()` itself, checked against its C declaration by
//! `#[export]`.
//!
//! C header: [`include/linux/fs.h`](srctree/include/linux/fs.h)

use kernel::{
    bindings,
    ffi::c_int,
    fs::LocalFile,
    uapi::file_dedupe_range, //
};

/// The C type of `vfs_dedupe_file_range()`, for a function that stands in
/// for it, with [`LocalFile`] for `struct file` (the same representation)
/// and the `uapi` crate's `struct file_dedupe_range`.
pub(crate) type VfsDedupeFileRange =
    unsafe extern "C" fn(*mut LocalFile, *mut file_dedupe_range) -> c_int;

// `vfs_dedupe_file_range()` takes what [`VfsDedupeFileRange`] says.
const _: unsafe extern "C" fn(*mut bindings::file, *mut bindings::file_dedupe_range) -> c_int =
    bindings::vfs_dedupe_file_range;
const _: () = {
    use core::mem::size_of;
    assert!(size_of::<file_dedupe_range>() == size_of::<bindings::file_dedupe_range>());
};
