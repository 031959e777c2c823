// SPDX-License-Identifier: GPL-2.0

//! The rules of a dedupe request that need no kernel object: range
//! arithmetic, the order of the per-file checks, chunk planning and the
//! mapping of a filesystem's answers to a destination's status.
//!
//! Everything here is pure and unit-tested with KUnit below; `engine.rs`
//! applies these rules to real files through the [`DedupeFile`] trait.

use kernel::prelude::*;

/// Largest byte offset or length a request may name: `loff_t` is signed.
pub(crate) const MAX_LOFF: u64 = i64::MAX as u64;

/// `FILE_DEDUPE_RANGE_SAME` from `linux/fs.h`.
pub(crate) const STATUS_SAME: i32 = kernel::bindings::FILE_DEDUPE_RANGE_SAME as i32;
/// `FILE_DEDUPE_RANGE_DIFFERS` from `linux/fs.h`.
pub(crate) const STATUS_DIFFERS: i32 = kernel::bindings::FILE_DEDUPE_RANGE_DIFFERS as i32;

/// A byte range of one file whose end provably fits in `loff_t`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FileRange {
    offset: u64,
    len: u64,
}

impl FileRange {
    /// Validates a range as the caller gave it.
    ///
    /// Fails with `EINVAL` if the offset or the length is above `i64::MAX`,
    /// or if `offset + len` is: the sum is computed with checked arithmetic,
    /// so `len == u64::MAX` cannot wrap around into a small end.
    pub(crate) fn new(offset: u64, len: u64) -> Result<Self> {
        if offset > MAX_LOFF || len > MAX_LOFF {
            return Err(EINVAL);
        }
        match offset.checked_add(len) {
            Some(end) if end <= MAX_LOFF => Ok(Self { offset, len }),
            _ => Err(EINVAL),
        }
    }

    /// First byte of the range.
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    /// Length of the range in bytes.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// One past the last byte; cannot overflow by construction.
    pub(crate) fn end(&self) -> u64 {
        self.offset + self.len
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
        Self {
            offset: self.offset,
            len: self.len.min(max_len),
        }
    }

    /// The range of the same length starting at `offset` in another file.
    pub(crate) fn at(&self, offset: u64) -> Result<Self> {
        Self::new(offset, self.len)
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

    /// Bytes in one full chunk.
    pub(crate) fn chunk_bytes(&self) -> u64 {
        self.chunk_bytes
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
            Self::Shared(ret as u64)
        } else if ret == i64::from(EBADE.to_errno()) {
            Self::Differs
        } else {
            // Errnos are small; a value that is not one is a filesystem bug,
            // reported as EIO rather than trusted.
            let max_errno = i64::from(kernel::bindings::MAX_ERRNO);
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
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct DestProgress {
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
    /// Bytes shared so far.
    pub(crate) fn shared(&self) -> u64 {
        self.shared
    }

    /// Records the filesystem's answer for a chunk of `asked` bytes.
    ///
    /// Chunks shared before a chunk that differs or fails stay shared and
    /// are counted in `bytes_deduped`. A chunk the filesystem shortened (an
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

    /// The outcome when every chunk was shared (possibly shortened).
    pub(crate) fn finish(&self) -> DestOutcome {
        DestOutcome {
            status: STATUS_SAME,
            bytes_deduped: self.shared,
        }
    }
}

/// Converts a user-supplied descriptor number to what `fget()` takes.
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

#[kunit_tests(fidedupe_rules)]
mod tests {
    use super::*;

    #[test]
    fn range_accepts_edges() {
        assert_eq!(FileRange::new(0, 0).map(|r| r.end()), Ok(0));
        assert_eq!(FileRange::new(MAX_LOFF, 0).map(|r| r.end()), Ok(MAX_LOFF));
        assert_eq!(FileRange::new(0, MAX_LOFF).map(|r| r.len()), Ok(MAX_LOFF));
        assert_eq!(FileRange::new(4096, 4095).map(|r| r.end()), Ok(8191));
    }

    #[test]
    fn range_rejects_overflow() {
        assert_eq!(FileRange::new(0, u64::MAX), Err(EINVAL));
        assert_eq!(FileRange::new(u64::MAX, 0), Err(EINVAL));
        assert_eq!(FileRange::new(MAX_LOFF + 1, 0), Err(EINVAL));
        assert_eq!(FileRange::new(0, MAX_LOFF + 1), Err(EINVAL));
        assert_eq!(FileRange::new(1, MAX_LOFF), Err(EINVAL));
        assert_eq!(FileRange::new(MAX_LOFF, 1), Err(EINVAL));
        assert_eq!(FileRange::new(4096, u64::MAX - 4095), Err(EINVAL));
    }

    #[test]
    fn range_within_file() {
        let r = FileRange::new(4096, 4096).unwrap_or(FileRange { offset: 0, len: 0 });
        assert_eq!(r.check_within(8192), Ok(()));
        assert_eq!(r.check_within(8191), Err(EINVAL));
        assert_eq!(r.shortened_to(100).len(), 100);
        assert_eq!(r.shortened_to(1 << 30).len(), 4096);
        assert_eq!(r.at(MAX_LOFF), Err(EINVAL));
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
        assert_eq!(ChunkPlan::new(16 << 20, 4096).chunk_bytes(), 16 << 20);
        assert_eq!(ChunkPlan::new(10000, 4096).chunk_bytes(), 8192);
        assert_eq!(ChunkPlan::new(1, 4096).chunk_bytes(), 4096);
        assert_eq!(ChunkPlan::new(0, 65536).chunk_bytes(), 65536);
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
        let mut p = DestProgress::default();
        assert_eq!(p.record(8192, ChunkResult::Shared(8192)), Next::Continue);
        assert_eq!(p.record(8192, ChunkResult::Shared(8192)), Next::Continue);
        let done = p.record(8192, ChunkResult::Differs);
        let want = DestOutcome {
            status: STATUS_DIFFERS,
            bytes_deduped: 16384,
        };
        assert_eq!(done, Next::Done(want));

        // A shortened chunk ends the destination as SAME with what was shared.
        let mut p = DestProgress::default();
        assert_eq!(p.record(8192, ChunkResult::Shared(8192)), Next::Continue);
        let want = DestOutcome {
            status: STATUS_SAME,
            bytes_deduped: 12288,
        };
        assert_eq!(p.record(4097, ChunkResult::Shared(4096)), Next::Done(want));

        // An error after a shared prefix keeps the prefix in bytes_deduped.
        let mut p = DestProgress::default();
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
        let mut p = DestProgress::default();
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
    fn fd_numbers() {
        assert_eq!(fd_number(0), Ok(0));
        assert_eq!(fd_number(i64::from(i32::MAX)), Ok(i32::MAX.unsigned_abs()));
        assert_eq!(fd_number(-1), Err(EBADF));
        assert_eq!(fd_number((1 << 32) + 3), Err(EBADF));
        assert_eq!(fd_number(i64::MIN), Err(EBADF));
    }
}
