// SPDX-License-Identifier: GPL-2.0

//! Counters of what the module did, shown in debugfs as
//! `/sys/kernel/debug/fidedupe/stats`, one `name value` pair a line.
//!
//! Each CPU adds to its own counters (`glue.c`'s per-CPU array), so
//! callers on different CPUs never write one cache line, and the debugfs
//! file sums them when it is read.  Each event adds to one counter, that
//! of its outcome: a call succeeded or failed with an errno, a destination
//! is the same, differs or failed with an errno (plus the bytes it
//! deduped, if any).  The totals the file shows (`calls`, `calls_failed`,
//! `calls_interrupted`, `destinations`, each `errors_*`) are summed from
//! those.

use core::fmt;

use kernel::{
    prelude::*,
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

/// The slot of `errors_other`, the last of the errnos' counters.
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

/// The slot among the errnos' counters for `errno` (negative, as a
/// destination's status holds it): its place in [`COUNTED_ERRNOS`], or
/// [`OTHER_SLOT`].
#[inline]
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

/// The errnos' counters: [`COUNTED_ERRNOS`]'s, then every other.
const ERROR_SLOT_COUNT: usize = OTHER_SLOT + 1;

/// The counters, each an index into a set of [`Counters`].
const CALLS_SUCCEEDED: usize = 0;
const CALLS_FIDEDUPERANGE: usize = 1;
/// Calls that failed, by errno: [`ERROR_SLOT_COUNT`] counters.
const CALL_ERRORS: usize = 2;
const DESTINATIONS_SAME: usize = CALL_ERRORS + ERROR_SLOT_COUNT;
const DESTINATIONS_DIFFERS: usize = DESTINATIONS_SAME + 1;
/// Destinations that failed, by errno: [`ERROR_SLOT_COUNT`] counters.
const DESTINATION_ERRORS: usize = DESTINATIONS_DIFFERS + 1;
const BYTES_DEDUPED: usize = DESTINATION_ERRORS + ERROR_SLOT_COUNT;
/// How many counters a set holds: `FIDEDUPE_NR_COUNTERS` of `glue.h`.
const NR_COUNTERS: usize = BYTES_DEDUPED + 1;
const _: () = assert!(NR_COUNTERS <= u32::MAX as usize);

/// A set of [`NR_COUNTERS`] counters, each starting at zero.
pub(crate) trait Counters {
    /// Adds `n` to `counter`.
    fn add(&self, counter: usize, n: u64);
    /// What `counter` holds.
    fn read(&self, counter: usize) -> u64;
}

/// The C side of [`PerCpuCounters`], in `rust/glue.c`.
mod glue {
    use kernel::ffi::c_uint;

    extern "C" {
        pub(super) fn fidedupe_counter_add(counter: c_uint, n: u64);
        pub(super) fn fidedupe_counter_sum(counter: c_uint) -> u64;
        pub(super) fn fidedupe_nr_counters() -> c_uint;
    }
}

/// The module's counters: a set per CPU, `glue.c`'s `fidedupe_counters`.
/// A counter is added to on the CPU the caller runs on, with
/// `this_cpu_add()`, and read as the sum over every possible CPU.
pub(crate) struct PerCpuCounters;

impl Counters for PerCpuCounters {
    #[inline]
    fn add(&self, counter: usize, n: u64) {
        // Every counter is below `NR_COUNTERS`, which fits (asserted).
        let counter = counter as u32;
        // SAFETY: The helper takes any value: it ignores a counter that is
        // not one of its array's, and it may run in any context.
        unsafe { glue::fidedupe_counter_add(counter, n) }
    }

    fn read(&self, counter: usize) -> u64 {
        let counter = counter as u32;
        // SAFETY: The helper takes any value (0 for a counter it does not
        // have), and only reads.
        unsafe { glue::fidedupe_counter_sum(counter) }
    }
}

/// Counters of calls and destinations, in a set of [`Counters`].
pub(crate) struct Stats<C: Counters = PerCpuCounters> {
    counters: C,
}

impl<C: Counters> Stats<C> {
    /// The statistics kept in `counters`.
    pub(crate) const fn new(counters: C) -> Self {
        Self { counters }
    }

    /// Records the end of one call.
    #[inline]
    pub(crate) fn record_call(&self, result: Result) {
        let counter = match result {
            Ok(()) => CALLS_SUCCEEDED,
            Err(err) => CALL_ERRORS + error_slot(err.to_errno()),
        };
        self.counters.add(counter, 1);
    }

    /// Records that a call came through `FIDEDUPERANGE` (the livepatch)
    /// rather than `/dev/fidedupe`; [`Stats::record_call`] counts it too.
    #[inline]
    pub(crate) fn record_fideduperange_call(&self) {
        self.counters.add(CALLS_FIDEDUPERANGE, 1);
    }

    /// Records the outcome of one destination.
    #[inline]
    pub(crate) fn record_destination(&self, outcome: &DestOutcome) {
        if outcome.bytes_deduped != 0 {
            self.counters.add(BYTES_DEDUPED, outcome.bytes_deduped);
        }
        let counter = match outcome.status {
            STATUS_SAME => DESTINATIONS_SAME,
            STATUS_DIFFERS => DESTINATIONS_DIFFERS,
            errno => DESTINATION_ERRORS + error_slot(errno),
        };
        self.counters.add(counter, 1);
    }

    /// The sum of `count` counters from `first`, each read on its own, as
    /// every line is.
    fn sum(&self, first: usize, count: usize) -> u64 {
        (first..first + count).fold(0, |total, counter| {
            total.wrapping_add(self.counters.read(counter))
        })
    }
}

impl<C: Counters> fmt::Debug for Stats<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = |counter| self.counters.read(counter);
        let calls_failed = self.sum(CALL_ERRORS, ERROR_SLOT_COUNT);
        let same = count(DESTINATIONS_SAME);
        let differs = count(DESTINATIONS_DIFFERS);
        let destinations = self
            .sum(DESTINATION_ERRORS, ERROR_SLOT_COUNT)
            .wrapping_add(same)
            .wrapping_add(differs);
        let rows = [
            ("calls", calls_failed.wrapping_add(count(CALLS_SUCCEEDED))),
            ("calls_fideduperange", count(CALLS_FIDEDUPERANGE)),
            ("calls_failed", calls_failed),
            ("calls_interrupted", count(CALL_ERRORS + EINTR_SLOT)),
            ("destinations", destinations),
            ("destinations_same", same),
            ("destinations_differs", differs),
            ("bytes_deduped", count(BYTES_DEDUPED)),
        ];
        for (name, value) in rows {
            writeln!(f, "{name} {value}")?;
        }
        for slot in 0..ERROR_SLOT_COUNT {
            let name = COUNTED_ERRNOS.get(slot).map_or("other", |&(_, name)| name);
            let errors = count(CALL_ERRORS + slot).wrapping_add(count(DESTINATION_ERRORS + slot));
            writeln!(f, "errors_{name} {errors}")?;
        }
        Ok(())
    }
}

/// The module's counters.
pub(crate) static STATS: Stats = Stats::new(PerCpuCounters);

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
    use kernel::{
        str::CString,
        sync::atomic::{
            Atomic,
            Relaxed, //
        },
    };

    /// A set of counters of its own, for a test.
    struct TestCounters([Atomic<u64>; NR_COUNTERS]);

    impl Counters for TestCounters {
        fn add(&self, counter: usize, n: u64) {
            self.0[counter].fetch_add(n, Relaxed);
        }

        fn read(&self, counter: usize) -> u64 {
            self.0[counter].load(Relaxed)
        }
    }

    #[test]
    fn totals_are_summed_from_outcomes() -> Result {
        let stats = Stats::new(TestCounters([const { Atomic::new(0) }; NR_COUNTERS]));
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
    fn glue_has_every_counter() {
        // SAFETY: The helper only returns a constant.
        let glue = unsafe { glue::fidedupe_nr_counters() };
        assert_eq!(usize::try_from(glue), Ok(NR_COUNTERS));
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
