// SPDX-License-Identifier: GPL-2.0

//! Fatal signals of a task.
//!
//! In the tree: inherent methods of `Task` in `rust/kernel/task.rs`,
//! beside `signal_pending()`, with the helper in `rust/helpers/signal.c`.
//!
//! C header: [`include/linux/sched/signal.h`](srctree/include/linux/sched/signal.h)

use kernel::task::Task;

/// The helper of `helpers.c`.
mod helper {
    use kernel::bindings::task_struct;

    // `struct task_struct` holds types rustc calls FFI-unsafe; only a
    // pointer to it crosses here, as in the `bindings` crate, which allows
    // the same lint.
    #[expect(improper_ctypes)]
    extern "C" {
        pub(super) fn fidedupe_fatal_signal_pending(t: *mut task_struct) -> bool;
    }
}

/// Methods `Task` does not have yet.
pub(crate) trait TaskExt {
    /// Returns whether the task has a fatal signal pending: `SIGKILL`, or
    /// a signal whose default action kills and that has no handler.  A
    /// long operation a user may abandon checks it between steps, and
    /// returns `EINTR`.
    fn fatal_signal_pending(&self) -> bool;
}

impl TaskExt for Task {
    #[inline]
    fn fatal_signal_pending(&self) -> bool {
        // SAFETY: It's always safe to call `fatal_signal_pending` on a valid task.
        unsafe { helper::fidedupe_fatal_signal_pending(self.as_ptr()) }
    }
}
