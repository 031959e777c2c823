// SPDX-License-Identifier: GPL-2.0

//! Signals of the current task.
//!
//! In the tree: `rust/kernel/task.rs`, beside `Task::signal_pending()`,
//! with its helper in `rust/helpers/signal.c`.
//!
//! C header: [`include/linux/sched/signal.h`](srctree/include/linux/sched/signal.h)

/// The helper of `helpers.c`.
mod helper {
    extern "C" {
        pub(super) fn fidedupe_fatal_signal_pending() -> bool;
    }
}

/// Whether the current task has a fatal signal (`SIGKILL`, or a signal
/// whose default action kills, with no handler) pending:
/// `fatal_signal_pending(current)`.  A long operation that a user may
/// abandon checks it between steps and returns `EINTR`.
#[inline]
pub(crate) fn fatal_signal_pending() -> bool {
    // SAFETY: Reading the current task's pending signals is valid in any
    // task context.
    unsafe { helper::fidedupe_fatal_signal_pending() }
}
