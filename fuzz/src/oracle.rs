// SPDX-License-Identifier: GPL-2.0

//! The oracle: what fidedupe must answer, given what mainline answered.
//!
//! The starting point is always mainline's own outcome for the case, run
//! for real in the same kernel (the reference).  Each documented difference
//! of `Documentation/review.rst` is one small function below that, when it
//! applies to a call or a destination, says what fidedupe gives instead;
//! the functions are tried in the order fidedupe checks, and the first that
//! applies wins.  Where none applies, fidedupe must give exactly mainline's
//! outcome.  Any other difference is an undocumented one.
//!
//! Two documented differences change the request rather than the outcome,
//! and are applied when the reference runs (`main.rs`): mainline is asked
//! with the length shortened to `max_request_bytes` ("the cap": fidedupe
//! with a cap of M answers as mainline would with a cap of M), and more
//! than 127 records are asked in batches of 127 ("no PAGE_SIZE limit").

use crate::case::Limits;
use crate::sys::{DIFFERS, SAME};
use crate::universe::{Desc, Kind, Universe, BLOCK, NOBODY};

/// What one record holds after a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rec {
    /// Status and bytes as poisoned before the call.
    Untouched,
    /// Lies in a page the caller cannot read.
    Unreadable,
    /// A result.
    Done(i32, u64),
}

/// What a call gave: its return value and every record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub ret: i32,
    pub recs: Vec<Rec>,
}

/// An expectation and the rule that made it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expect {
    pub rec: Rec,
    pub rule: &'static str,
}

/// The caller the calls run as.
#[derive(Clone, Copy, Debug)]
pub struct Caller {
    pub uid: u32,
}

impl Caller {
    fn is_root(&self) -> bool {
        self.uid == 0
    }
}

/// What the call-level rules look at.
pub struct CallCtx<'a> {
    pub src: &'a Desc,
    pub reserved1: u16,
    pub reserved2: u32,
}

/// `fd_number()`: a descriptor number outside `0..=INT_MAX` is `EBADF`.
fn in_fd_range(number: i64) -> bool {
    (0..=i64::from(i32::MAX)).contains(&number)
}

/// `check_file()`: the per-file checks, source and destination alike.
fn check_file(d: &Desc) -> Result<(), i32> {
    if !d.readable {
        return Err(libc::EBADF);
    }
    match d.kind {
        Kind::Regular => {}
        Kind::Directory => return Err(libc::EISDIR),
        Kind::Other => return Err(libc::EINVAL),
    }
    if !d.can_remap {
        return Err(libc::EOPNOTSUPP);
    }
    if d.swapfile {
        return Err(libc::ETXTBSY);
    }
    if d.immutable {
        return Err(libc::EPERM);
    }
    Ok(())
}

/// review.rst "(beyond the review) 64-bit dest_fd", for the source:
/// `src_fd` outside `0..INT_MAX` is `EBADF`.  (Mainline's source is the
/// ioctl's own descriptor, truncated by the system call.)
fn call_descriptor_number(c: &CallCtx) -> Option<i32> {
    (!in_fd_range(c.src.number)).then_some(-libc::EBADF)
}

/// review.rst "Why is a two-file dedupe not symmetric", "Different
/// permissions", "EPERM for an immutable file, ETXTBSY for a swapfile":
/// the source passes the same per-file checks as a destination, after the
/// header's reserved fields (mainline checks FMODE_READ first; both are
/// EINVAL there).
fn call_symmetric_checks(c: &CallCtx) -> Option<i32> {
    if !c.src.open || c.reserved1 != 0 || c.reserved2 != 0 {
        return None;
    }
    check_file(c.src).err().map(|e| -e)
}

/// A call-level rule: its name and what it says fidedupe returns.
type CallRule = (&'static str, fn(&CallCtx) -> Option<i32>);

/// The call-level rules, in fidedupe's order.
const CALL_RULES: [CallRule; 2] = [
    ("descriptor numbers", call_descriptor_number),
    ("symmetric checks (source)", call_symmetric_checks),
];

/// fidedupe's return value for the call, if a call-level difference
/// applies; `None`: the call goes on as mainline's does.
pub fn call_expectation(c: &CallCtx) -> Option<(i32, &'static str)> {
    CALL_RULES
        .iter()
        .find_map(|(name, rule)| rule(c).map(|e| (e, *name)))
}

/// What the per-destination rules look at.
pub struct DestCtx<'a> {
    pub u: &'a Universe,
    pub caller: Caller,
    pub limits: Limits,
    pub src: usize,
    pub src_offset: u64,
    /// The length every destination sees (shortened to the cap).
    pub len: u64,
    pub dest: usize,
    pub dest_offset: u64,
    pub reserved: u32,
    /// Mainline's outcome for this record.
    pub mainline: Rec,
}

impl DestCtx<'_> {
    fn d(&self) -> &Desc {
        &self.u.descs[self.dest]
    }

    /// Whether the destination gets past the checks mainline and fidedupe
    /// make alike before fidedupe's own: the descriptor, `reserved`, the
    /// range's arithmetic, the mount, the dedupe permission.
    fn past_common_checks(&self) -> bool {
        let d = self.d();
        d.open
            && in_fd_range(d.number)
            && self.reserved == 0
            && self.dest_offset <= i64::MAX as u64
            && self
                .dest_offset
                .checked_add(self.len)
                .is_some_and(|e| e <= i64::MAX as u64)
            && !d.read_only_mount
            && self.permitted()
    }

    /// `may_dedupe_file()` from what the universe knows.
    fn permitted(&self) -> bool {
        let d = self.d();
        if self.caller.is_root() || d.writable || d.uid == self.caller.uid {
            return true;
        }
        let group = if d.uid == NOBODY { d.mode & 0o020 } else { 0 };
        d.mode & 0o002 != 0 || (self.caller.uid == NOBODY && group != 0)
    }

    fn dest_size(&self) -> u64 {
        self.u.size(self.dest)
    }

    fn src_size(&self) -> u64 {
        self.u.size(self.src)
    }
}

/// review.rst "(beyond the review) 64-bit dest_fd": outside `0..INT_MAX`
/// is `EBADF` (mainline truncates to 32 bits).
fn dest_descriptor_number(c: &DestCtx) -> Option<Rec> {
    (!in_fd_range(c.d().number)).then_some(Rec::Done(-libc::EBADF, 0))
}

/// review.rst "Why is a two-file dedupe not symmetric", "S_ISREG is
/// checked on the source only", "EINVAL or EOPNOTSUPP", "EPERM for an
/// immutable file, ETXTBSY for a swapfile", "Order of the checks": the
/// destination passes the source's per-file checks, after the mount and
/// the permission and before the superblock.
fn dest_symmetric_checks(c: &DestCtx) -> Option<Rec> {
    if !c.past_common_checks() {
        return None;
    }
    check_file(c.d()).err().map(|e| Rec::Done(-e, 0))
}

/// review.rst "(beyond the review) zero length past the destination's
/// EOF": `EINVAL`, where mainline succeeds without looking.
fn dest_zero_length_past_eof(c: &DestCtx) -> Option<Rec> {
    // Only a destination on the source's filesystem gets to the EOF check
    // (EXDEV comes first); found by the fuzzer with an overlayfs source.
    let same_fs = c.d().fs == c.u.descs[c.src].fs && c.d().can_remap;
    (c.past_common_checks() && same_fs && c.len == 0 && c.dest_offset > c.dest_size())
        .then_some(Rec::Done(-libc::EINVAL, 0))
}

/// review.rst "When does bytes_deduped differ from the length asked for"
/// and "Result states mainline never returns": what the filesystem shared,
/// not the length asked for; a non-empty request of which nothing can be
/// shared is `EINVAL`.
fn dest_exact_bytes(c: &DestCtx) -> Option<Rec> {
    if c.mainline != Rec::Done(SAME, c.len) || c.len == 0 {
        return None;
    }
    let at_both_eofs =
        c.src_offset + c.len == c.src_size() && c.dest_offset + c.len == c.dest_size();
    let shared = if at_both_eofs {
        c.len
    } else {
        c.len & !(BLOCK - 1)
    };
    Some(if shared == 0 {
        Rec::Done(-libc::EINVAL, 0)
    } else {
        Rec::Done(SAME, shared)
    })
}

/// review.rst "Can a range be deduped if only a prefix matches?": the
/// whole chunks before the first differing byte stay shared.
fn dest_prefix_rule(c: &DestCtx) -> Option<Rec> {
    if c.mainline != Rec::Done(DIFFERS, 0) {
        return None;
    }
    let chunk = (c.limits.chunk_bytes & !(BLOCK - 1)).max(BLOCK);
    let first = first_difference(c)?;
    Some(Rec::Done(DIFFERS, first / chunk * chunk))
}

/// Offset, within the range, of the first byte where source and
/// destination differ; `None` if they do not (then the oracle cannot
/// explain mainline's DIFFERS, and the case fails).
fn first_difference(c: &DestCtx) -> Option<u64> {
    let (sf, df) = (c.u.descs[c.src].file?, c.d().file?);
    let a = crate::universe::read_at(c.u.files[sf].reader, c.src_offset, c.len).ok()?;
    let b = crate::universe::read_at(c.u.files[df].reader, c.dest_offset, c.len).ok()?;
    a.iter()
        .zip(b.iter())
        .position(|(x, y)| x != y)
        .map(|p| p as u64)
}

/// A per-destination rule: its name and what it says the record holds.
type DestRule = (&'static str, fn(&DestCtx) -> Option<Rec>);

/// The per-destination rules, in fidedupe's order.
const DEST_RULES: [DestRule; 5] = [
    ("descriptor numbers", dest_descriptor_number),
    ("symmetric checks (destination)", dest_symmetric_checks),
    ("zero length past EOF", dest_zero_length_past_eof),
    ("exact bytes_deduped", dest_exact_bytes),
    ("prefix rule", dest_prefix_rule),
];

/// What fidedupe must give this destination.
pub fn dest_expectation(c: &DestCtx) -> Expect {
    DEST_RULES
        .iter()
        .find_map(|(name, rule)| rule(c).map(|rec| Expect { rec, rule: name }))
        .unwrap_or(Expect {
            rec: c.mainline,
            rule: "as mainline",
        })
}
