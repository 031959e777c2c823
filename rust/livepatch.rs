// SPDX-License-Identifier: GPL-2.0

//! The second entry point: mainline's `vfs_dedupe_file_range()`, same C
//! signature, served by the same walk and rules as `/dev/fidedupe`.
//!
//! `fidedupe_livepatch.ko` (`livepatch/fidedupe_livepatch.c`) points the
//! kernel's `vfs_dedupe_file_range()` at [`fidedupe_vfs_dedupe_file_range`],
//! which `glue.c` exports, so that every `FIDEDUPERANGE` on the system,
//! from any unmodified program, comes here.  Its only caller is then
//! `ioctl_file_dedupe_range()` in `fs/ioctl.c`, which has already copied
//! the user's array in (refusing more than `PAGE_SIZE` with `ENOMEM`) and
//! copies it back out only if this function returns 0.

use kernel::{bindings, ffi::c_int};

use crate::{file::CurrentTask, limits, request, stats::STATS};

/// `vfs_dedupe_file_range(file, same)` done by fidedupe.
///
/// # Safety
///
/// The caller is `ioctl_file_dedupe_range()`, through the livepatch, in
/// the task that issued the ioctl: `file` is the file the ioctl was issued
/// on, held with `fdget()` for the call, and `same` is that function's
/// `memdup_user()` copy of the user's `struct file_dedupe_range`, with
/// `dest_count` records, used by nothing else until this function returns.
#[no_mangle]
unsafe extern "C" fn fidedupe_vfs_dedupe_file_range(
    file: *mut bindings::file,
    same: *mut bindings::file_dedupe_range,
) -> c_int {
    // SAFETY: the function contract is `dedupe_kernel_range()`'s.
    let result =
        unsafe { request::dedupe_kernel_range(file, same, limits(), &CurrentTask, &STATS) };
    STATS.record_fideduperange_call();
    STATS.record_call(result);
    match result {
        Ok(()) => 0,
        Err(err) => err.to_errno(),
    }
}
