// SPDX-License-Identifier: GPL-2.0

//! Capabilities of the current task.
//!
//! In the tree: `rust/kernel/capability.rs`, a new file.
//!
//! C header: [`include/linux/capability.h`](srctree/include/linux/capability.h)

use kernel::bindings;

/// A capability number of `include/uapi/linux/capability.h`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Capability(i32);

impl Capability {
    /// `CAP_SYS_ADMIN`.
    pub(crate) const SYS_ADMIN: Self = Self(bindings::CAP_SYS_ADMIN as i32);
}

/// Whether the current task has `cap` in its effective set, as `capable()`
/// answers: a check that succeeds marks the task as having used the
/// capability (`PF_SUPERPRIV`) and is audited, so ask only when the answer
/// decides something.
#[inline]
pub(crate) fn capable(cap: Capability) -> bool {
    // SAFETY: `capable()` may be called from any task context with any
    // capability number, and `cap` holds one.
    unsafe { bindings::capable(cap.0) }
}
