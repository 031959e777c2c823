// SPDX-License-Identifier: GPL-2.0

//! The two ways a call arrives, as records the engine's walk reads and
//! writes: the user-visible structures of `include/uapi/fidedupe.h` and
//! `linux/fs.h`, records in user memory for `/dev/fidedupe`
//! (`FIDEDUPE_IOC_DEDUPE_RANGE`), and the kernel's copy of the records for
//! `FIDEDUPERANGE` itself when the livepatch routes it here.
//!
//! Through `/dev/fidedupe`, records are read eight at a time into a fixed
//! buffer (the first ones with the header, in the same user access) and
//! each is written back once its destination is done, so the kernel
//! memory a call uses does not depend on `dest_count`, and
//! mainline's `PAGE_SIZE` limit on the copy-in does not apply.  Through
//! `FIDEDUPERANGE`, `fs/ioctl.c` has already copied the array in (and
//! applied that limit) and copies it back out.

use core::mem::{
    size_of,
    MaybeUninit, //
};

use kernel::{
    ffi::c_uint,
    fs::LocalFile,
    ioctl::_IOW,
    prelude::*,
    transmute::FromBytes,
    uaccess::{
        UserPtr,
        UserSlice, //
    },
    uapi, //
};

use crate::engine::{
    self,
    Caller,
    CheckedSource,
    DestRecord,
    DestRecords,
    OpenFiles, //
};
use crate::file::{
    check_fideduperange_ioctl,
    TaskFiles, //
};
use crate::rules::{
    DestOutcome,
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

impl DestRecord for RangeInfo {
    #[inline(always)]
    fn dest_fd(&self) -> i64 {
        self.dest_fd
    }

    #[inline(always)]
    fn dest_offset(&self) -> u64 {
        self.dest_offset
    }

    #[inline(always)]
    fn reserved(&self) -> u32 {
        self.reserved
    }

    #[inline(always)]
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
// helpers of `rust/glue.c` read and write them as those.
const _: () = {
    use uapi::{
        file_dedupe_range as Range,
        file_dedupe_range_info as Info, //
    };
    assert!(size_of::<FidedupeArgs>() == 24);
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

// SAFETY: Plain integers without padding (checked above); any bit pattern is
// a valid value.
unsafe impl FromBytes for FidedupeArgs {}

/// The ioctl magic of `include/uapi/fidedupe.h`: unassigned in
/// `Documentation/userspace-api/ioctl/ioctl-number.rst`.
const FIDEDUPE_IOC_MAGIC: u32 = 0xb9;

/// The ioctl number of `FIDEDUPE_IOC_DEDUPE_RANGE`.
pub(crate) const FIDEDUPE_IOC_DEDUPE_RANGE: u32 = _IOW::<FidedupeArgs>(FIDEDUPE_IOC_MAGIC, 0x01);

/// The C helpers of `rust/glue.c` that read and write a
/// `struct file_dedupe_range` in user memory, each in one user access
/// window (`unsafe_get_user()`, `unsafe_put_user()`) where the kernel
/// crate's `UserSlice` would make a `copy_from_user()` or `copy_to_user()`
/// per structure: one window for the header and the first records, one for
/// each further batch, one for each write-back.
mod glue {
    use kernel::ffi::{
        c_int,
        c_uint, //
    };
    use kernel::uaccess::UserPtr;

    use super::{
        RangeHeader,
        RangeInfo, //
    };

    extern "C" {
        pub(super) fn fidedupe_read_range_head(
            header: *mut RangeHeader,
            infos: *mut RangeInfo,
            max: c_uint,
            src: UserPtr,
        ) -> c_int;
        pub(super) fn fidedupe_read_range_infos(
            infos: *mut RangeInfo,
            n: c_uint,
            src: UserPtr,
        ) -> c_uint;
        pub(super) fn fidedupe_write_range_info(dst: UserPtr, info: *const RangeInfo) -> c_int;
    }
}

/// Records read from user memory in one user access while that many are
/// left.
const RECORDS_PER_READ: usize = 8;

/// The records in user memory: read [`RECORDS_PER_READ`] at a time into a
/// fixed buffer, the first ones with the header, so the call's memory does
/// not grow with `dest_count`, and each written back once its destination
/// is done.
///
/// A read stops at a record that faults: the records before it are
/// returned, and the next read starts at it, so its fault is reported once
/// every record before it is processed and written back.
///
/// # Invariants
///
/// `batch[..filled]` is initialised, `next <= filled <= RECORDS_PER_READ`.
struct UserRecords {
    /// The user address of the first record.
    infos_addr: usize,
    /// The records in the array.
    dest_count: usize,
    /// Records read from user memory so far.
    read: usize,
    /// Records returned so far: the index of the next one.
    returned: usize,
    /// The records read and not yet returned: `batch[next..filled]`.
    batch: [MaybeUninit<RangeInfo>; RECORDS_PER_READ],
    next: usize,
    filled: usize,
}

impl UserRecords {
    /// No records, an empty buffer: left uninitialised, never cleared.
    fn new() -> Self {
        Self {
            infos_addr: 0,
            dest_count: 0,
            read: 0,
            returned: 0,
            batch: [const { MaybeUninit::uninit() }; RECORDS_PER_READ],
            next: 0,
            filled: 0,
        }
    }

    /// Reads the header at `range_addr` and, in the same user access, as
    /// many of its first records as the buffer holds and can be read.
    fn read_head(&mut self, range_addr: usize) -> Result<RangeHeader> {
        let mut header = RangeHeader::default();
        // SAFETY: `header` is valid for writes of a header and `batch` of
        // `RECORDS_PER_READ` records, at most what the helper writes; it
        // accesses the user address only within a user access window, after
        // `access_ok()`, and faults there are fixed up.
        let read = unsafe {
            glue::fidedupe_read_range_head(
                &mut header,
                self.batch.as_mut_ptr().cast(),
                RECORDS_PER_READ as c_uint,
                UserPtr::from_addr(range_addr),
            )
        };
        let read = usize::try_from(read).map_err(|_| EFAULT)?;
        self.infos_addr = range_addr
            .checked_add(size_of::<RangeHeader>())
            .ok_or(EFAULT)?;
        self.dest_count = usize::from(header.dest_count);
        // INVARIANT: the helper wrote whole the `read` records it returns,
        // at most `RECORDS_PER_READ`.
        self.filled = read.min(RECORDS_PER_READ);
        self.read = self.filled;
        self.next = 0;
        Ok(header)
    }

    /// The user address of record `index`.
    fn record_addr(&self, index: usize) -> Result<UserPtr> {
        index
            .checked_mul(size_of::<RangeInfo>())
            .and_then(|offset| self.infos_addr.checked_add(offset))
            .map(UserPtr::from_addr)
            .ok_or(EFAULT)
    }

    /// Reads the next records, as many as are left, fit and can be read:
    /// `EFAULT` if the first of them cannot.  Called once every record
    /// read before has been returned.
    fn refill(&mut self) -> Result {
        let wanted = self
            .dest_count
            .saturating_sub(self.read)
            .min(RECORDS_PER_READ);
        let src = self.record_addr(self.read)?;
        // SAFETY: `batch` is valid for writes of `RECORDS_PER_READ` records,
        // at least `wanted`, the most the helper writes; it accesses the
        // user address only within a user access window, after
        // `access_ok()`, and faults there are fixed up.
        let read = unsafe {
            glue::fidedupe_read_range_infos(self.batch.as_mut_ptr().cast(), wanted as c_uint, src)
        };
        let read = (read as usize).min(wanted);
        if read == 0 {
            return Err(EFAULT);
        }
        // INVARIANT: the helper wrote the `read` records it returns whole,
        // at most `wanted`, which is at most `RECORDS_PER_READ`.
        self.filled = read;
        self.next = 0;
        self.read += read;
        Ok(())
    }
}

impl DestRecords for UserRecords {
    type Record = RangeInfo;

    #[inline(always)]
    fn read(&mut self, index: usize) -> Result<RangeInfo> {
        if index != self.returned {
            return Err(EINVAL);
        }
        if self.next == self.filled {
            self.refill()?;
        }
        let slot = self
            .batch
            .get(..self.filled)
            .and_then(|filled| filled.get(self.next))
            .ok_or(EFAULT)?;
        // SAFETY: `slot` is below `filled`, so it is initialised (type
        // invariant).
        let info = unsafe { slot.assume_init() };
        self.next += 1;
        self.returned += 1;
        Ok(info)
    }

    #[inline(always)]
    fn write_back(&mut self, index: usize, info: &RangeInfo) -> Result {
        if index >= self.dest_count {
            return Err(EINVAL);
        }
        let dst = self.record_addr(index)?;
        // SAFETY: `info` is valid for reads of a record; the helper accesses
        // the user address only within a user access window, after
        // `access_ok()`, and faults there are fixed up.
        match unsafe { glue::fidedupe_write_range_info(dst, info) } {
            0 => Ok(()),
            _ => Err(EFAULT),
        }
    }
}

/// The records of a `struct file_dedupe_range` in kernel memory.
struct KernelRecords<'a> {
    infos: &'a mut [RangeInfo],
    /// The index of the next record to read.
    next: usize,
}

impl DestRecords for KernelRecords<'_> {
    type Record = RangeInfo;

    #[inline(always)]
    fn read(&mut self, index: usize) -> Result<RangeInfo> {
        if index != self.next {
            return Err(EINVAL);
        }
        let info = *self.infos.get(index).ok_or(EINVAL)?;
        self.next += 1;
        Ok(info)
    }

    #[inline(always)]
    fn write_back(&mut self, index: usize, info: &RangeInfo) -> Result {
        *self.infos.get_mut(index).ok_or(EINVAL)? = *info;
        Ok(())
    }
}

/// The checks both entry points make before any record: the header's
/// reserved fields, then the source and its range.  Returns the source
/// with the range every destination is checked against and deduped with.
#[inline(always)]
fn check_request<'a>(
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
/// destination deduped, its outcome counted and written back.
#[inline(always)]
fn dedupe_records(
    source: &CheckedSource<'_, LocalFile>,
    dest_count: u16,
    records: &mut impl DestRecords,
    limits: Limits,
    caller: &impl Caller,
    stats: &Stats,
) -> Result {
    engine::dedupe_destinations(
        source,
        dest_count,
        records,
        &TaskFiles,
        limits.chunk_bytes,
        caller,
        |outcome| stats.record_destination(outcome),
    )
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
    TaskFiles.with_fd(args.src_fd, |src| {
        dedupe_user_range(src, &args, limits, caller, stats)
    })?
}

/// [`dedupe_ioctl`] once the source descriptor is resolved.
#[inline(always)]
fn dedupe_user_range(
    src: &LocalFile,
    args: &FidedupeArgs,
    limits: Limits,
    caller: &impl Caller,
    stats: &Stats,
) -> Result {
    check_fideduperange_ioctl(src, args.range_ptr)?;

    let range_addr = usize::try_from(args.range_ptr).map_err(|_| EFAULT)?;
    let mut records = UserRecords::new();
    let header = records.read_head(range_addr)?;
    let source = check_request(src, &header, limits)?;
    dedupe_records(
        &source,
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
/// `range` points to `struct_size(range, info, range->dest_count)` bytes
/// of kernel memory, aligned for `u64`, that nothing else accesses during
/// the call.
pub(crate) unsafe fn dedupe_kernel_range(
    src: &LocalFile,
    range: *mut uapi::file_dedupe_range,
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
    let mut records = KernelRecords { infos, next: 0 };
    let source = check_request(src, &header, limits)?;
    dedupe_records(
        &source,
        header.dest_count,
        &mut records,
        limits,
        caller,
        stats,
    )
}

#[cfg(fidedupe_kunit)]
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
