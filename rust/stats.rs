// SPDX-License-Identifier: GPL-2.0

//! Counters of what the module did, shown in debugfs as
//! `/sys/kernel/debug/fidedupe/stats`, one `name value` pair a line.
//!
//! Plain relaxed atomics: no lock is shared between callers.  Each event
//! adds to one counter of its kind (a call succeeds or fails, a
//! destination is the same, differs or fails), and the totals are summed
//! when the file is read, so a call of one destination of length 0 costs
//! two atomic additions, not four.

use core::fmt;

use kernel::{
    prelude::*,
    sync::atomic::{
        Atomic,
        Relaxed, //
    },
};

use crate::rules::{
    DestOutcome,
    STATUS_DIFFERS,
    STATUS_SAME, //
};

/// The errnos counted by name; any other lands in `errors_other`.
const COUNTED_ERRNOS: [(Error, &str); 12] = [
    (EBADF, "EBADF"),
    (EINVAL, "EINVAL"),
    (EISDIR, "EISDIR"),
    (EOPNOTSUPP, "EOPNOTSUPP"),
    (ETXTBSY, "ETXTBSY"),
    (EPERM, "EPERM"),
    (EACCES, "EACCES"),
    (EXDEV, "EXDEV"),
    (EROFS, "EROFS"),
    (EFAULT, "EFAULT"),
    (EINTR, "EINTR"),
    (ENOMEM, "ENOMEM"),
];

/// Counters of calls and destinations.
pub(crate) struct Stats {
    calls_succeeded: Atomic<u64>,
    calls_fideduperange: Atomic<u64>,
    calls_failed: Atomic<u64>,
    calls_interrupted: Atomic<u64>,
    destinations_failed: Atomic<u64>,
    destinations_same: Atomic<u64>,
    destinations_differs: Atomic<u64>,
    bytes_deduped: Atomic<u64>,
    errors: [Atomic<u64>; COUNTED_ERRNOS.len()],
    errors_other: Atomic<u64>,
}

impl Stats {
    /// All counters at zero.
    pub(crate) const fn new() -> Self {
        Self {
            calls_succeeded: Atomic::new(0),
            calls_fideduperange: Atomic::new(0),
            calls_failed: Atomic::new(0),
            calls_interrupted: Atomic::new(0),
            destinations_failed: Atomic::new(0),
            destinations_same: Atomic::new(0),
            destinations_differs: Atomic::new(0),
            bytes_deduped: Atomic::new(0),
            errors: [const { Atomic::new(0) }; COUNTED_ERRNOS.len()],
            errors_other: Atomic::new(0),
        }
    }

    fn count_error(&self, err: Error) {
        match COUNTED_ERRNOS.iter().position(|(e, _)| *e == err) {
            Some(i) => self.errors[i].fetch_add(1, Relaxed),
            None => self.errors_other.fetch_add(1, Relaxed),
        };
    }

    /// Records the end of one call.
    pub(crate) fn record_call(&self, result: Result) {
        match result {
            Ok(()) => {
                self.calls_succeeded.fetch_add(1, Relaxed);
            }
            Err(err) => {
                self.calls_failed.fetch_add(1, Relaxed);
                if err == EINTR {
                    self.calls_interrupted.fetch_add(1, Relaxed);
                }
                self.count_error(err);
            }
        }
    }

    /// Records that a call came through `FIDEDUPERANGE` (the livepatch)
    /// rather than `/dev/fidedupe`; [`Stats::record_call`] counts it too.
    pub(crate) fn record_fideduperange_call(&self) {
        self.calls_fideduperange.fetch_add(1, Relaxed);
    }

    /// Records the outcome of one destination.
    pub(crate) fn record_destination(&self, outcome: &DestOutcome) {
        if outcome.bytes_deduped != 0 {
            self.bytes_deduped.fetch_add(outcome.bytes_deduped, Relaxed);
        }
        match outcome.status {
            STATUS_SAME => {
                self.destinations_same.fetch_add(1, Relaxed);
            }
            STATUS_DIFFERS => {
                self.destinations_differs.fetch_add(1, Relaxed);
            }
            errno => {
                self.destinations_failed.fetch_add(1, Relaxed);
                self.count_error(Error::from_errno(errno));
            }
        }
    }
}

impl fmt::Debug for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = |counter: &Atomic<u64>| counter.load(Relaxed);
        let calls_failed = count(&self.calls_failed);
        let same = count(&self.destinations_same);
        let differs = count(&self.destinations_differs);
        // The totals: one addition each, read apart from their parts.
        let calls = count(&self.calls_succeeded).wrapping_add(calls_failed);
        let destinations = same
            .wrapping_add(differs)
            .wrapping_add(count(&self.destinations_failed));
        let rows = [
            ("calls", calls),
            ("calls_fideduperange", count(&self.calls_fideduperange)),
            ("calls_failed", calls_failed),
            ("calls_interrupted", count(&self.calls_interrupted)),
            ("destinations", destinations),
            ("destinations_same", same),
            ("destinations_differs", differs),
            ("bytes_deduped", count(&self.bytes_deduped)),
        ];
        for (name, value) in rows {
            writeln!(f, "{name} {value}")?;
        }
        for ((_, name), counter) in COUNTED_ERRNOS.iter().zip(&self.errors) {
            writeln!(f, "errors_{name} {}", counter.load(Relaxed))?;
        }
        writeln!(f, "errors_other {}", self.errors_other.load(Relaxed))
    }
}

/// The module's counters.
pub(crate) static STATS: Stats = Stats::new();

/// What the debugfs file shows: a view of [`STATS`].
pub(crate) struct StatsView;

impl fmt::Debug for StatsView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        STATS.fmt(f)
    }
}
