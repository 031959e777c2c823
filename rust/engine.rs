// SPDX-License-Identifier: GPL-2.0

//! One dedupe call, source first and then each destination, applying the
//! rules of `rules.rs` to files seen through the [`RemapFile`] trait.
//!
//! This is the counterpart of mainline's `vfs_dedupe_file_range()` and
//! `vfs_dedupe_file_range_one()`; the user-memory walk over the
//! destinations lives in `request.rs`, the real files in `file.rs`.

use kernel::prelude::*;

use crate::rules::{
    check_dedupe_permission, check_file, ChunkPlan, ChunkResult, DedupePermission, DestOutcome,
    DestProgress, FileFacts, FileRange, Next,
};

/// A file as the algorithm needs it: the facts the checks ask about, the
/// permission to dedupe into it, and the filesystem operations.
pub(crate) trait RemapFile: FileFacts + DedupePermission {
    /// Write access to the file's mount, held while the filesystem remaps.
    type WriteAccess<'a>
    where
        Self: 'a;

    /// The file's size now (`i_size_read()`).
    fn size(&self) -> u64;
    /// The filesystem's block size for this file.
    fn block_size(&self) -> u64;
    /// Both files live on one superblock (mounts may differ).
    fn same_fs(&self, other: &Self) -> bool;
    /// `remap_verify_area()`: LSM and fanotify permission hooks.
    fn verify_area(&self, range: FileRange, write: bool) -> Result;
    /// `mnt_want_write_file()`: freeze protection and a writable mount.
    fn want_write(&self) -> Result<Self::WriteAccess<'_>>;
    /// One call of `f_op->remap_file_range()` on this (destination) file
    /// with `REMAP_FILE_DEDUP | REMAP_FILE_CAN_SHORTEN`.
    fn remap_from(&self, src: &Self, src_offset: u64, dest_offset: u64, len: u64) -> ChunkResult;
}

/// The calling task, as far as interruption goes.
pub(crate) trait Caller {
    /// `fatal_signal_pending(current)`.
    fn fatal_signal_pending(&self) -> bool;
}

/// The tunables of a call (module parameters in production).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Longest range one call dedupes; longer requests are shortened.
    pub(crate) max_request_bytes: u64,
    /// Bytes per filesystem call, rounded down to whole blocks.
    pub(crate) chunk_bytes: u64,
}

/// Checks the source file and its range; any failure fails the whole call.
///
/// Returns the range as requested; [`dedupe_destination`] shortens it.
pub(crate) fn check_source<F: RemapFile>(src: &F, offset: u64, len: u64) -> Result<FileRange> {
    check_file(src)?;
    let range = FileRange::new(offset, len)?;
    src.verify_area(range, false)?;
    range.check_within(src.size())?;
    Ok(range)
}

/// Checks one destination against an already checked source range.
///
/// The same per-file checks as the source, in the same order, then what
/// only a pair of files or a destination can fail.
fn check_destination<F: RemapFile>(
    src: &F,
    src_range: FileRange,
    dest: &F,
    dest_offset: u64,
) -> Result<FileRange> {
    check_file(dest)?;
    if !src.same_fs(dest) {
        return Err(EXDEV);
    }
    let range = src_range.at(dest_offset)?;
    dest.verify_area(range, true)?;
    range.check_within(dest.size())?;
    Ok(range)
}

/// Dedupes `src_range` of `src` into `dest` at `dest_offset`.
///
/// Returns the destination's outcome, or `EINTR` when a fatal signal is
/// pending before a chunk; that is the only error, and it ends the call.
pub(crate) fn dedupe_destination<F: RemapFile>(
    src: &F,
    src_range: FileRange,
    dest: &F,
    dest_offset: u64,
    limits: Limits,
    caller: &impl Caller,
) -> Result<DestOutcome> {
    let dest_range = match check_destination(src, src_range, dest, dest_offset) {
        Ok(range) => range,
        Err(err) => return Ok(DestOutcome::failed(err)),
    };
    // Mount write access before the permission check, as mainline does: the
    // mount's MAY_WRITE must be checked with it held.
    let _write_access = match dest.want_write() {
        Ok(access) => access,
        Err(err) => return Ok(DestOutcome::failed(err)),
    };
    if let Err(err) = check_dedupe_permission(dest) {
        return Ok(DestOutcome::failed(err));
    }

    let len = src_range.shortened_to(limits.max_request_bytes).len();
    let plan = ChunkPlan::new(limits.chunk_bytes, dest.block_size());
    let mut progress = DestProgress::default();
    while let Some(chunk) = plan.next_chunk(progress.shared(), len) {
        if caller.fatal_signal_pending() {
            return Err(EINTR);
        }
        let done = progress.shared();
        let result = dest.remap_from(
            src,
            src_range.offset() + done,
            dest_range.offset() + done,
            chunk,
        );
        if let Next::Done(outcome) = progress.record(chunk, result) {
            return Ok(outcome);
        }
    }
    Ok(progress.finish())
}

#[kunit_tests(fidedupe_engine)]
mod tests {
    use super::*;
    use crate::rules::{FileKind, STATUS_DIFFERS, STATUS_SAME};
    use core::cell::Cell;

    /// A file whose data differ from the source from `differs_from` on.
    struct FakeFile {
        kind: FileKind,
        readable: bool,
        writable: bool,
        sb: u32,
        size: u64,
        differs_from: u64,
        read_only_mount: bool,
        calls: Cell<u32>,
    }

    impl FakeFile {
        fn regular(size: u64) -> Self {
            Self {
                kind: FileKind::Regular,
                readable: true,
                writable: true,
                sb: 1,
                size,
                differs_from: u64::MAX,
                read_only_mount: false,
                calls: Cell::new(0),
            }
        }
    }

    impl FileFacts for FakeFile {
        fn is_readable(&self) -> bool {
            self.readable
        }
        fn kind(&self) -> FileKind {
            self.kind
        }
        fn can_remap(&self) -> bool {
            self.kind == FileKind::Regular
        }
        fn is_swapfile(&self) -> bool {
            false
        }
        fn is_immutable(&self) -> bool {
            false
        }
    }

    impl DedupePermission for FakeFile {
        fn caller_is_admin(&self) -> bool {
            false
        }
        fn is_open_for_write(&self) -> bool {
            self.writable
        }
        fn caller_owns(&self) -> bool {
            false
        }
        fn caller_may_write(&self) -> bool {
            false
        }
    }

    impl RemapFile for FakeFile {
        type WriteAccess<'a> = ();

        fn size(&self) -> u64 {
            self.size
        }
        fn block_size(&self) -> u64 {
            4096
        }
        fn same_fs(&self, other: &Self) -> bool {
            self.sb == other.sb
        }
        fn verify_area(&self, _range: FileRange, _write: bool) -> Result {
            Ok(())
        }
        fn want_write(&self) -> Result {
            if self.read_only_mount {
                Err(EROFS)
            } else {
                Ok(())
            }
        }
        fn remap_from(&self, _src: &Self, _src_off: u64, dest_off: u64, len: u64) -> ChunkResult {
            self.calls.set(self.calls.get() + 1);
            if dest_off + len > self.differs_from {
                return ChunkResult::Differs;
            }
            // Like generic_remap_checks(): round an unaligned tail down
            // unless it ends at EOF.
            if dest_off + len == self.size {
                ChunkResult::Shared(len)
            } else {
                ChunkResult::Shared(len & !4095)
            }
        }
    }

    struct Signals {
        after_checks: u32,
        seen: Cell<u32>,
    }

    impl Caller for Signals {
        fn fatal_signal_pending(&self) -> bool {
            self.seen.set(self.seen.get() + 1);
            self.seen.get() > self.after_checks
        }
    }

    const NEVER: u32 = u32::MAX;
    const LIMITS: Limits = Limits {
        max_request_bytes: 1 << 30,
        chunk_bytes: 16384,
    };

    fn quiet() -> Signals {
        Signals {
            after_checks: NEVER,
            seen: Cell::new(0),
        }
    }

    fn run(src: &FakeFile, range: FileRange, dest: &FakeFile, at: u64) -> Result<DestOutcome> {
        dedupe_destination(src, range, dest, at, LIMITS, &quiet())
    }

    #[test]
    fn source_checks_come_before_range() {
        let dir = FakeFile {
            kind: FileKind::Directory,
            ..FakeFile::regular(0)
        };
        assert_eq!(check_source(&dir, 0, u64::MAX), Err(EISDIR));
        let unreadable = FakeFile {
            readable: false,
            ..FakeFile::regular(8192)
        };
        assert_eq!(check_source(&unreadable, 0, 4096), Err(EBADF));
        let file = FakeFile::regular(8192);
        assert_eq!(check_source(&file, 0, u64::MAX), Err(EINVAL));
        assert_eq!(check_source(&file, 4096, 4097), Err(EINVAL));
        assert_eq!(check_source(&file, 8192, 0).map(|r| r.len()), Ok(0));
    }

    #[test]
    fn destination_mirrors_source_checks() -> Result {
        let src = FakeFile::regular(65536);
        let range = check_source(&src, 0, 8192)?;
        let dir = FakeFile {
            kind: FileKind::Directory,
            ..FakeFile::regular(0)
        };
        assert_eq!(run(&src, range, &dir, 0)?, DestOutcome::failed(EISDIR));
        let pipe = FakeFile {
            kind: FileKind::Other,
            ..FakeFile::regular(0)
        };
        assert_eq!(run(&src, range, &pipe, 0)?, DestOutcome::failed(EINVAL));
        let unreadable = FakeFile {
            readable: false,
            ..FakeFile::regular(65536)
        };
        assert_eq!(
            run(&src, range, &unreadable, 0)?,
            DestOutcome::failed(EBADF)
        );
        let other_fs = FakeFile {
            sb: 2,
            ..FakeFile::regular(65536)
        };
        assert_eq!(run(&src, range, &other_fs, 0)?, DestOutcome::failed(EXDEV));
        let dest = FakeFile::regular(65536);
        assert_eq!(run(&src, range, &dest, 61440)?, DestOutcome::failed(EINVAL));
        assert_eq!(
            run(&src, range, &dest, u64::MAX)?,
            DestOutcome::failed(EINVAL)
        );
        let ro = FakeFile {
            read_only_mount: true,
            ..FakeFile::regular(65536)
        };
        assert_eq!(run(&src, range, &ro, 0)?, DestOutcome::failed(EROFS));
        let not_permitted = FakeFile {
            writable: false,
            ..FakeFile::regular(65536)
        };
        assert_eq!(
            run(&src, range, &not_permitted, 0)?,
            DestOutcome::failed(EPERM)
        );
        // None of these reached the filesystem.
        assert_eq!(
            dest.calls.get() + ro.calls.get() + not_permitted.calls.get(),
            0
        );
        Ok(())
    }

    #[test]
    fn zero_length_after_all_checks() -> Result {
        let src = FakeFile::regular(4096);
        let range = check_source(&src, 4096, 0)?;
        let dir = FakeFile {
            kind: FileKind::Directory,
            ..FakeFile::regular(0)
        };
        assert_eq!(run(&src, range, &dir, 0)?, DestOutcome::failed(EISDIR));
        let ro = FakeFile {
            read_only_mount: true,
            ..FakeFile::regular(4096)
        };
        assert_eq!(run(&src, range, &ro, 0)?, DestOutcome::failed(EROFS));
        let dest = FakeFile::regular(4096);
        let want = DestOutcome {
            status: STATUS_SAME,
            bytes_deduped: 0,
        };
        assert_eq!(run(&src, range, &dest, 4096)?, want);
        assert_eq!(dest.calls.get(), 0);
        Ok(())
    }

    #[test]
    fn chunks_and_prefix() -> Result {
        let src = FakeFile::regular(65536);
        let range = check_source(&src, 0, 65536)?;
        let dest = FakeFile::regular(65536);
        let want = DestOutcome {
            status: STATUS_SAME,
            bytes_deduped: 65536,
        };
        assert_eq!(run(&src, range, &dest, 0)?, want);
        assert_eq!(dest.calls.get(), 4);

        let tail_differs = FakeFile {
            differs_from: 40000,
            ..FakeFile::regular(65536)
        };
        let want = DestOutcome {
            status: STATUS_DIFFERS,
            bytes_deduped: 32768,
        };
        assert_eq!(run(&src, range, &tail_differs, 0)?, want);
        assert_eq!(tail_differs.calls.get(), 3);
        Ok(())
    }

    #[test]
    fn short_counts_are_reported() -> Result {
        let src = FakeFile::regular(65536);
        // Unaligned and not at EOF: the filesystem rounds down.
        let range = check_source(&src, 0, 20481)?;
        let dest = FakeFile::regular(65536);
        let want = DestOutcome {
            status: STATUS_SAME,
            bytes_deduped: 20480,
        };
        assert_eq!(run(&src, range, &dest, 0)?, want);
        // Capped by max_request_bytes.
        let limits = Limits {
            max_request_bytes: 8192,
            ..LIMITS
        };
        let got = dedupe_destination(&src, range, &dest, 0, limits, &quiet())?;
        assert_eq!(
            got,
            DestOutcome {
                status: STATUS_SAME,
                bytes_deduped: 8192
            }
        );
        // Unaligned at both EOFs: shared whole.
        let short = FakeFile::regular(4097);
        let range = check_source(&short, 0, 4097)?;
        let dest = FakeFile::regular(4097);
        let want = DestOutcome {
            status: STATUS_SAME,
            bytes_deduped: 4097,
        };
        assert_eq!(run(&short, range, &dest, 0)?, want);
        Ok(())
    }

    #[test]
    fn fatal_signal_stops_between_chunks() -> Result {
        let src = FakeFile::regular(65536);
        let range = check_source(&src, 0, 65536)?;
        let dest = FakeFile::regular(65536);
        let signals = Signals {
            after_checks: 2,
            seen: Cell::new(0),
        };
        let got = dedupe_destination(&src, range, &dest, 0, LIMITS, &signals);
        assert_eq!(got, Err(EINTR));
        assert_eq!(dest.calls.get(), 2);
        Ok(())
    }
}
