// SPDX-License-Identifier: GPL-2.0

//! Counters of what the module did, shown in debugfs as
//! `/sys/kernel/debug/fidedupe/stats`, one `name value` pair a line.
//!
//! Plain relaxed atomics: no lock is shared between callers.  Each event
//! adds to one counter, that of its outcome: a call succeeded or failed
//! with an errno, a destination is the same, differs or failed with an
//! errno (plus the bytes it deduped, if any).  The totals the file shows
//! (`calls`, `calls_failed`, `calls_interrupted`, `destinations`, each
//! `errors_*`) are summed from those when it is read, so a call of one
//! destination costs two atomic additions (three if it deduped bytes),
//! where a counter per line cost four or five.

use core::fmt;

use kernel::{
    prelude::*,
    sync::atomic::{
        Atomic,
        Relaxed, //
    },
    uapi, //
};

use crate::rules::{
    DestOutcome,
    STATUS_DIFFERS,
    STATUS_SAME, //
};

/// The errnos counted by name (as negative errnos, as a destination's
/// status holds them); any other lands in `errors_other`.
const COUNTED_ERRNOS: [(i32, &str); 12] = [
    (-(uapi::EBADF as i32), "EBADF"),
    (-(uapi::EINVAL as i32), "EINVAL"),
    (-(uapi::EISDIR as i32), "EISDIR"),
    (-(uapi::EOPNOTSUPP as i32), "EOPNOTSUPP"),
    (-(uapi::ETXTBSY as i32), "ETXTBSY"),
    (-(uapi::EPERM as i32), "EPERM"),
    (-(uapi::EACCES as i32), "EACCES"),
    (-(uapi::EXDEV as i32), "EXDEV"),
    (-(uapi::EROFS as i32), "EROFS"),
    (-(uapi::EFAULT as i32), "EFAULT"),
    (-(uapi::EINTR as i32), "EINTR"),
    (-(uapi::ENOMEM as i32), "ENOMEM"),
];

/// The slot of `errors_other`, the last of [`ErrorCounts`].
const OTHER_SLOT: usize = COUNTED_ERRNOS.len();

/// The largest errno of [`COUNTED_ERRNOS`].
const MAX_COUNTED_ERRNO: usize = {
    let mut max = 0;
    let mut i = 0;
    while i < COUNTED_ERRNOS.len() {
        let errno = COUNTED_ERRNOS[i].0.unsigned_abs() as usize;
        if errno > max {
            max = errno;
        }
        i += 1;
    }
    max
};

/// [`error_slot`]'s answers indexed by errno, made at build time from
/// [`COUNTED_ERRNOS`]: a failure is counted with one load, where a search
/// of the table cost 0.06-0.12 of mainline's whole call for a record whose
/// descriptor is not open (`make ablation`).
const ERROR_SLOTS: [u8; MAX_COUNTED_ERRNO + 1] = {
    let mut slots = [OTHER_SLOT as u8; MAX_COUNTED_ERRNO + 1];
    let mut i = 0;
    while i < COUNTED_ERRNOS.len() {
        slots[COUNTED_ERRNOS[i].0.unsigned_abs() as usize] = i as u8;
        i += 1;
    }
    slots
};
const _: () = assert!(OTHER_SLOT <= u8::MAX as usize);

/// The slot of [`ErrorCounts`] for `errno` (negative, as a destination's
/// status holds it): its place in [`COUNTED_ERRNOS`], or [`OTHER_SLOT`].
#[inline(always)]
fn error_slot(errno: i32) -> usize {
    if errno >= 0 {
        return OTHER_SLOT;
    }
    ERROR_SLOTS
        .get(errno.unsigned_abs() as usize)
        .map_or(OTHER_SLOT, |&slot| usize::from(slot))
}

/// The slot of `EINTR`, which `calls_interrupted` shows.
const EINTR_SLOT: usize = 10;
const _: () = assert!(COUNTED_ERRNOS[EINTR_SLOT].0 == -(uapi::EINTR as i32));

/// Failures counted by errno: [`COUNTED_ERRNOS`]'s, then every other.
type ErrorCounts = [Atomic<u64>; OTHER_SLOT + 1];

/// Counters of calls and destinations.
pub(crate) struct Stats {
    calls_succeeded: Atomic<u64>,
    calls_fideduperange: Atomic<u64>,
    /// Calls that failed, by errno.
    call_errors: ErrorCounts,
    destinations_same: Atomic<u64>,
    destinations_differs: Atomic<u64>,
    /// Destinations that failed, by errno.
    destination_errors: ErrorCounts,
    bytes_deduped: Atomic<u64>,
}

impl Stats {
    /// All counters at zero.
    pub(crate) const fn new() -> Self {
        Self {
            calls_succeeded: Atomic::new(0),
            calls_fideduperange: Atomic::new(0),
            call_errors: [const { Atomic::new(0) }; OTHER_SLOT + 1],
            destinations_same: Atomic::new(0),
            destinations_differs: Atomic::new(0),
            destination_errors: [const { Atomic::new(0) }; OTHER_SLOT + 1],
            bytes_deduped: Atomic::new(0),
        }
    }

    /// Records the end of one call.
    #[inline(always)]
    pub(crate) fn record_call(&self, result: Result) {
        match result {
            Ok(()) => self.calls_succeeded.fetch_add(1, Relaxed),
            Err(err) => self.call_errors[error_slot(err.to_errno())].fetch_add(1, Relaxed),
        };
    }

    /// Records that a call came through `FIDEDUPERANGE` (the livepatch)
    /// rather than `/dev/fidedupe`; [`Stats::record_call`] counts it too.
    pub(crate) fn record_fideduperange_call(&self) {
        self.calls_fideduperange.fetch_add(1, Relaxed);
    }

    /// Records the outcome of one destination.
    #[inline(always)]
    pub(crate) fn record_destination(&self, outcome: &DestOutcome) {
        if outcome.bytes_deduped != 0 {
            self.bytes_deduped.fetch_add(outcome.bytes_deduped, Relaxed);
        }
        match outcome.status {
            STATUS_SAME => self.destinations_same.fetch_add(1, Relaxed),
            STATUS_DIFFERS => self.destinations_differs.fetch_add(1, Relaxed),
            errno => self.destination_errors[error_slot(errno)].fetch_add(1, Relaxed),
        };
    }
}

/// The sum of some counters, each read on its own, as every line is.
fn sum<'a>(counters: impl IntoIterator<Item = &'a Atomic<u64>>) -> u64 {
    counters.into_iter().fold(0, |total, counter| {
        total.wrapping_add(counter.load(Relaxed))
    })
}

impl fmt::Debug for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = |counter: &Atomic<u64>| counter.load(Relaxed);
        let calls_failed = sum(&self.call_errors);
        let same = count(&self.destinations_same);
        let differs = count(&self.destinations_differs);
        let destinations = sum(&self.destination_errors)
            .wrapping_add(same)
            .wrapping_add(differs);
        let rows = [
            (
                "calls",
                calls_failed.wrapping_add(count(&self.calls_succeeded)),
            ),
            ("calls_fideduperange", count(&self.calls_fideduperange)),
            ("calls_failed", calls_failed),
            ("calls_interrupted", count(&self.call_errors[EINTR_SLOT])),
            ("destinations", destinations),
            ("destinations_same", same),
            ("destinations_differs", differs),
            ("bytes_deduped", count(&self.bytes_deduped)),
        ];
        for (name, value) in rows {
            writeln!(f, "{name} {value}")?;
        }
        let counts = self.call_errors.iter().zip(&self.destination_errors);
        for (slot, (call, dest)) in counts.enumerate() {
            let name = COUNTED_ERRNOS.get(slot).map_or("other", |&(_, name)| name);
            writeln!(f, "errors_{name} {}", count(call).wrapping_add(count(dest)))?;
        }
        Ok(())
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

#[cfg(fidedupe_kunit)]
#[kunit_tests(fidedupe_stats)]
mod tests {
    use super::*;
    use kernel::str::CString;

    #[test]
    fn totals_are_summed_from_outcomes() -> Result {
        let stats = Stats::new();
        stats.record_call(Ok(()));
        stats.record_call(Err(EINTR));
        stats.record_call(Err(ENOSPC));
        stats.record_fideduperange_call();
        let same = DestOutcome {
            status: STATUS_SAME,
            bytes_deduped: 4096,
        };
        let differs = DestOutcome {
            status: STATUS_DIFFERS,
            bytes_deduped: 0,
        };
        stats.record_destination(&same);
        stats.record_destination(&differs);
        stats.record_destination(&DestOutcome::failed(EINTR));
        stats.record_destination(&DestOutcome::failed(EBADF));

        let text = CString::try_from_fmt(fmt!("{stats:?}"))?;
        let text = text.to_str()?;
        let expected = [
            "calls 3",
            "calls_fideduperange 1",
            "calls_failed 2",
            "calls_interrupted 1",
            "destinations 4",
            "destinations_same 1",
            "destinations_differs 1",
            "bytes_deduped 4096",
            "errors_EBADF 1",
            "errors_EINVAL 0",
            "errors_EINTR 2",
            "errors_other 1",
        ];
        for line in expected {
            assert_eq!(text.lines().find(|&shown| shown == line), Some(line));
        }
        assert_eq!(text.lines().count(), 8 + COUNTED_ERRNOS.len() + 1);
        Ok(())
    }

    #[test]
    fn each_errno_has_its_slot() {
        for (slot, &(errno, _)) in COUNTED_ERRNOS.iter().enumerate() {
            assert_eq!(error_slot(errno), slot);
        }
        for errno in [ENOSPC.to_errno(), -1000, i32::MIN, 0, 1, 9] {
            assert_eq!(error_slot(errno), OTHER_SLOT);
        }
    }
}
