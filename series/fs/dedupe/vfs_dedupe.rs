// SPDX-License-Identifier: GPL-2.0

//! `vfs_dedupe_file_range()` in Rust: the VFS layer of `FIDEDUPERANGE`,
//! in place of the C one in `fs/remap_range.c` when
//! `CONFIG_VFS_DEDUPE_RUST` is chosen.
//!
//! - `rules.rs`: range arithmetic, check order, chunks, status (pure,
//!   KUnit).
//! - `engine.rs`: one call and its walk over the destination records,
//!   over files and records seen through traits (KUnit).
//! - `file.rs`: those traits for real files and the calling task.
//! - `records.rs`: the records of a `struct file_dedupe_range`.
//!
//! See `Documentation/filesystems/dedupe.rst` for what a caller sees.

mod engine;
mod file;
mod records;
mod rules;

use kernel::{
    bindings,
    error::from_result,
    ffi::c_int,
    fs::LocalFile,
    prelude::*, //
};

use file::CallingTask;
use rules::Limits;

/// What one call may do: the C implementation's 1 GiB cap on the range,
/// and 16 MiB per call of `remap_file_range`, so a fatal signal is seen
/// between chunks.
const LIMITS: Limits = Limits {
    max_request_bytes: 1 << 30,
    chunk_bytes: 16 << 20,
};

/// `vfs_dedupe_file_range(file, same)`: dedupes `same->src_length` bytes
/// of `file` at `same->src_offset` into each destination of `same`, and
/// fills in each destination's `status` and `bytes_deduped`.
///
/// # Safety
///
/// `file` is a valid file that the caller keeps referenced for the
/// duration of the call (as the `fdget()` of an ioctl does), with no
/// `fdget_pos()` of another thread, and `same` points to a private kernel
/// buffer of `struct_size(same, info, same->dest_count)` bytes, aligned
/// as `kmalloc()` aligns, that nothing else accesses until this function
/// returns.
#[export]
pub unsafe extern "C" fn vfs_dedupe_file_range(
    file: *mut bindings::file,
    same: *mut bindings::file_dedupe_range,
) -> c_int {
    // SAFETY: `file` is valid, held for the call, and has no `fdget_pos()`
    // of another thread (the function's contract).
    let file = unsafe { LocalFile::from_raw_file(file) };
    // SAFETY: `same` is a private buffer of the records it announces (the
    // function's contract); the `uapi` crate's `struct file_dedupe_range`
    // is the same C type.
    let result =
        unsafe { records::dedupe_kernel_range(file, same.cast(), LIMITS, &CallingTask, |_| {}) };
    from_result(|| result.map(|()| 0))
}
