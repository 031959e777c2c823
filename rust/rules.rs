// SPDX-License-Identifier: GPL-2.0

//! The rules of a dedupe request that need no kernel object: range
//! arithmetic, the order of the per-file checks, the overlap rule, chunk
//! planning, the tunables and the mapping of a filesystem's answers to a
//! destination's status.
//!
//! Everything here is pure and unit-tested with KUnit below; `engine.rs`
//! applies these rules to real files through the
//! [`RemapFile`](crate::engine::RemapFile) trait.

use kernel::prelude::*;

/// `FILE_DEDUPE_RANGE_SAME` from `linux/fs.h`.
pub(crate) const STATUS_SAME: i32 = kernel::uapi::FILE_DEDUPE_RANGE_SAME as i32;
/// `FILE_DEDUPE_RANGE_DIFFERS` from `linux/fs.h`.
pub(crate) const STATUS_DIFFERS: i32 = kernel::uapi::FILE_DEDUPE_RANGE_DIFFERS as i32;

/// A byte range of one file whose offset, length and end all fit in
/// `loff_t`.
///
/// # Invariants
///
/// `0 <= offset`, `0 <= len` and `offset + len <= i64::MAX`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FileRange {
    offset: i64,
    len: i64,
}

impl FileRange {
    /// Validates a range as the caller gave it.
    ///
    /// Fails with `EINVAL` if the offset or the length is above `i64::MAX`,
    /// or if `offset + len` is: the sum is computed with checked arithmetic,
    /// so `len == u64::MAX` cannot wrap around into a small end.
    pub(crate) fn new(offset: u64, len: u64) -> Result<Self> {
        let offset = i64::try_from(offset).map_err(|_| EINVAL)?;
        let len = i64::try_from(len).map_err(|_| EINVAL)?;
        offset.checked_add(len).ok_or(EINVAL)?;
        // INVARIANT: both converted from `u64`, so non-negative, and their
        // sum did not overflow `i64`.
        Ok(Self { offset, len })
    }

    /// First byte of the range.
    pub(crate) fn offset(&self) -> u64 {
        // Lossless: non-negative by the type invariant.
        self.offset.unsigned_abs()
    }

    /// Length of the range in bytes.
    pub(crate) fn len(&self) -> u64 {
        // Lossless: non-negative by the type invariant.
        self.len.unsigned_abs()
    }

    /// One past the last byte.
    pub(crate) fn end(&self) -> u64 {
        self.offset() + self.len()
    }

    /// The offset as a `loff_t`, exactly.
    pub(crate) fn loff_offset(&self) -> i64 {
        self.offset
    }

    /// The length as a `loff_t`, exactly.
    pub(crate) fn loff_len(&self) -> i64 {
        self.len
    }

    /// Fails with `EINVAL` unless the whole range lies within a file of
    /// `size` bytes.
    pub(crate) fn check_within(&self, size: u64) -> Result {
        if self.end() > size {
            return Err(EINVAL);
        }
        Ok(())
    }

    /// The same range with its length capped at `max_len`.
    pub(crate) fn shortened_to(&self, max_len: u64) -> Self {
        // A cap above `i64::MAX` shortens no range.
        let max_len = i64::try_from(max_len).unwrap_or(i64::MAX);
        // INVARIANT: the length only shrinks and stays non-negative.
        Self {
            offset: self.offset,
            len: self.len.min(max_len.max(0)),
        }
    }

    /// The range of the same length starting at `offset` in another file.
    pub(crate) fn at(&self, offset: u64) -> Result<Self> {
        Self::new(offset, self.len())
    }

    /// The `len` bytes that start `skip` bytes into this range; `EINVAL`
    /// unless they lie within it.
    pub(crate) fn part(&self, skip: u64, len: u64) -> Result<Self> {
        match skip.checked_add(len) {
            Some(end) if end <= self.len() => Self::new(self.offset() + skip, len),
            _ => Err(EINVAL),
        }
    }
}

/// What kind of inode a file refers to, as far as dedupe cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FileKind {
    /// A regular file.
    Regular,
    /// A directory.
    Directory,
    /// Anything else: pipe, socket, device, symlink, ...
    Other,
}

/// The questions the checks ask of a file, answered by the glue in `file.rs`
/// for real files and by fakes in the KUnit tests.
pub(crate) trait FileFacts {
    /// The file was opened for reading (`FMODE_READ`).
    fn is_readable(&self) -> bool;
    /// The kind of the file's inode.
    fn kind(&self) -> FileKind;
    /// The file's operations provide `remap_file_range`.
    fn can_remap(&self) -> bool;
    /// The inode is an active swapfile (`IS_SWAPFILE`).
    fn is_swapfile(&self) -> bool;
    /// The inode is immutable (`IS_IMMUTABLE`).
    fn is_immutable(&self) -> bool;
}

/// The checks every file of a request passes, source and destinations
/// alike, in this order and with these errors.
///
/// Both files are read by the compare, so both must be open for reading; no
/// data of either may change, so both must be remappable regular files that
/// are neither swapfiles nor immutable.
#[inline]
pub(crate) fn check_file(file: &impl FileFacts) -> Result {
    if !file.is_readable() {
        return Err(EBADF);
    }
    match file.kind() {
        FileKind::Regular => {}
        FileKind::Directory => return Err(EISDIR),
        FileKind::Other => return Err(EINVAL),
    }
    if !file.can_remap() {
        return Err(EOPNOTSUPP);
    }
    if file.is_swapfile() {
        return Err(ETXTBSY);
    }
    if file.is_immutable() {
        return Err(EPERM);
    }
    Ok(())
}

/// Why a caller may change a destination's block mapping.
///
/// Only the destination's extents are replaced, so only the destination
/// needs this; the source is only read. Evaluated lazily in this order, as
/// mainline's `may_dedupe_file()` does, because `capable()` has side effects
/// (auditing, `PF_SUPERPRIV`).
pub(crate) trait DedupePermission {
    /// The caller has `CAP_SYS_ADMIN`.
    fn caller_is_admin(&self) -> bool;
    /// The destination was opened for writing.
    fn is_open_for_write(&self) -> bool;
    /// The caller's fsuid owns the inode (mapped through the mount's idmap).
    fn caller_owns(&self) -> bool;
    /// The caller could open the inode for writing.
    fn caller_may_write(&self) -> bool;
}

/// Fails with `EPERM` unless one of the reasons in [`DedupePermission`] holds.
pub(crate) fn check_dedupe_permission(dest: &impl DedupePermission) -> Result {
    if dest.caller_is_admin()
        || dest.is_open_for_write()
        || dest.caller_owns()
        || dest.caller_may_write()
    {
        Ok(())
    } else {
        Err(EPERM)
    }
}

/// Whether a source and a destination range of one file overlap, judged
/// over the whole request as `generic_remap_checks()` judges one call of
/// the filesystem: the length is rounded down to whole blocks, or, when
/// both ranges end at the end of the file of `size` bytes, up to the block
/// that holds it.
///
/// The filesystem sees one chunk at a time, so it cannot refuse a request
/// whose chunks overlap only each other's neighbours; this check runs once,
/// before the first chunk, whatever `chunk_bytes` is.
pub(crate) fn ranges_overlap(src: FileRange, dest: FileRange, size: u64, block_size: u64) -> bool {
    let block_size = if block_size.is_power_of_two() {
        block_size
    } else {
        1
    };
    // Mainline never hands a zero length to the filesystem: an empty
    // range overlaps nothing, even at the end of the file.
    if src.len() == 0 {
        return false;
    }
    let len = if src.end() == size && dest.end() == size {
        // Round the end of the file up to its block; `size` fits in
        // `loff_t`, so adding less than a block cannot overflow `u64`.
        ((size + block_size - 1) & !(block_size - 1)) - src.offset()
    } else {
        src.len() & !(block_size - 1)
    };
    len > 0
        && dest.offset() < src.offset().saturating_add(len)
        && src.offset() < dest.offset().saturating_add(len)
}

/// The tunables of a call (module parameters in production).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Longest range one call dedupes; longer requests are shortened.
    pub(crate) max_request_bytes: u64,
    /// Bytes per filesystem call, rounded down to whole blocks.
    pub(crate) chunk_bytes: u64,
}

impl Limits {
    /// Validates the tunables: 0 for either cannot work (every request
    /// would be shortened to nothing, or no chunk would hold a byte).
    pub(crate) fn new(max_request_bytes: u64, chunk_bytes: u64) -> Result<Self> {
        if max_request_bytes == 0 || chunk_bytes == 0 {
            return Err(EINVAL);
        }
        Ok(Self {
            max_request_bytes,
            chunk_bytes,
        })
    }
}

/// Splits a destination's range into chunks, each a separate call of the
/// filesystem, so that a fatal signal is noticed between chunks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ChunkPlan {
    chunk_bytes: u64,
}

impl ChunkPlan {
    /// A plan of chunks of `chunk_bytes` rounded down to a whole number of
    /// blocks of `block_size` bytes (a power of two), and at least one block.
    ///
    /// Every chunk but the last therefore starts and ends on a block
    /// boundary, which the filesystem needs to share it whole.
    pub(crate) fn new(chunk_bytes: u64, block_size: u64) -> Self {
        let block_size = if block_size.is_power_of_two() {
            block_size
        } else {
            1
        };
        let whole_blocks = chunk_bytes & !(block_size - 1);
        Self {
            chunk_bytes: whole_blocks.max(block_size),
        }
    }

    /// The chunk that starts `done` bytes into a range of `len` bytes, as a
    /// length, or `None` when the range is finished.
    pub(crate) fn next_chunk(&self, done: u64, len: u64) -> Option<u64> {
        let left = len.checked_sub(done)?;
        if left == 0 {
            None
        } else {
            Some(left.min(self.chunk_bytes))
        }
    }
}

/// What the filesystem said about one chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ChunkResult {
    /// This many bytes (possibly fewer than asked) are now shared.
    Shared(u64),
    /// The data of the chunk differ (`-EBADE` from `remap_file_range`).
    Differs,
    /// Any other error.
    Failed(Error),
}

impl ChunkResult {
    /// Interprets the return value of `f_op->remap_file_range`.
    pub(crate) fn from_remap_return(ret: i64) -> Self {
        if ret >= 0 {
            // `ret` is non-negative, so the conversion is lossless.
            Self::Shared(ret.unsigned_abs())
        } else if ret == i64::from(EBADE.to_errno()) {
            Self::Differs
        } else {
            // Errnos are small; a value that is not one is a filesystem bug,
            // reported as EIO rather than trusted.
            let max_errno = i64::from(kernel::uapi::MAX_ERRNO);
            let errno = match i32::try_from(ret) {
                Ok(errno) if ret >= -max_errno => Error::from_errno(errno),
                _ => EIO,
            };
            Self::Failed(errno)
        }
    }
}

/// The result for one destination: exactly what goes into its `status` and
/// `bytes_deduped`, each written once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DestOutcome {
    /// `FILE_DEDUPE_RANGE_SAME`, `FILE_DEDUPE_RANGE_DIFFERS` or `-errno`.
    pub(crate) status: i32,
    /// Bytes the filesystem actually shared for this destination.
    pub(crate) bytes_deduped: u64,
}

impl DestOutcome {
    /// A destination that failed a check before anything was shared.
    pub(crate) fn failed(err: Error) -> Self {
        Self {
            status: err.to_errno(),
            bytes_deduped: 0,
        }
    }
}

/// Accumulates the chunk results of one destination (the prefix rule).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DestProgress {
    requested: u64,
    shared: u64,
}

/// Whether to go on with the next chunk after [`DestProgress::record`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Next {
    /// Ask the filesystem for the next chunk.
    Continue,
    /// The destination is finished with this outcome.
    Done(DestOutcome),
}

impl DestProgress {
    /// Nothing shared yet of a range of `requested` bytes (already
    /// shortened to `max_request_bytes`).
    pub(crate) fn new(requested: u64) -> Self {
        Self {
            requested,
            shared: 0,
        }
    }

    /// Bytes shared so far.
    pub(crate) fn shared(&self) -> u64 {
        self.shared
    }

    /// Records the filesystem's answer for a chunk of `asked` bytes.
    ///
    /// Chunks shared before a chunk that differs or fails stay shared and
    /// are counted in `bytes_deduped`, so a negative `status` can come with
    /// a non-zero `bytes_deduped`. A chunk the filesystem shortened (an
    /// unaligned tail that does not end at both EOFs) ends the destination:
    /// the rest would not start on a block boundary.
    pub(crate) fn record(&mut self, asked: u64, result: ChunkResult) -> Next {
        match result {
            ChunkResult::Shared(n) => {
                // Never account more than was asked for, whatever the
                // filesystem returns.
                let n = n.min(asked);
                self.shared += n;
                if n < asked {
                    Next::Done(self.finish())
                } else {
                    Next::Continue
                }
            }
            ChunkResult::Differs => Next::Done(DestOutcome {
                status: STATUS_DIFFERS,
                bytes_deduped: self.shared,
            }),
            ChunkResult::Failed(err) => Next::Done(DestOutcome {
                status: err.to_errno(),
                bytes_deduped: self.shared,
            }),
        }
    }

    /// The outcome when a fatal signal ends the destination: `-EINTR` with
    /// what was shared before it, as [`Self::record`] makes of the
    /// `-EINTR` of a filesystem that saw the signal itself.
    pub(crate) fn interrupted(&self) -> DestOutcome {
        DestOutcome {
            status: EINTR.to_errno(),
            bytes_deduped: self.shared,
        }
    }

    /// The outcome once no chunk is left or the filesystem shortened one.
    ///
    /// `SAME` with `bytes_deduped` what was shared, which is then non-zero
    /// unless nothing was requested: a non-empty request of which the
    /// filesystem could share nothing (shorter than a block and not ending
    /// at both EOFs) is `EINVAL`, so that a client that advances by
    /// `bytes_deduped` while the status is `SAME` always advances.
    pub(crate) fn finish(&self) -> DestOutcome {
        if self.shared == 0 && self.requested > 0 {
            return DestOutcome::failed(EINVAL);
        }
        DestOutcome {
            status: STATUS_SAME,
            bytes_deduped: self.shared,
        }
    }
}

/// Converts a user-supplied descriptor number to what `fdget()` takes.
///
/// Mainline passes the 64-bit `dest_fd` to `fdget()`, which takes an
/// `unsigned int`, so `dest_fd == (1 << 32) + 3` resolves descriptor 3.
/// Here anything outside `0..=i32::MAX` is `EBADF`.
pub(crate) fn fd_number(fd: i64) -> Result<u32> {
    match i32::try_from(fd) {
        Ok(fd) if fd >= 0 => Ok(fd.unsigned_abs()),
        _ => Err(EBADF),
    }
}

#[cfg(fidedupe_kunit)]
#[kunit_tests(fidedupe_rules)]
mod tests {
    use super::*;

    fn range(offset: u64, len: u64) -> Result<FileRange> {
        FileRange::new(offset, len)
    }

    const MAX: u64 = i64::MAX.unsigned_abs();

    #[test]
    fn range_accepts_edges() {
        assert_eq!(range(0, 0).map(|r| r.end()), Ok(0));
        assert_eq!(range(MAX, 0).map(|r| r.end()), Ok(MAX));
        assert_eq!(range(0, MAX).map(|r| r.len()), Ok(MAX));
        assert_eq!(range(4096, 4095).map(|r| r.end()), Ok(8191));
        assert_eq!(range(MAX, 0).map(|r| r.loff_offset()), Ok(i64::MAX));
        assert_eq!(range(1, MAX - 1).map(|r| r.loff_len()), Ok(i64::MAX - 1));
    }

    #[test]
    fn range_rejects_overflow() {
        assert_eq!(range(0, u64::MAX), Err(EINVAL));
        assert_eq!(range(u64::MAX, 0), Err(EINVAL));
        assert_eq!(range(MAX + 1, 0), Err(EINVAL));
        assert_eq!(range(0, MAX + 1), Err(EINVAL));
        assert_eq!(range(1, MAX), Err(EINVAL));
        assert_eq!(range(MAX, 1), Err(EINVAL));
        assert_eq!(range(4096, u64::MAX - 4095), Err(EINVAL));
        // No wrap in 64 bits, but the end is past INT64_MAX.
        assert_eq!(range(4096, MAX - 100), Err(EINVAL));
        assert_eq!(range(MAX - 100, 4096), Err(EINVAL));
    }

    #[test]
    fn range_within_file() -> Result {
        let r = range(4096, 4096)?;
        assert_eq!(r.check_within(8192), Ok(()));
        assert_eq!(r.check_within(8191), Err(EINVAL));
        assert_eq!(r.shortened_to(100).len(), 100);
        assert_eq!(r.shortened_to(1 << 30).len(), 4096);
        assert_eq!(r.shortened_to(u64::MAX).len(), 4096);
        assert_eq!(r.shortened_to(0).len(), 0);
        assert_eq!(r.at(MAX), Err(EINVAL));
        assert_eq!(r.at(MAX - 4096).map(|r| r.end()), Ok(MAX));
        Ok(())
    }

    #[test]
    fn range_parts() -> Result {
        let r = range(4096, 65536)?;
        assert_eq!(r.part(0, 16384), range(4096, 16384));
        assert_eq!(r.part(49152, 16384), range(53248, 16384));
        assert_eq!(r.part(49152, 16385), Err(EINVAL));
        assert_eq!(r.part(u64::MAX, 1), Err(EINVAL));
        assert_eq!(r.part(65536, 0), range(69632, 0));
        Ok(())
    }

    #[test]
    fn overlap_in_one_file() -> Result {
        const MIB: u64 = 1 << 20;
        let size = 64 * MIB;
        // Distances below, at and above the length.
        let src = range(0, 32 * MIB)?;
        assert!(ranges_overlap(src, range(16 * MIB, 32 * MIB)?, size, 4096));
        assert!(ranges_overlap(
            src,
            range(32 * MIB - 4096, 32 * MIB)?,
            size,
            4096
        ));
        assert!(!ranges_overlap(src, range(32 * MIB, 32 * MIB)?, size, 4096));
        assert!(ranges_overlap(range(16 * MIB, 32 * MIB)?, src, size, 4096));
        // The same range is an overlap.
        assert!(ranges_overlap(src, src, size, 4096));
        // Length 0 overlaps nothing, at EOF either (found by the fuzzer:
        // rounded up to the block, it overlapped itself).
        assert!(!ranges_overlap(range(0, 0)?, range(0, 0)?, size, 4096));
        assert!(!ranges_overlap(
            range(4095, 0)?,
            range(4095, 0)?,
            4095,
            4096
        ));
        // Rounded down to whole blocks, as the filesystem does: 4097 bytes
        // at 0 and at 4096 share 4096 bytes and do not overlap.
        assert!(!ranges_overlap(
            range(0, 4097)?,
            range(4096, 4097)?,
            size,
            4096
        ));
        assert!(!ranges_overlap(
            range(0, 4095)?,
            range(0, 4095)?,
            size,
            4096
        ));
        // Both at EOF: rounded up to the block that holds the end.
        assert!(ranges_overlap(range(0, 4095)?, range(0, 4095)?, 4095, 4096));
        Ok(())
    }

    #[test]
    fn limits_reject_zero() {
        assert_eq!(
            Limits::new(1 << 30, 16 << 20),
            Ok(Limits {
                max_request_bytes: 1 << 30,
                chunk_bytes: 16 << 20
            })
        );
        assert_eq!(Limits::new(0, 16 << 20), Err(EINVAL));
        assert_eq!(Limits::new(1 << 30, 0), Err(EINVAL));
        assert_eq!(Limits::new(1, 1).map(|l| l.chunk_bytes), Ok(1));
    }

    struct Fake {
        readable: bool,
        kind: FileKind,
        remap: bool,
        swap: bool,
        immutable: bool,
    }

    impl FileFacts for Fake {
        fn is_readable(&self) -> bool {
            self.readable
        }
        fn kind(&self) -> FileKind {
            self.kind
        }
        fn can_remap(&self) -> bool {
            self.remap
        }
        fn is_swapfile(&self) -> bool {
            self.swap
        }
        fn is_immutable(&self) -> bool {
            self.immutable
        }
    }

    const GOOD: Fake = Fake {
        readable: true,
        kind: FileKind::Regular,
        remap: true,
        swap: false,
        immutable: false,
    };

    #[test]
    fn check_order() {
        assert_eq!(check_file(&GOOD), Ok(()));
        // Every failure alone gives its own errno ...
        assert_eq!(
            check_file(&Fake {
                readable: false,
                ..GOOD
            }),
            Err(EBADF)
        );
        let dir = Fake {
            kind: FileKind::Directory,
            ..GOOD
        };
        assert_eq!(check_file(&dir), Err(EISDIR));
        let pipe = Fake {
            kind: FileKind::Other,
            remap: false,
            ..GOOD
        };
        assert_eq!(check_file(&pipe), Err(EINVAL));
        assert_eq!(
            check_file(&Fake {
                remap: false,
                ..GOOD
            }),
            Err(EOPNOTSUPP)
        );
        assert_eq!(check_file(&Fake { swap: true, ..GOOD }), Err(ETXTBSY));
        assert_eq!(
            check_file(&Fake {
                immutable: true,
                ..GOOD
            }),
            Err(EPERM)
        );
        // ... and the first in the documented order wins.
        let all_bad = Fake {
            readable: false,
            kind: FileKind::Directory,
            remap: false,
            swap: true,
            immutable: true,
        };
        assert_eq!(check_file(&all_bad), Err(EBADF));
        assert_eq!(
            check_file(&Fake {
                readable: true,
                ..all_bad
            }),
            Err(EISDIR)
        );
        let swap_immutable = Fake {
            swap: true,
            immutable: true,
            ..GOOD
        };
        assert_eq!(check_file(&swap_immutable), Err(ETXTBSY));
    }

    struct Perm(bool, bool, bool, bool);

    impl DedupePermission for Perm {
        fn caller_is_admin(&self) -> bool {
            self.0
        }
        fn is_open_for_write(&self) -> bool {
            self.1
        }
        fn caller_owns(&self) -> bool {
            self.2
        }
        fn caller_may_write(&self) -> bool {
            self.3
        }
    }

    #[test]
    fn permission_any_reason() {
        assert_eq!(
            check_dedupe_permission(&Perm(false, false, false, false)),
            Err(EPERM)
        );
        assert_eq!(
            check_dedupe_permission(&Perm(true, false, false, false)),
            Ok(())
        );
        assert_eq!(
            check_dedupe_permission(&Perm(false, true, false, false)),
            Ok(())
        );
        assert_eq!(
            check_dedupe_permission(&Perm(false, false, true, false)),
            Ok(())
        );
        assert_eq!(
            check_dedupe_permission(&Perm(false, false, false, true)),
            Ok(())
        );
    }

    #[test]
    fn chunk_plan_rounds_to_blocks() {
        assert_eq!(ChunkPlan::new(16 << 20, 4096).chunk_bytes, 16 << 20);
        assert_eq!(ChunkPlan::new(10000, 4096).chunk_bytes, 8192);
        assert_eq!(ChunkPlan::new(1, 4096).chunk_bytes, 4096);
        assert_eq!(ChunkPlan::new(0, 65536).chunk_bytes, 65536);
        let plan = ChunkPlan::new(8192, 4096);
        assert_eq!(plan.next_chunk(0, 20000), Some(8192));
        assert_eq!(plan.next_chunk(16384, 20000), Some(3616));
        assert_eq!(plan.next_chunk(20000, 20000), None);
        assert_eq!(plan.next_chunk(0, 0), None);
        assert_eq!(plan.next_chunk(1, 0), None);
    }

    #[test]
    fn remap_return_mapping() {
        assert_eq!(
            ChunkResult::from_remap_return(4096),
            ChunkResult::Shared(4096)
        );
        assert_eq!(ChunkResult::from_remap_return(0), ChunkResult::Shared(0));
        assert_eq!(ChunkResult::from_remap_return(-52), ChunkResult::Differs);
        assert_eq!(
            ChunkResult::from_remap_return(-22),
            ChunkResult::Failed(EINVAL)
        );
        assert_eq!(
            ChunkResult::from_remap_return(i64::MIN),
            ChunkResult::Failed(EIO)
        );
    }

    #[test]
    fn prefix_rule() {
        // Two chunks shared, the third differs: DIFFERS with the prefix.
        let mut p = DestProgress::new(24576);
        assert_eq!(p.record(8192, ChunkResult::Shared(8192)), Next::Continue);
        assert_eq!(p.record(8192, ChunkResult::Shared(8192)), Next::Continue);
        let done = p.record(8192, ChunkResult::Differs);
        let want = DestOutcome {
            status: STATUS_DIFFERS,
            bytes_deduped: 16384,
        };
        assert_eq!(done, Next::Done(want));

        // A shortened chunk ends the destination as SAME with what was shared.
        let mut p = DestProgress::new(12289);
        assert_eq!(p.record(8192, ChunkResult::Shared(8192)), Next::Continue);
        let want = DestOutcome {
            status: STATUS_SAME,
            bytes_deduped: 12288,
        };
        assert_eq!(p.record(4097, ChunkResult::Shared(4096)), Next::Done(want));

        // An error after a shared prefix keeps the prefix in bytes_deduped.
        let mut p = DestProgress::new(8192);
        assert_eq!(p.record(4096, ChunkResult::Shared(4096)), Next::Continue);
        let want = DestOutcome {
            status: -12,
            bytes_deduped: 4096,
        };
        assert_eq!(
            p.record(4096, ChunkResult::Failed(ENOMEM)),
            Next::Done(want)
        );

        // A filesystem claiming more than asked is capped.
        let mut p = DestProgress::new(4096);
        assert_eq!(p.record(4096, ChunkResult::Shared(9999)), Next::Continue);
        assert_eq!(p.shared(), 4096);
        assert_eq!(
            p.finish(),
            DestOutcome {
                status: STATUS_SAME,
                bytes_deduped: 4096
            }
        );
    }

    #[test]
    fn same_with_nothing_shared_only_for_length_zero() {
        // Nothing requested: SAME, 0 bytes.
        assert_eq!(
            DestProgress::new(0).finish(),
            DestOutcome {
                status: STATUS_SAME,
                bytes_deduped: 0
            }
        );
        // One byte short of a block, not at EOF: the filesystem shares
        // nothing, and that is EINVAL, not SAME with 0 bytes.
        let mut p = DestProgress::new(4095);
        assert_eq!(
            p.record(4095, ChunkResult::Shared(0)),
            Next::Done(DestOutcome::failed(EINVAL))
        );
    }

    #[test]
    fn fd_numbers() {
        assert_eq!(fd_number(0), Ok(0));
        assert_eq!(fd_number(i64::from(i32::MAX)), Ok(i32::MAX.unsigned_abs()));
        assert_eq!(fd_number(-1), Err(EBADF));
        assert_eq!(fd_number((1 << 32) + 3), Err(EBADF));
        assert_eq!(fd_number(i64::MIN), Err(EBADF));
    }
}
