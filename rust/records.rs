// SPDX-License-Identifier: GPL-2.0

//! The records of a `struct file_dedupe_range` (`linux/fs.h`) as the
//! engine's walk reads and writes them, and the checks every call makes
//! before any record: a kernel copy of the array, such as the one
//! `fs/ioctl.c` makes for `FIDEDUPERANGE` (it copies the array in,
//! refusing more than `PAGE_SIZE` with `ENOMEM`, and back out only if the
//! call returns 0).

use core::mem::size_of;

use kernel::{
    fs::LocalFile,
    prelude::*,
    uapi, //
};

use crate::engine::{
    self,
    Caller,
    CheckedSource,
    DestRecord,
    DestRecords, //
};
use crate::file::TaskFiles;
use crate::rules::{
    DestOutcome,
    Limits, //
};

/// The fixed part of `struct file_dedupe_range` (`linux/fs.h`).
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct RangeHeader {
    pub(crate) src_offset: u64,
    pub(crate) src_length: u64,
    pub(crate) dest_count: u16,
    pub(crate) reserved1: u16,
    pub(crate) reserved2: u32,
}

impl RangeHeader {
    /// The reserved fields must be zero; checked once the source file is
    /// known and before any check of it.
    pub(crate) fn check_reserved(&self) -> Result {
        if self.reserved1 != 0 || self.reserved2 != 0 {
            return Err(EINVAL);
        }
        Ok(())
    }
}

/// `struct file_dedupe_range_info` (`linux/fs.h`).
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct RangeInfo {
    pub(crate) dest_fd: i64,
    pub(crate) dest_offset: u64,
    pub(crate) bytes_deduped: u64,
    pub(crate) status: i32,
    pub(crate) reserved: u32,
}

impl DestRecord for RangeInfo {
    #[inline]
    fn dest_fd(&self) -> i64 {
        self.dest_fd
    }

    #[inline]
    fn dest_offset(&self) -> u64 {
        self.dest_offset
    }

    #[inline]
    fn reserved(&self) -> u32 {
        self.reserved
    }

    #[inline]
    fn set_outcome(&mut self, outcome: &DestOutcome) {
        self.status = outcome.status;
        self.bytes_deduped = outcome.bytes_deduped;
    }
}

/// Whether field `$field` is at the same offset in `$ours` and `$theirs`.
macro_rules! same_offset {
    ($ours:ty, $theirs:ty, $field:ident) => {
        core::mem::offset_of!($ours, $field) == core::mem::offset_of!($theirs, $field)
    };
}

// The layouts must match the kernel's own definitions byte for byte: the
// records are read and written as those.
const _: () = {
    use uapi::{
        file_dedupe_range as Range,
        file_dedupe_range_info as Info, //
    };
    assert!(size_of::<RangeHeader>() == size_of::<Range>());
    assert!(core::mem::offset_of!(Range, info) == size_of::<RangeHeader>());
    assert!(same_offset!(RangeHeader, Range, src_offset));
    assert!(same_offset!(RangeHeader, Range, src_length));
    assert!(same_offset!(RangeHeader, Range, dest_count));
    assert!(same_offset!(RangeHeader, Range, reserved1));
    assert!(same_offset!(RangeHeader, Range, reserved2));
    assert!(size_of::<RangeInfo>() == size_of::<Info>());
    assert!(same_offset!(RangeInfo, Info, dest_fd));
    assert!(same_offset!(RangeInfo, Info, dest_offset));
    assert!(same_offset!(RangeInfo, Info, bytes_deduped));
    assert!(same_offset!(RangeInfo, Info, status));
    assert!(same_offset!(RangeInfo, Info, reserved));
};

/// The records of a `struct file_dedupe_range` in kernel memory.
struct KernelRecords<'a> {
    infos: &'a mut [RangeInfo],
    /// The index of the next record to read.
    next: usize,
}

impl DestRecords for KernelRecords<'_> {
    type Record = RangeInfo;

    #[inline]
    fn read(&mut self, index: usize) -> Result<RangeInfo> {
        if index != self.next {
            return Err(EINVAL);
        }
        let info = *self.infos.get(index).ok_or(EINVAL)?;
        self.next += 1;
        Ok(info)
    }

    #[inline]
    fn write_back(&mut self, index: usize, info: &RangeInfo) -> Result {
        *self.infos.get_mut(index).ok_or(EINVAL)? = *info;
        Ok(())
    }
}

/// The checks both entry points make before any record: the header's
/// reserved fields, then the source and its range.  Returns the source
/// with the range every destination is checked against and deduped with.
#[inline(always)]
pub(crate) fn check_request<'a>(
    src: &'a LocalFile,
    header: &RangeHeader,
    limits: Limits,
) -> Result<CheckedSource<'a, LocalFile>> {
    header.check_reserved()?;
    engine::check_source(
        src,
        header.src_offset,
        header.src_length,
        limits.max_request_bytes,
    )
}

/// The walk both entry points share, once [`check_request`] passed: each
/// destination deduped and written back; `on_outcome` sees each outcome.
#[inline]
pub(crate) fn dedupe_records(
    source: &CheckedSource<'_, LocalFile>,
    dest_count: u16,
    records: &mut impl DestRecords,
    limits: Limits,
    caller: &impl Caller,
    on_outcome: impl FnMut(&DestOutcome),
) -> Result {
    engine::dedupe_destinations(
        source,
        dest_count,
        records,
        &TaskFiles,
        limits.chunk_bytes,
        caller,
        on_outcome,
    )
}

/// Runs one `vfs_dedupe_file_range()` call on a kernel copy of a
/// `struct file_dedupe_range`, such as the one `fs/ioctl.c` makes for
/// `FIDEDUPERANGE`.
///
/// # Safety
///
/// `range` points to `struct_size(range, info, range->dest_count)` bytes
/// of kernel memory, aligned for `u64`, that nothing else accesses during
/// the call.
pub(crate) unsafe fn dedupe_kernel_range(
    src: &LocalFile,
    range: *mut uapi::file_dedupe_range,
    limits: Limits,
    caller: &impl Caller,
    on_outcome: impl FnMut(&DestOutcome),
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
    let mut records = KernelRecords { infos, next: 0 };
    let source = check_request(src, &header, limits)?;
    dedupe_records(
        &source,
        header.dest_count,
        &mut records,
        limits,
        caller,
        on_outcome,
    )
}

#[cfg(fidedupe_kunit)]
#[kunit_tests(fidedupe_records)]
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
        // In order: not the second before the first.
        assert_eq!(records.read(1).map(|i| i.dest_fd), Err(EINVAL));

        let mut first = records.read(0)?;
        assert_eq!(first.dest_fd, 3);
        first.status = -22;
        first.bytes_deduped = 4096;
        records.write_back(0, &first)?;
        // Each once.
        assert_eq!(records.read(0).map(|i| i.dest_fd), Err(EINVAL));
        let second = records.read(1)?;
        assert_eq!(second.dest_fd, 4);
        // dest_count records and no more.
        assert_eq!(records.read(2).map(|i| i.dest_fd), Err(EINVAL));
        assert_eq!(records.write_back(2, &second), Err(EINVAL));

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
