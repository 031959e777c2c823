// SPDX-License-Identifier: GPL-2.0

//! `/dev/fidedupe`'s ioctl, `FIDEDUPE_IOC_DEDUPE_RANGE`: its argument
//! (`include/uapi/fidedupe.h`), the LSM hook `fs/ioctl.c` would call, and
//! the records of a `struct file_dedupe_range` in user memory.
//!
//! Records are read eight at a time into a fixed buffer (the first ones
//! with the header, in the same user access) and each is written back
//! once its destination is done, so the kernel memory a call uses does
//! not depend on `dest_count`, and mainline's `PAGE_SIZE` limit on the
//! copy-in does not apply.

use core::mem::{
    size_of,
    MaybeUninit, //
};

use kernel::{
    ffi::c_uint,
    fs::LocalFile,
    ioctl::{
        _IOW,
        _IOWR, //
    },
    prelude::*,
    transmute::FromBytes,
    uaccess::{
        UserPtr,
        UserSlice, //
    },
    uapi, //
};

use crate::abstractions::security;
use crate::engine::{
    Caller,
    DestRecords,
    OpenFiles, //
};
use crate::file::TaskFiles;
use crate::records::{
    check_request,
    dedupe_records,
    RangeHeader,
    RangeInfo, //
};
use crate::rules::Limits;
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

const _: () = assert!(size_of::<FidedupeArgs>() == 24);

// SAFETY: Plain integers without padding (checked above); any bit pattern is
// a valid value.
unsafe impl FromBytes for FidedupeArgs {}

/// The ioctl magic of `include/uapi/fidedupe.h`: unassigned in
/// `Documentation/userspace-api/ioctl/ioctl-number.rst`.
const FIDEDUPE_IOC_MAGIC: u32 = 0xb9;

/// The ioctl number of `FIDEDUPE_IOC_DEDUPE_RANGE`.
pub(crate) const FIDEDUPE_IOC_DEDUPE_RANGE: u32 = _IOW::<FidedupeArgs>(FIDEDUPE_IOC_MAGIC, 0x01);

/// `FIDEDUPERANGE` of `linux/fs.h`: `_IOWR(0x94, 54, struct file_dedupe_range)`.
const FIDEDUPERANGE: u32 = _IOWR::<uapi::file_dedupe_range>(0x94, 54);

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

    #[inline]
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

    #[inline]
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

/// Asks the LSMs whether the caller may issue `FIDEDUPERANGE` with `arg`
/// on `file`: the `security_file_ioctl()` call `fs/ioctl.c` makes before
/// it runs the ioctl.
#[inline]
fn check_fideduperange_ioctl(file: &LocalFile, arg: u64) -> Result {
    // `arg` is a user address; the hook only passes it on.
    let arg = usize::try_from(arg).map_err(|_| EFAULT)?;
    security::file_ioctl(file, FIDEDUPERANGE, arg)
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
#[inline]
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
        |outcome| stats.record_destination(outcome),
    )
}
