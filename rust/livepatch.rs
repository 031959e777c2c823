// SPDX-License-Identifier: GPL-2.0

//! The second entry point: mainline's `vfs_dedupe_file_range()`, same C
//! signature, served by the same walk and rules as `/dev/fidedupe`.
//!
//! `fidedupe_livepatch.ko` (`livepatch/fidedupe_livepatch.c`) points the
//! kernel's `vfs_dedupe_file_range()` at [`fidedupe_vfs_dedupe_file_range`],
//! which `glue.c` exports.  `vfs_dedupe_file_range()` is itself exported,
//! so every caller of it is redirected, not only `FIDEDUPERANGE`'s
//! `ioctl_file_dedupe_range()` in `fs/ioctl.c` (the only caller in 7.3's
//! tree), which has already run the LSM's `file_ioctl` hook, copied the
//! user's array in (refusing more than `PAGE_SIZE` with `ENOMEM`), and
//! copies it back out only if this function returns 0.

use kernel::{
    error::from_result,
    ffi::c_int,
    fs::LocalFile,
    uapi::file_dedupe_range, //
};

use crate::{
    abstractions::fs::vfs::VfsDedupeFileRange,
    file::CallingTask,
    limits,
    records,
    stats::STATS, //
};

// The replacement has the type of the function it replaces, or this does
// not compile.
const _: VfsDedupeFileRange = fidedupe_vfs_dedupe_file_range;

/// `vfs_dedupe_file_range(file, same)` done by fidedupe.
///
/// Two things the livepatch relies on, each checked:
///
/// - The patch can be disabled, and `fidedupe.ko` unloaded, once no task
///   has this function's frame on its stack.  So it must not leave by a
///   tail call into the rest of the module, which would drop its frame
///   while the task still runs `fidedupe.ko`'s code: it is never inlined,
///   the counters are updated after the walk returns, and `make lint`
///   fails if its machine code ends in a jump to another function
///   (`scripts/no-tail-call.py`).
/// - `FIDEDUPERANGE` reaches it only if the kernel calls
///   `vfs_dedupe_file_range()` rather than a copy inlined into
///   `ioctl_file_dedupe_range()` (which LTO could make); the livepatch
///   pass of the kselftests fails if not
///   (`fidedupe_signal_test:debugfs_counters` counts the call in
///   `calls_fideduperange`).
///
/// # Safety
///
/// The contract of mainline's `vfs_dedupe_file_range()`, for any caller:
/// `file` is a valid file that the caller keeps referenced for the
/// duration of the call (as the `fdget()` of an ioctl, an `fget()` or a
/// `get_file()` does), and `same` points to a private kernel buffer of
/// `struct_size(same, info, same->dest_count)` bytes, aligned as
/// `kmalloc()` aligns, that nothing else accesses until this function
/// returns.
#[no_mangle]
#[inline(never)]
unsafe extern "C" fn fidedupe_vfs_dedupe_file_range(
    file: *mut LocalFile,
    same: *mut file_dedupe_range,
) -> c_int {
    // SAFETY: `file` is a valid file, not an `O_PATH` one, that the
    // caller keeps referenced for the call (the function's contract), and
    // it has no `fdget_pos()` of another thread (`fs/ioctl.c` takes it
    // with `fdget()`): what a `&LocalFile` for the call requires.  It is
    // borrowed for the call, not counted again.
    let file = unsafe { &*file };
    // SAFETY: `same` is a private buffer of the records it announces (the
    // function's contract).
    let result = unsafe {
        records::dedupe_kernel_range(file, same, limits(), &CallingTask, |outcome| {
            STATS.record_destination(outcome)
        })
    };
    STATS.record_fideduperange_call();
    STATS.record_call(result);
    from_result(|| result.map(|()| 0))
}
