// SPDX-License-Identifier: GPL-2.0

//! The two ways a call arrives, and the walk over its destinations they
//! share: the user-visible structures of `include/uapi/fidedupe.h` and
//! `linux/fs.h`, records in user memory for `/dev/fidedupe`
//! (`FIDEDUPE_IOC_DEDUPE_RANGE`), and the kernel's copy of the records for
//! `FIDEDUPERANGE` itself when the livepatch routes it here.
//!
//! Through `/dev/fidedupe`, records are read a few at a time into a fixed
//! buffer and each is written back once its destination is done, so the
//! kernel memory a call uses does not depend on `dest_count`, and
//! mainline's `PAGE_SIZE` limit on the copy-in does not apply.  Through
//! `FIDEDUPERANGE`, `fs/ioctl.c` has already copied the array in (and
//! applied that limit) and copies it back out.

use core::mem::size_of;

use kernel::{
    bindings,
    ioctl::_IOW,
    prelude::*,
    transmute::{
        AsBytes,
        FromBytes, //
    },
    uaccess::{
        UserPtr,
        UserSlice,
        UserSliceReader,
        UserSliceWriter, //
    },
};

use crate::engine::{
    self,
    Caller, //
};
use crate::file::OpenFile;
use crate::rules::{
    DestOutcome,
    FileRange,
    Limits, //
};
use crate::stats::Stats;

/// `struct fidedupe_args` of `include/uapi/fidedupe.h`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct FidedupeArgs {
    src_fd: i64,
    range_ptr: u64,
    flags: u32,
    reserved: u32,
}

/// The fixed part of `struct file_dedupe_range` (`linux/fs.h`).
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct RangeHeader {
    src_offset: u64,
    src_length: u64,
    dest_count: u16,
    reserved1: u16,
    reserved2: u32,
}

impl RangeHeader {
    /// The reserved fields must be zero; checked once the source file is
    /// known and before any check of it.
    fn check_reserved(&self) -> Result {
        if self.reserved1 != 0 || self.reserved2 != 0 {
            return Err(EINVAL);
        }
        Ok(())
    }
}

/// `struct file_dedupe_range_info` (`linux/fs.h`).
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct RangeInfo {
    dest_fd: i64,
    dest_offset: u64,
    bytes_deduped: u64,
    status: i32,
    reserved: u32,
}

// The layouts must match the kernel's own definitions byte for byte.
const _: () = {
    assert!(size_of::<FidedupeArgs>() == 24);
    assert!(size_of::<RangeHeader>() == size_of::<bindings::file_dedupe_range>());
    assert!(size_of::<RangeInfo>() == size_of::<bindings::file_dedupe_range_info>());
    assert!(core::mem::offset_of!(bindings::file_dedupe_range, info) == size_of::<RangeHeader>());
    assert!(
        core::mem::offset_of!(RangeInfo, bytes_deduped)
            == core::mem::offset_of!(bindings::file_dedupe_range_info, bytes_deduped)
    );
    assert!(
        core::mem::offset_of!(RangeInfo, status)
            == core::mem::offset_of!(bindings::file_dedupe_range_info, status)
    );
};

// SAFETY: Plain integers without padding (checked above); any bit pattern is
// a valid value.
unsafe impl FromBytes for FidedupeArgs {}
// SAFETY: Plain integers without padding (checked above); any bit pattern is
// a valid value.
unsafe impl FromBytes for RangeHeader {}
// SAFETY: Plain integers without padding (checked above); any bit pattern is
// a valid value.
unsafe impl FromBytes for RangeInfo {}
// SAFETY: Plain integers without padding: every byte is initialised.
unsafe impl AsBytes for RangeInfo {}

/// The ioctl magic of `include/uapi/fidedupe.h`: unassigned in
/// `Documentation/userspace-api/ioctl/ioctl-number.rst`.
const FIDEDUPE_IOC_MAGIC: u32 = 0xb9;

/// The ioctl number of `FIDEDUPE_IOC_DEDUPE_RANGE`.
pub(crate) const FIDEDUPE_IOC_DEDUPE_RANGE: u32 = _IOW::<FidedupeArgs>(FIDEDUPE_IOC_MAGIC, 0x01);

/// The destination records of one call, read in order and each written
/// back with its result: user memory for `/dev/fidedupe`, the kernel's copy
/// of the array for `FIDEDUPERANGE` (livepatch mode).
trait DestRecords {
    /// Reads the next record.
    fn read_next(&mut self) -> Result<RangeInfo>;
    /// Writes back the record last read, with its result filled in.
    fn write_back(&mut self, info: &RangeInfo) -> Result;
}

/// Records read from user memory with one copy while that many are left.
const RECORDS_PER_COPY: usize = 8;

/// The records in user memory: read [`RECORDS_PER_COPY`] at a time into a
/// fixed buffer, so the call's memory does not grow with `dest_count`, and
/// each written back once its destination is done.
struct UserRecords {
    reader: UserSliceReader,
    writer: UserSliceWriter,
    /// The read-ahead buffer, made (zeroed) by the first copy of a whole
    /// batch: a call with fewer records never pays for clearing it.
    batch: Option<[RangeInfo; RECORDS_PER_COPY]>,
    /// Records read and not yet returned: `batch[next..filled]`.
    next: usize,
    filled: usize,
}

impl UserRecords {
    fn new(reader: UserSliceReader, writer: UserSliceWriter) -> Self {
        Self {
            reader,
            writer,
            batch: None,
            next: 0,
            filled: 0,
        }
    }

    /// Reads ahead: the next [`RECORDS_PER_COPY`] records with one copy if
    /// that many are left and readable, returning the first; else the next
    /// record alone.  So a fault is still reported at the record that
    /// faults, once those before it are processed and written back, as
    /// with one copy per record.  A failed copy leaves the reader where it
    /// was, and what it wrote to the buffer is never returned: refills come
    /// only once every record in it has been.
    fn read_ahead(&mut self) -> Result<RangeInfo> {
        if self.reader.len() >= size_of::<[RangeInfo; RECORDS_PER_COPY]>() {
            let batch = self
                .batch
                .get_or_insert([RangeInfo::default(); RECORDS_PER_COPY]);
            if self.reader.read_slice(batch.as_bytes_mut()).is_ok() {
                self.next = 1;
                self.filled = RECORDS_PER_COPY;
                return Ok(batch[0]);
            }
        }
        self.reader.read()
    }
}

impl DestRecords for UserRecords {
    #[inline(always)]
    fn read_next(&mut self) -> Result<RangeInfo> {
        if self.next == self.filled {
            return self.read_ahead();
        }
        let info = *self
            .batch
            .as_ref()
            .and_then(|batch| batch.get(self.next))
            .ok_or(EFAULT)?;
        self.next += 1;
        Ok(info)
    }

    #[inline(always)]
    fn write_back(&mut self, info: &RangeInfo) -> Result {
        self.writer.write(info)
    }
}

/// The records of a `struct file_dedupe_range` in kernel memory.
struct KernelRecords<'a> {
    infos: &'a mut [RangeInfo],
    next: usize,
}

impl DestRecords for KernelRecords<'_> {
    #[inline(always)]
    fn read_next(&mut self) -> Result<RangeInfo> {
        let info = *self.infos.get(self.next).ok_or(EINVAL)?;
        self.next += 1;
        Ok(info)
    }

    #[inline(always)]
    fn write_back(&mut self, info: &RangeInfo) -> Result {
        let slot = self
            .next
            .checked_sub(1)
            .and_then(|i| self.infos.get_mut(i))
            .ok_or(EINVAL)?;
        *slot = *info;
        Ok(())
    }
}

/// The checks both entry points make before any record: the header's
/// reserved fields, then the source and its range.  Returns the range
/// every destination is checked against and deduped with.
#[inline(always)]
fn check_request(src: &OpenFile, header: &RangeHeader, limits: Limits) -> Result<FileRange> {
    header.check_reserved()?;
    engine::check_source(
        src,
        header.src_offset,
        header.src_length,
        limits.max_request_bytes,
    )
}

/// The walk both entry points share, once [`check_request`] passed:
/// dedupes each destination and writes its result back.
///
/// A failure of the call itself (a fault, a fatal signal) is returned; a
/// failure of one destination is written to its `status` and the others
/// go on.
#[inline(always)]
fn dedupe_records(
    src: &OpenFile,
    src_range: FileRange,
    dest_count: u16,
    records: &mut impl DestRecords,
    limits: Limits,
    caller: &impl Caller,
    stats: &Stats,
) -> Result {
    for _ in 0..dest_count {
        if caller.fatal_signal_pending() {
            return Err(EINTR);
        }
        let mut info = records.read_next()?;
        // The descriptor first, then the record's reserved field, as
        // mainline orders them.
        let outcome = match OpenFile::get(info.dest_fd) {
            Err(err) => DestOutcome::failed(err),
            Ok(_) if info.reserved != 0 => DestOutcome::failed(EINVAL),
            Ok(dest) => engine::dedupe_destination(
                src,
                src_range,
                &dest,
                info.dest_offset,
                limits.chunk_bytes,
                caller,
            )?,
        };
        stats.record_destination(&outcome);
        info.status = outcome.status;
        info.bytes_deduped = outcome.bytes_deduped;
        records.write_back(&info)?;
    }
    Ok(())
}

/// Runs one `FIDEDUPE_IOC_DEDUPE_RANGE` call with `arg` the user address of
/// a `struct fidedupe_args`.
///
/// In the order of `FIDEDUPERANGE`: the source descriptor (`EBADF`), the
/// LSM's `file_ioctl` hook on the source with `FIDEDUPERANGE` as the
/// command, which `fs/ioctl.c` calls before any ioctl and which the
/// misc device's own ioctl does not give the source, then the request.
pub(crate) fn dedupe_ioctl(
    arg: usize,
    limits: Limits,
    caller: &impl Caller,
    stats: &Stats,
) -> Result {
    let args: FidedupeArgs = UserSlice::new(UserPtr::from_addr(arg), size_of::<FidedupeArgs>())
        .reader()
        .read()?;
    if args.flags != 0 || args.reserved != 0 {
        return Err(EINVAL);
    }
    let src = OpenFile::get(args.src_fd)?;
    src.check_fideduperange_ioctl(args.range_ptr)?;

    let range_addr = usize::try_from(args.range_ptr).map_err(|_| EFAULT)?;
    let header: RangeHeader =
        UserSlice::new(UserPtr::from_addr(range_addr), size_of::<RangeHeader>())
            .reader()
            .read()?;
    let infos_addr = range_addr
        .checked_add(size_of::<RangeHeader>())
        .ok_or(EFAULT)?;
    let infos = UserSlice::new(
        UserPtr::from_addr(infos_addr),
        usize::from(header.dest_count) * size_of::<RangeInfo>(),
    );
    let src_range = check_request(&src, &header, limits)?;
    // The records' buffer is made only for a request that passed.
    let (reader, writer) = infos.reader_writer();
    let mut records = UserRecords::new(reader, writer);
    dedupe_records(
        &src,
        src_range,
        header.dest_count,
        &mut records,
        limits,
        caller,
        stats,
    )
}

/// Runs one `vfs_dedupe_file_range()` call on a kernel copy of a
/// `struct file_dedupe_range`, such as the one `fs/ioctl.c` makes for
/// `FIDEDUPERANGE`.
///
/// # Safety
///
/// `src` is a valid file, not an `O_PATH` file, that the caller keeps
/// referenced for the duration of the call, and any `fdget_pos()` on it
/// that did not take `f_pos_lock` is on the current thread (true of the
/// file of an ioctl, and of any file got with `fget()` or `get_file()`).
/// `range` points to `struct_size(range, info, range->dest_count)` bytes
/// of kernel memory, aligned for `u64`, that nothing else accesses during
/// the call.
pub(crate) unsafe fn dedupe_kernel_range(
    src: *mut bindings::file,
    range: *mut bindings::file_dedupe_range,
    limits: Limits,
    caller: &impl Caller,
    stats: &Stats,
) -> Result {
    // SAFETY: `range` is valid for reads of the header (the function's
    // contract), and `RangeHeader` has its layout (asserted above) and
    // accepts any bit pattern.
    let header = unsafe { range.cast::<RangeHeader>().read() };
    // SAFETY: By the function's contract, `dest_count` records follow the
    // header (at `range.add(1)`, the offset of `info`, asserted above), in
    // aligned memory only this call accesses; `RangeInfo` has the layout
    // of `struct file_dedupe_range_info` (asserted above) and accepts any
    // bit pattern.
    let infos = unsafe {
        core::slice::from_raw_parts_mut(
            range.add(1).cast::<RangeInfo>(),
            usize::from(header.dest_count),
        )
    };
    // SAFETY: `src` is valid, not `O_PATH`, held by the caller for the
    // call, and has no problematic `fdget_pos()` (the function's contract).
    let src = unsafe { OpenFile::from_raw(src) };
    let src_range = check_request(&src, &header, limits)?;
    let mut records = KernelRecords { infos, next: 0 };
    dedupe_records(
        &src,
        src_range,
        header.dest_count,
        &mut records,
        limits,
        caller,
        stats,
    )
}

#[kunit_tests(fidedupe_request)]
mod tests {
    use super::*;

    fn info(dest_fd: i64) -> RangeInfo {
        RangeInfo {
            dest_fd,
            ..RangeInfo::default()
        }
    }

    #[test]
    fn kernel_records_in_order_and_in_place() -> Result {
        let mut infos = [info(3), info(4)];
        let mut records = KernelRecords {
            infos: &mut infos,
            next: 0,
        };
        // Nothing to write back before the first read.
        assert_eq!(records.write_back(&info(9)), Err(EINVAL));

        let mut first = records.read_next()?;
        assert_eq!(first.dest_fd, 3);
        first.status = -22;
        first.bytes_deduped = 4096;
        records.write_back(&first)?;
        let second = records.read_next()?;
        assert_eq!(second.dest_fd, 4);
        // dest_count records and no more.
        assert_eq!(records.read_next().map(|i| i.dest_fd), Err(EINVAL));

        assert_eq!((infos[0].status, infos[0].bytes_deduped), (-22, 4096));
        assert_eq!((infos[1].status, infos[1].bytes_deduped), (0, 0));
        Ok(())
    }

    #[test]
    fn reserved_header_fields_fail_the_call() {
        let mut header = RangeHeader::default();
        assert_eq!(header.check_reserved(), Ok(()));
        header.reserved1 = 1;
        assert_eq!(header.check_reserved(), Err(EINVAL));
        header.reserved1 = 0;
        header.reserved2 = 1;
        assert_eq!(header.check_reserved(), Err(EINVAL));
    }
}
