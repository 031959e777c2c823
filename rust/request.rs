// SPDX-License-Identifier: GPL-2.0

//! The `FIDEDUPE_IOC_DEDUPE_RANGE` ioctl: the user-visible structures of
//! `include/uapi/fidedupe.h` and `linux/fs.h`, and the walk over the
//! destinations in user memory.
//!
//! Destinations are read, processed and written back one record at a time,
//! so the kernel memory a call uses does not depend on `dest_count`, and
//! mainline's `PAGE_SIZE` limit on the copy-in does not apply.

use core::mem::size_of;

use kernel::{
    bindings,
    ioctl::_IOW,
    prelude::*,
    transmute::{AsBytes, FromBytes},
    uaccess::{UserPtr, UserSlice},
};

use crate::engine::{self, Caller, Limits};
use crate::file::OpenFile;
use crate::rules::DestOutcome;
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
    assert!(
        core::mem::offset_of!(RangeInfo, bytes_deduped)
            == core::mem::offset_of!(bindings::file_dedupe_range_info, bytes_deduped)
    );
    assert!(
        core::mem::offset_of!(RangeInfo, status)
            == core::mem::offset_of!(bindings::file_dedupe_range_info, status)
    );
};

// SAFETY: plain integers without padding (checked above); any bit pattern is
// a valid value.
unsafe impl FromBytes for FidedupeArgs {}
// SAFETY: plain integers without padding (checked above); any bit pattern is
// a valid value.
unsafe impl FromBytes for RangeHeader {}
// SAFETY: plain integers without padding (checked above); any bit pattern is
// a valid value.
unsafe impl FromBytes for RangeInfo {}
// SAFETY: plain integers without padding: every byte is initialised.
unsafe impl AsBytes for RangeInfo {}

/// The ioctl number of `FIDEDUPE_IOC_DEDUPE_RANGE`.
pub(crate) const FIDEDUPE_IOC_DEDUPE_RANGE: u32 = _IOW::<FidedupeArgs>(0xfd, 0x01);

/// Runs one `FIDEDUPE_IOC_DEDUPE_RANGE` call with `arg` the user address of
/// a `struct fidedupe_args`.
///
/// A failure of the call itself (malformed arguments, a bad source, a
/// fault, a fatal signal) is returned; a failure of one destination is
/// written to its `status` and the others go on.
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
    let range_addr = usize::try_from(args.range_ptr).map_err(|_| EFAULT)?;
    let header: RangeHeader =
        UserSlice::new(UserPtr::from_addr(range_addr), size_of::<RangeHeader>())
            .reader()
            .read()?;
    if header.reserved1 != 0 || header.reserved2 != 0 {
        return Err(EINVAL);
    }

    let src = OpenFile::get(args.src_fd)?;
    let src_range = engine::check_source(&src, header.src_offset, header.src_length)?;

    let count = usize::from(header.dest_count);
    let infos = UserSlice::new(
        UserPtr::from_addr(range_addr.wrapping_add(size_of::<RangeHeader>())),
        count * size_of::<RangeInfo>(),
    );
    let (mut reader, mut writer) = infos.reader_writer();
    for _ in 0..count {
        if caller.fatal_signal_pending() {
            return Err(EINTR);
        }
        let mut info: RangeInfo = reader.read()?;
        let outcome = if info.reserved != 0 {
            DestOutcome::failed(EINVAL)
        } else {
            match OpenFile::get(info.dest_fd) {
                Ok(dest) => engine::dedupe_destination(
                    &src,
                    src_range,
                    &dest,
                    info.dest_offset,
                    limits,
                    caller,
                )?,
                Err(err) => DestOutcome::failed(err),
            }
        };
        stats.record_destination(&outcome);
        info.status = outcome.status;
        info.bytes_deduped = outcome.bytes_deduped;
        writer.write(&info)?;
    }
    Ok(())
}
