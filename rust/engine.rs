// SPDX-License-Identifier: GPL-2.0

//! One dedupe call, source first and then each destination, applying the
//! rules of `rules.rs` to files seen through the [`RemapFile`] trait.
//!
//! This is the counterpart of mainline's `vfs_dedupe_file_range()` and
//! `vfs_dedupe_file_range_one()`, the walk over the destination records
//! included; the records themselves are in `records.rs`, the real files
//! in `file.rs`.

use kernel::prelude::*;

use crate::rules::{
    check_dedupe_permission,
    check_file,
    ranges_overlap,
    ChunkPlan,
    ChunkResult,
    DedupePermission,
    DestOutcome,
    DestProgress,
    FileFacts,
    FileRange,
    Next, //
};

/// A file as the algorithm needs it: the facts the checks ask about, the
/// permission to dedupe into it, and the filesystem operations.
pub(crate) trait RemapFile: FileFacts + DedupePermission + Sized {
    /// Write access to the file's mount, held while the filesystem remaps.
    type WriteAccess<'a>
    where
        Self: 'a;

    /// The file's size now (`i_size_read()`).
    fn size(&self) -> Result<u64>;
    /// The filesystem's block size for this file.
    fn block_size(&self) -> u64;
    /// Both files live on one superblock (mounts may differ).
    fn same_fs(&self, other: &Self) -> bool;
    /// Both files refer to one inode.
    fn same_inode(&self, other: &Self) -> bool;
    /// `remap_verify_area()`: LSM and fanotify permission hooks.
    fn verify_area(&self, range: FileRange, write: bool) -> Result;
    /// `mnt_want_write_file()`: freeze protection and a writable mount.
    fn want_write(&self) -> Result<Self::WriteAccess<'_>>;
    /// One call of `f_op->remap_file_range()` on the pair's destination,
    /// from its source, with `REMAP_FILE_DEDUP | REMAP_FILE_CAN_SHORTEN`,
    /// for parts of equal length of the pair's ranges.  Only a pair that
    /// passed the checks exists, so the callback's requirements of its
    /// caller hold (see [`CheckedPair`]).
    fn remap(
        pair: &CheckedPair<'_, Self>,
        src_part: FileRange,
        dest_part: FileRange,
    ) -> ChunkResult;
}

/// A source that passed [`check_source`], and the range, shortened to
/// `max_request_bytes`, that every destination is checked against and
/// deduped with.  Only [`check_source`] makes one.
pub(crate) struct CheckedSource<'a, F> {
    file: &'a F,
    range: FileRange,
}

/// A destination that passed [`check_destination`] against a
/// [`CheckedSource`]: what `f_op->remap_file_range()` requires of its
/// caller, for as long as this lives.  Both files are readable regular
/// files that can remap, on one superblock (a filesystem's callback casts
/// both inodes to its own type, as xfs's `XFS_I()` does); both areas passed
/// `remap_verify_area()`; the caller may dedupe into the destination; and
/// the destination's mount is held for writing.  Only
/// [`check_destination`] makes one.
pub(crate) struct CheckedPair<'a, F: RemapFile> {
    src: &'a F,
    dest: &'a F,
    src_range: FileRange,
    dest_range: FileRange,
    _write_access: F::WriteAccess<'a>,
}

impl<'a, F: RemapFile> CheckedPair<'a, F> {
    /// The source file.
    pub(crate) fn src(&self) -> &'a F {
        self.src
    }

    /// The destination file.
    pub(crate) fn dest(&self) -> &'a F {
        self.dest
    }
}

/// The calling task, as far as interruption goes.
pub(crate) trait Caller {
    /// `fatal_signal_pending(current)`.
    fn fatal_signal_pending(&self) -> bool;
}

/// The descriptors of the calling task.
pub(crate) trait OpenFiles {
    /// The files they name.
    type File: RemapFile;

    /// Lends `f` the file that the user-supplied descriptor number `fd`
    /// names, until `f` returns; `EBADF` if it names none.
    fn with_fd<R>(&self, fd: i64, f: impl FnOnce(&Self::File) -> R) -> Result<R>;
}

/// One destination record of a call (`struct file_dedupe_range_info`).
pub(crate) trait DestRecord {
    /// `dest_fd`.
    fn dest_fd(&self) -> i64;
    /// `dest_offset`.
    fn dest_offset(&self) -> u64;
    /// `reserved`, which must be zero.
    fn reserved(&self) -> u32;
    /// Fills in `status` and `bytes_deduped`.
    fn set_outcome(&mut self, outcome: &DestOutcome);
}

/// The destination records of one call, each read once, in order, and
/// written back with its result.
pub(crate) trait DestRecords {
    /// A record.
    type Record: DestRecord;

    /// Reads record `index`, the one after the record read last (the
    /// first one if none was): `EINVAL` for any other.
    fn read(&mut self, index: usize) -> Result<Self::Record>;
    /// Writes record `index` back, with its result filled in: `EINVAL`
    /// past the last record.
    fn write_back(&mut self, index: usize, record: &Self::Record) -> Result;
}

/// Checks the source file and its range; any failure fails the whole call.
///
/// The range is checked as requested (`remap_verify_area()`, the source's
/// EOF), then shortened to `max_request_bytes` before any destination sees
/// it, as mainline caps it at 1 GiB: the returned source holds the range
/// every destination is checked against and deduped with.
pub(crate) fn check_source<F: RemapFile>(
    src: &F,
    offset: u64,
    len: u64,
    max_request_bytes: u64,
) -> Result<CheckedSource<'_, F>> {
    check_file(src)?;
    let requested = FileRange::new(offset, len)?;
    src.verify_area(requested, false)?;
    requested.check_within(src.size()?)?;
    Ok(CheckedSource {
        file: src,
        range: requested.shortened_to(max_request_bytes),
    })
}

/// Checks one destination against the (shortened) source range.
///
/// First in `vfs_dedupe_file_range_one()`'s order: both areas
/// (`remap_verify_area()`, the source's again, then the destination's,
/// whose offset and end are checked there), write access to the mount,
/// dedupe permission.  Then what mainline checks later or not at all: the
/// per-file checks the source passed (so a directory is `EISDIR` before
/// another superblock is `EXDEV`, where mainline checks `EXDEV` first),
/// the superblock, the destination's EOF and, within one file, the
/// overlap of the whole ranges.
///
/// Returns the pair, which holds the destination's mount write access
/// while the filesystem remaps.
fn check_destination<'a, F: RemapFile>(
    source: &CheckedSource<'a, F>,
    dest: &'a F,
    dest_offset: u64,
) -> Result<CheckedPair<'a, F>> {
    let (src, src_range) = (source.file, source.range);
    src.verify_area(src_range, false)?;
    // remap_verify_area()'s own checks of the destination's offset and end.
    let dest_range = src_range.at(dest_offset)?;
    dest.verify_area(dest_range, true)?;
    // After remap_verify_area(), whose fsnotify hooks must not run under
    // freeze protection, and before the permission check, because the
    // mount's MAY_WRITE must be checked with write access held.
    let write_access = dest.want_write()?;
    check_dedupe_permission(dest)?;
    check_file(dest)?;
    if !src.same_fs(dest) {
        return Err(EXDEV);
    }
    let dest_size = dest.size()?;
    dest_range.check_within(dest_size)?;
    if src.same_inode(dest) && ranges_overlap(src_range, dest_range, dest_size, dest.block_size()) {
        return Err(EINVAL);
    }
    Ok(CheckedPair {
        src,
        dest,
        src_range,
        dest_range,
        _write_access: write_access,
    })
}

/// Dedupes the source's range into `dest` at `dest_offset`, in chunks of
/// `chunk_bytes`, and returns the destination's outcome.
///
/// A fatal signal pending before a chunk, or after a chunk the filesystem
/// cut short, ends the destination as the filesystem's own killable wait
/// would: `-EINTR`, with the bytes shared before it.  The caller writes
/// that back like any other outcome, then sees the signal and ends the
/// call.
fn dedupe_destination<F: RemapFile>(
    source: &CheckedSource<'_, F>,
    dest: &F,
    dest_offset: u64,
    chunk_bytes: u64,
    caller: &impl Caller,
) -> DestOutcome {
    let pair = match check_destination(source, dest, dest_offset) {
        Ok(pair) => pair,
        Err(err) => return DestOutcome::failed(err),
    };
    let len = pair.dest_range.len();
    let plan = ChunkPlan::new(chunk_bytes, dest.block_size());
    let mut progress = DestProgress::new(len);
    while let Some(chunk) = plan.next_chunk(progress.shared(), len) {
        if caller.fatal_signal_pending() {
            return progress.interrupted();
        }
        let done = progress.shared();
        let result = match (
            pair.src_range.part(done, chunk),
            pair.dest_range.part(done, chunk),
        ) {
            (Ok(src_part), Ok(dest_part)) => F::remap(&pair, src_part, dest_part),
            (Err(err), _) | (_, Err(err)) => ChunkResult::Failed(err),
        };
        match progress.record(chunk, result) {
            Next::Continue => {}
            // A chunk the filesystem cut short because it saw a fatal
            // signal (xfs returns what it remapped before it) is an
            // interruption, not a short count.
            Next::Done(_)
                if matches!(result, ChunkResult::Shared(_)) && caller.fatal_signal_pending() =>
            {
                return progress.interrupted();
            }
            Next::Done(outcome) => return outcome,
        }
    }
    progress.finish()
}

/// Dedupes the source's range into each of the `dest_count` destinations
/// of `records`, in order, and writes each one's outcome back to its
/// record; `on_outcome` sees each outcome first.
///
/// A failure of the call itself (a record that cannot be read or written,
/// a fatal signal) is returned; a failure of one destination is written
/// to its `status` and the others go on.  Each destination's descriptor
/// is resolved before its record's `reserved` field is checked, as
/// mainline orders them.  A fatal signal is seen where mainline sees it,
/// after the destination in progress, whose record is written back first:
/// `-EINTR` with the chunks shared before the signal, if the signal ended
/// it.
pub(crate) fn dedupe_destinations<O: OpenFiles>(
    source: &CheckedSource<'_, O::File>,
    dest_count: u16,
    records: &mut impl DestRecords,
    files: &O,
    chunk_bytes: u64,
    caller: &impl Caller,
    mut on_outcome: impl FnMut(&DestOutcome),
) -> Result {
    for index in 0..usize::from(dest_count) {
        let mut record = records.read(index)?;
        let outcome = files
            .with_fd(record.dest_fd(), |dest| {
                if record.reserved() != 0 {
                    return DestOutcome::failed(EINVAL);
                }
                dedupe_destination(source, dest, record.dest_offset(), chunk_bytes, caller)
            })
            .unwrap_or_else(DestOutcome::failed);
        on_outcome(&outcome);
        record.set_outcome(&outcome);
        records.write_back(index, &record)?;
        if caller.fatal_signal_pending() {
            return Err(EINTR);
        }
    }
    Ok(())
}

#[cfg(fidedupe_kunit)]
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
        inode: u32,
        size: u64,
        differs_from: u64,
        read_only_mount: bool,
        deny_area: bool,
        /// Calls of `remap_from()`.
        calls: Cell<u32>,
        /// Calls of `verify_area()`.
        area_checks: Cell<u32>,
    }

    impl FakeFile {
        fn regular(size: u64) -> Self {
            Self {
                kind: FileKind::Regular,
                readable: true,
                writable: true,
                sb: 1,
                inode: 0,
                size,
                differs_from: u64::MAX,
                read_only_mount: false,
                deny_area: false,
                calls: Cell::new(0),
                area_checks: Cell::new(0),
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

        fn size(&self) -> Result<u64> {
            Ok(self.size)
        }
        fn block_size(&self) -> u64 {
            4096
        }
        fn same_fs(&self, other: &Self) -> bool {
            self.sb == other.sb
        }
        fn same_inode(&self, other: &Self) -> bool {
            self.inode != 0 && self.inode == other.inode
        }
        fn verify_area(&self, _range: FileRange, _write: bool) -> Result {
            self.area_checks.set(self.area_checks.get() + 1);
            if self.deny_area {
                Err(EACCES)
            } else {
                Ok(())
            }
        }
        fn want_write(&self) -> Result {
            if self.read_only_mount {
                Err(EROFS)
            } else {
                Ok(())
            }
        }
        fn remap(
            pair: &CheckedPair<'_, Self>,
            _src_part: FileRange,
            dest_part: FileRange,
        ) -> ChunkResult {
            let dest = pair.dest();
            dest.calls.set(dest.calls.get() + 1);
            if dest_part.end() > dest.differs_from {
                return ChunkResult::Differs;
            }
            // Like generic_remap_checks(): round an unaligned tail down
            // unless it ends at EOF.
            if dest_part.end() == dest.size {
                ChunkResult::Shared(dest_part.len())
            } else {
                ChunkResult::Shared(dest_part.len() & !4095)
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
    const MAX_REQUEST: u64 = 1 << 30;
    const CHUNK: u64 = 16384;

    fn quiet() -> Signals {
        Signals {
            after_checks: NEVER,
            seen: Cell::new(0),
        }
    }

    fn run(source: &CheckedSource<'_, FakeFile>, dest: &FakeFile, at: u64) -> DestOutcome {
        dedupe_destination(source, dest, at, CHUNK, &quiet())
    }

    fn source(src: &FakeFile, offset: u64, len: u64) -> Result<CheckedSource<'_, FakeFile>> {
        check_source(src, offset, len, MAX_REQUEST)
    }

    /// The range of a source that passed its checks.
    fn range_of(source: Result<CheckedSource<'_, FakeFile>>) -> Result<FileRange> {
        source.map(|source| source.range)
    }

    #[test]
    fn source_checks_come_before_range() {
        let dir = FakeFile {
            kind: FileKind::Directory,
            ..FakeFile::regular(0)
        };
        assert_eq!(range_of(source(&dir, 0, u64::MAX)), Err(EISDIR));
        let unreadable = FakeFile {
            readable: false,
            ..FakeFile::regular(8192)
        };
        assert_eq!(range_of(source(&unreadable, 0, 4096)), Err(EBADF));
        let file = FakeFile::regular(8192);
        assert_eq!(range_of(source(&file, 0, u64::MAX)), Err(EINVAL));
        assert_eq!(range_of(source(&file, 4096, 4097)), Err(EINVAL));
        assert_eq!(range_of(source(&file, 8192, 0)).map(|r| r.len()), Ok(0));
        // The range is checked against the source's EOF as requested, and
        // only then shortened.
        assert_eq!(range_of(check_source(&file, 0, 8193, 4096)), Err(EINVAL));
        assert_eq!(
            range_of(check_source(&file, 0, 8192, 4096)).map(|r| r.len()),
            Ok(4096)
        );
        let denied = FakeFile {
            deny_area: true,
            ..FakeFile::regular(8192)
        };
        assert_eq!(range_of(source(&denied, 0, 4096)), Err(EACCES));
    }

    #[test]
    fn destination_mirrors_source_checks() -> Result {
        let src = FakeFile::regular(65536);
        let range = source(&src, 0, 8192)?;
        let dir = FakeFile {
            kind: FileKind::Directory,
            ..FakeFile::regular(0)
        };
        assert_eq!(run(&range, &dir, 0), DestOutcome::failed(EISDIR));
        let pipe = FakeFile {
            kind: FileKind::Other,
            ..FakeFile::regular(0)
        };
        assert_eq!(run(&range, &pipe, 0), DestOutcome::failed(EINVAL));
        let unreadable = FakeFile {
            readable: false,
            ..FakeFile::regular(65536)
        };
        assert_eq!(run(&range, &unreadable, 0), DestOutcome::failed(EBADF));
        let other_fs = FakeFile {
            sb: 2,
            ..FakeFile::regular(65536)
        };
        assert_eq!(run(&range, &other_fs, 0), DestOutcome::failed(EXDEV));
        let dest = FakeFile::regular(65536);
        assert_eq!(run(&range, &dest, 61440), DestOutcome::failed(EINVAL));
        assert_eq!(run(&range, &dest, u64::MAX), DestOutcome::failed(EINVAL));
        let ro = FakeFile {
            read_only_mount: true,
            ..FakeFile::regular(65536)
        };
        assert_eq!(run(&range, &ro, 0), DestOutcome::failed(EROFS));
        let not_permitted = FakeFile {
            writable: false,
            ..FakeFile::regular(65536)
        };
        assert_eq!(run(&range, &not_permitted, 0), DestOutcome::failed(EPERM));
        let denied = FakeFile {
            deny_area: true,
            ..FakeFile::regular(65536)
        };
        assert_eq!(run(&range, &denied, 0), DestOutcome::failed(EACCES));
        // None of these reached the filesystem.
        assert_eq!(
            dest.calls.get() + ro.calls.get() + not_permitted.calls.get() + denied.calls.get(),
            0
        );
        Ok(())
    }

    #[test]
    fn destination_order_is_mainlines() -> Result {
        let src = FakeFile::regular(65536);
        let range = source(&src, 0, 8192)?;
        // remap_verify_area() first, then the mount, then the permission,
        // as mainline; then the per-file checks, before the superblock
        // (mainline: EXDEV before EISDIR).
        let everything_wrong = FakeFile {
            deny_area: true,
            read_only_mount: true,
            writable: false,
            sb: 2,
            size: 0,
            kind: FileKind::Directory,
            ..FakeFile::regular(0)
        };
        assert_eq!(
            run(&range, &everything_wrong, 0),
            DestOutcome::failed(EACCES)
        );
        let ro_other_fs = FakeFile {
            read_only_mount: true,
            sb: 2,
            ..FakeFile::regular(65536)
        };
        assert_eq!(run(&range, &ro_other_fs, 0), DestOutcome::failed(EROFS));
        let not_permitted_past_eof = FakeFile {
            writable: false,
            ..FakeFile::regular(4096)
        };
        assert_eq!(
            run(&range, &not_permitted_past_eof, 0),
            DestOutcome::failed(EPERM)
        );
        let dir_other_fs = FakeFile {
            kind: FileKind::Directory,
            sb: 2,
            ..FakeFile::regular(0)
        };
        assert_eq!(run(&range, &dir_other_fs, 0), DestOutcome::failed(EISDIR));
        Ok(())
    }

    #[test]
    fn source_area_checked_again_per_destination() -> Result {
        // As vfs_dedupe_file_range_one(): once for the call, once per
        // destination that gets that far, with the shortened length.
        let src = FakeFile::regular(65536);
        let range = source(&src, 0, 8192)?;
        assert_eq!(src.area_checks.get(), 1);
        let dest = FakeFile::regular(65536);
        run(&range, &dest, 0);
        run(&range, &dest, 8192);
        assert_eq!(src.area_checks.get(), 3);
        assert_eq!(dest.area_checks.get(), 2);
        // A destination offset remap_verify_area() refuses (negative as a
        // loff_t, or an end past it) comes after the source's check, and
        // the destination's hooks never run.
        for bad_offset in [u64::MAX - 4095, i64::MAX.unsigned_abs() - 4096] {
            assert_eq!(run(&range, &dest, bad_offset), DestOutcome::failed(EINVAL));
        }
        assert_eq!(src.area_checks.get(), 5);
        assert_eq!(dest.area_checks.get(), 2);
        Ok(())
    }

    #[test]
    fn zero_length_after_all_checks() -> Result {
        let src = FakeFile::regular(4096);
        let range = source(&src, 4096, 0)?;
        let dir = FakeFile {
            kind: FileKind::Directory,
            ..FakeFile::regular(0)
        };
        assert_eq!(run(&range, &dir, 0), DestOutcome::failed(EISDIR));
        let ro = FakeFile {
            read_only_mount: true,
            ..FakeFile::regular(4096)
        };
        assert_eq!(run(&range, &ro, 0), DestOutcome::failed(EROFS));
        let dest = FakeFile::regular(4096);
        let want = DestOutcome {
            status: STATUS_SAME,
            bytes_deduped: 0,
        };
        assert_eq!(run(&range, &dest, 4096), want);
        assert_eq!(dest.calls.get(), 0);
        Ok(())
    }

    #[test]
    fn chunks_and_prefix() -> Result {
        let src = FakeFile::regular(65536);
        let range = source(&src, 0, 65536)?;
        let dest = FakeFile::regular(65536);
        let want = DestOutcome {
            status: STATUS_SAME,
            bytes_deduped: 65536,
        };
        assert_eq!(run(&range, &dest, 0), want);
        assert_eq!(dest.calls.get(), 4);

        let tail_differs = FakeFile {
            differs_from: 40000,
            ..FakeFile::regular(65536)
        };
        let want = DestOutcome {
            status: STATUS_DIFFERS,
            bytes_deduped: 32768,
        };
        assert_eq!(run(&range, &tail_differs, 0), want);
        assert_eq!(tail_differs.calls.get(), 3);
        Ok(())
    }

    #[test]
    fn short_counts_are_reported() -> Result {
        let src = FakeFile::regular(65536);
        // Unaligned and not at EOF: the filesystem rounds down.
        let range = source(&src, 0, 20481)?;
        let dest = FakeFile::regular(65536);
        let want = DestOutcome {
            status: STATUS_SAME,
            bytes_deduped: 20480,
        };
        assert_eq!(run(&range, &dest, 0), want);
        // Capped by max_request_bytes.
        let capped = check_source(&src, 0, 20481, 8192)?;
        assert_eq!(
            run(&capped, &dest, 0),
            DestOutcome {
                status: STATUS_SAME,
                bytes_deduped: 8192
            }
        );
        // Unaligned at both EOFs: shared whole.
        let short = FakeFile::regular(4097);
        let range = source(&short, 0, 4097)?;
        let dest = FakeFile::regular(4097);
        let want = DestOutcome {
            status: STATUS_SAME,
            bytes_deduped: 4097,
        };
        assert_eq!(run(&range, &dest, 0), want);
        // Less than a block, not at EOF: nothing can be shared, EINVAL.
        let range = source(&src, 0, 4095)?;
        assert_eq!(run(&range, &dest, 0), DestOutcome::failed(EINVAL));
        Ok(())
    }

    #[test]
    fn cap_comes_before_destination_checks() -> Result {
        // Source 5 blocks, destination 4 blocks: the request of 5 blocks is
        // past the destination's EOF, the shortened one (3 blocks) is not.
        let src = FakeFile::regular(20480);
        let range = check_source(&src, 0, 20480, 12288)?;
        let dest = FakeFile::regular(16384);
        let want = DestOutcome {
            status: STATUS_SAME,
            bytes_deduped: 12288,
        };
        assert_eq!(run(&range, &dest, 0), want);
        Ok(())
    }

    #[test]
    fn overlap_judged_on_the_whole_range() -> Result {
        // One file of 16 chunks; ranges 8 chunks long at distances below,
        // at and above one chunk (16384) and at the length: each chunk
        // alone would not overlap the destination's chunk, the ranges do.
        let file = FakeFile {
            inode: 7,
            ..FakeFile::regular(16 * CHUNK)
        };
        let range = source(&file, 0, 8 * CHUNK)?;
        for distance in [4096, CHUNK, CHUNK + 4096, 4 * CHUNK, 8 * CHUNK - 4096] {
            assert_eq!(run(&range, &file, distance), DestOutcome::failed(EINVAL));
        }
        assert_eq!(file.calls.get(), 0);
        let want = DestOutcome {
            status: STATUS_SAME,
            bytes_deduped: 8 * CHUNK,
        };
        assert_eq!(run(&range, &file, 8 * CHUNK), want);
        // Another inode at the same offsets is no overlap.
        let other = FakeFile {
            inode: 8,
            ..FakeFile::regular(16 * CHUNK)
        };
        let want = DestOutcome {
            status: STATUS_SAME,
            bytes_deduped: 8 * CHUNK,
        };
        assert_eq!(run(&range, &other, CHUNK), want);
        Ok(())
    }

    #[test]
    fn fatal_signal_stops_between_chunks() -> Result {
        let src = FakeFile::regular(65536);
        let range = source(&src, 0, 65536)?;
        let dest = FakeFile::regular(65536);
        let signals = Signals {
            after_checks: 2,
            seen: Cell::new(0),
        };
        // As if the filesystem had seen the signal in the third chunk: the
        // two chunks before it are shared and counted.
        let want = DestOutcome {
            status: EINTR.to_errno(),
            bytes_deduped: 2 * CHUNK,
        };
        let got = dedupe_destination(&range, &dest, 0, CHUNK, &signals);
        assert_eq!(got, want);
        assert_eq!(dest.calls.get(), 2);

        // A chunk cut short with a fatal signal pending (as xfs cuts one
        // when it sees the signal): -EINTR with what was shared, where the
        // same short chunk without a signal is SAME.
        let short_tail = source(&src, 0, CHUNK + 4097)?;
        let want = DestOutcome {
            status: STATUS_SAME,
            bytes_deduped: CHUNK + 4096,
        };
        assert_eq!(run(&short_tail, &dest, 0), want);
        let signals = Signals {
            after_checks: 2,
            seen: Cell::new(0),
        };
        let want = DestOutcome {
            status: EINTR.to_errno(),
            bytes_deduped: CHUNK + 4096,
        };
        let got = dedupe_destination(&short_tail, &dest, 0, CHUNK, &signals);
        assert_eq!(got, want);
        Ok(())
    }

    /// Descriptor `n` names `files[n]`.
    struct FakeFiles<'a>(&'a [FakeFile]);

    impl OpenFiles for FakeFiles<'_> {
        type File = FakeFile;

        fn with_fd<R>(&self, fd: i64, f: impl FnOnce(&FakeFile) -> R) -> Result<R> {
            let file = usize::try_from(fd).ok().and_then(|fd| self.0.get(fd));
            file.map(f).ok_or(EBADF)
        }
    }

    #[derive(Clone, Copy, Debug, Default, PartialEq)]
    struct FakeRecord {
        dest_fd: i64,
        dest_offset: u64,
        reserved: u32,
        status: i32,
        bytes_deduped: u64,
    }

    impl DestRecord for FakeRecord {
        fn dest_fd(&self) -> i64 {
            self.dest_fd
        }
        fn dest_offset(&self) -> u64 {
            self.dest_offset
        }
        fn reserved(&self) -> u32 {
            self.reserved
        }
        fn set_outcome(&mut self, outcome: &DestOutcome) {
            self.status = outcome.status;
            self.bytes_deduped = outcome.bytes_deduped;
        }
    }

    /// Records in an array, with a log of the calls made on them, and a
    /// record that cannot be read or written back (a fault).
    struct FakeRecords<'a> {
        records: &'a mut [FakeRecord],
        faulty_read: usize,
        faulty_write: usize,
        /// `(index, written)` for each call, in order.
        log: KVec<(usize, bool)>,
    }

    impl<'a> FakeRecords<'a> {
        fn new(records: &'a mut [FakeRecord]) -> Self {
            Self {
                records,
                faulty_read: usize::MAX,
                faulty_write: usize::MAX,
                log: KVec::new(),
            }
        }
    }

    impl DestRecords for FakeRecords<'_> {
        type Record = FakeRecord;

        fn read(&mut self, index: usize) -> Result<FakeRecord> {
            self.log.push((index, false), GFP_KERNEL)?;
            if index == self.faulty_read {
                return Err(EFAULT);
            }
            self.records.get(index).copied().ok_or(EINVAL)
        }

        fn write_back(&mut self, index: usize, record: &FakeRecord) -> Result {
            self.log.push((index, true), GFP_KERNEL)?;
            if index == self.faulty_write {
                return Err(EFAULT);
            }
            *self.records.get_mut(index).ok_or(EINVAL)? = *record;
            Ok(())
        }
    }

    fn record(dest_fd: i64, reserved: u32) -> FakeRecord {
        FakeRecord {
            dest_fd,
            reserved,
            ..FakeRecord::default()
        }
    }

    /// Runs the walk of a call whose source is descriptor 0 (4 chunks,
    /// all shared) over `records`, and returns its result and how many
    /// outcomes it reported.
    fn walk(files: &[FakeFile], records: &mut FakeRecords<'_>, caller: &Signals) -> (Result, u32) {
        let mut reported = 0;
        let result = FakeFiles(files).with_fd(0, |src| {
            let source = source(src, 0, 4 * CHUNK)?;
            let dest_count = u16::try_from(records.records.len()).map_err(|_| EINVAL)?;
            dedupe_destinations(
                &source,
                dest_count,
                records,
                &FakeFiles(files),
                CHUNK,
                caller,
                |_| reported += 1,
            )
        });
        (result.and_then(|result| result), reported)
    }

    fn files() -> [FakeFile; 3] {
        let other_fs = FakeFile {
            sb: 2,
            ..FakeFile::regular(4 * CHUNK)
        };
        [
            FakeFile::regular(4 * CHUNK),
            FakeFile::regular(4 * CHUNK),
            other_fs,
        ]
    }

    #[test]
    fn every_destination_gets_its_own_status() -> Result {
        let files = files();
        // A descriptor that is not open, another filesystem, a good one.
        let mut records = [record(7, 0), record(2, 0), record(1, 0)];
        let mut log = FakeRecords::new(&mut records);
        let (result, reported) = walk(&files, &mut log, &quiet());
        assert_eq!(result, Ok(()));
        assert_eq!(reported, 3);
        // Each record read, then written back, once and in order.
        let want = [
            (0, false),
            (0, true),
            (1, false),
            (1, true),
            (2, false),
            (2, true),
        ];
        assert_eq!(&log.log[..], &want[..]);
        assert_eq!(
            (records[0].status, records[0].bytes_deduped),
            (EBADF.to_errno(), 0)
        );
        assert_eq!(
            (records[1].status, records[1].bytes_deduped),
            (EXDEV.to_errno(), 0)
        );
        assert_eq!(
            (records[2].status, records[2].bytes_deduped),
            (STATUS_SAME, 4 * CHUNK)
        );
        Ok(())
    }

    #[test]
    fn descriptor_before_reserved_field() -> Result {
        let files = files();
        let mut records = [record(7, 1), record(1, 1)];
        let (result, _) = walk(&files, &mut FakeRecords::new(&mut records), &quiet());
        assert_eq!(result, Ok(()));
        // Not open: EBADF, whatever `reserved` holds.
        assert_eq!(records[0].status, EBADF.to_errno());
        // Open: `reserved` is EINVAL, before any check of the file.
        assert_eq!(records[1].status, EINVAL.to_errno());
        assert_eq!((files[1].calls.get(), files[1].area_checks.get()), (0, 0));
        Ok(())
    }

    #[test]
    fn record_faults_end_the_call() -> Result {
        let files = files();
        let mut records = [record(1, 0), record(1, 0), record(1, 0)];
        let mut faulty = FakeRecords::new(&mut records);
        faulty.faulty_read = 1;
        let (result, reported) = walk(&files, &mut faulty, &quiet());
        assert_eq!(result, Err(EFAULT));
        assert_eq!(reported, 1);
        assert_eq!(&faulty.log[..], &[(0, false), (0, true), (1, false)][..]);
        assert_eq!(records[0].status, STATUS_SAME);

        let mut records = [record(1, 0), record(1, 0)];
        let mut faulty = FakeRecords::new(&mut records);
        faulty.faulty_write = 0;
        let (result, _) = walk(&files, &mut faulty, &quiet());
        assert_eq!(result, Err(EFAULT));
        assert_eq!(&faulty.log[..], &[(0, false), (0, true)][..]);
        Ok(())
    }

    #[test]
    fn fatal_signal_ends_the_call_after_the_write_back() -> Result {
        let files = files();
        let mut records = [record(1, 0), record(1, 0)];
        let mut log = FakeRecords::new(&mut records);
        // Seen in the first destination's second chunk.
        let signals = Signals {
            after_checks: 2,
            seen: Cell::new(0),
        };
        let (result, reported) = walk(&files, &mut log, &signals);
        assert_eq!(result, Err(EINTR));
        assert_eq!(reported, 1);
        // The interrupted record is written back, the next is not read.
        assert_eq!(&log.log[..], &[(0, false), (0, true)][..]);
        let interrupted = (EINTR.to_errno(), 2 * CHUNK);
        assert_eq!((records[0].status, records[0].bytes_deduped), interrupted);
        assert_eq!(records[1], record(1, 0));

        // A signal that arrives during a destination that fails anyway
        // ends the call after that record too.
        let mut records = [record(7, 0), record(1, 0)];
        let mut log = FakeRecords::new(&mut records);
        let signals = Signals {
            after_checks: 0,
            seen: Cell::new(0),
        };
        let (result, _) = walk(&files, &mut log, &signals);
        assert_eq!(result, Err(EINTR));
        assert_eq!(&log.log[..], &[(0, false), (0, true)][..]);
        assert_eq!(records[0].status, EBADF.to_errno());
        Ok(())
    }
}
