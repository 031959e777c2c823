// SPDX-License-Identifier: GPL-2.0

//! The system interface: the two dedupe calls, the record buffer laid out
//! in pages with faults where a case asks for them, FIEMAP, file flags.

use std::io;
use std::os::fd::RawFd;

/// `FILE_DEDUPE_RANGE_SAME`.
pub const SAME: i32 = 0;
/// `FILE_DEDUPE_RANGE_DIFFERS`.
pub const DIFFERS: i32 = 1;
/// What a record's `status` holds before a call; never a real status.
pub const POISON_STATUS: i32 = 0x5a5a_5a5a;
/// What a record's `bytes_deduped` holds before a call.
pub const POISON_BYTES: u64 = 0xdead_beef_dead_beef;

const HEADER: usize = 24;
const RECORD: usize = 32;

const fn ioc(dir: u64, ty: u64, nr: u64, size: u64) -> u64 {
    (dir << 30) | (size << 16) | (ty << 8) | nr
}

/// `FIDEDUPERANGE`: `_IOWR(0x94, 54, struct file_dedupe_range)`.
pub const FIDEDUPERANGE: u64 = ioc(3, 0x94, 54, HEADER as u64);
/// `FS_IOC_FIEMAP`: `_IOWR('f', 11, struct fiemap)`.
const FS_IOC_FIEMAP: u64 = ioc(3, b'f' as u64, 11, 32);
/// `FS_IOC_SETFLAGS`: `_IOW('f', 2, long)`.
const FS_IOC_SETFLAGS: u64 = ioc(1, b'f' as u64, 2, 8);
/// `FS_IOC_GETFLAGS`: `_IOR('f', 1, long)`.
const FS_IOC_GETFLAGS: u64 = ioc(2, b'f' as u64, 1, 8);
/// `FS_IMMUTABLE_FL`.
pub const FS_IMMUTABLE_FL: i32 = 0x10;
/// `FS_NOCOW_FL`.
pub const FS_NOCOW_FL: i32 = 0x0080_0000;

/// `FIDEDUPE_IOC_DEDUPE_RANGE` for the ioctl magic `magic`:
/// `_IOW(magic, 0x01, struct fidedupe_args)`.
pub fn fidedupe_ioc(magic: u8) -> u64 {
    ioc(1, u64::from(magic), 1, 24)
}

/// `struct fidedupe_args`.
#[repr(C)]
struct FidedupeArgs {
    src_fd: i64,
    range_ptr: u64,
    flags: u32,
    reserved: u32,
}

fn errno() -> i32 {
    io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// The result of a call: 0 or `-errno`.
fn ret(r: libc::c_long) -> i32 {
    if r < 0 {
        -errno()
    } else {
        0
    }
}

/// Where a case puts a fault in its records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// Every record readable and writable.
    Normal,
    /// Record `k` crosses from a readable page into a `PROT_NONE` one.
    ReadFault(usize),
    /// Records from `k` on lie on a read-only page.
    WriteFault(usize),
}

/// One record as the caller fills it.
#[derive(Clone, Copy, Debug)]
pub struct Record {
    pub dest_fd: i64,
    pub dest_offset: u64,
    pub reserved: u32,
}

/// A `struct file_dedupe_range` in its own pages.
pub struct RangeBuffer {
    map: *mut u8,
    map_len: usize,
    base: usize,
    count: usize,
    /// How many records can be read back (the rest lie in `PROT_NONE`).
    readable: usize,
}

impl RangeBuffer {
    /// Lays out a header and `records` as `layout` says, poisoning every
    /// output.
    pub fn new(
        src_offset: u64,
        src_length: u64,
        reserved1: u16,
        reserved2: u32,
        records: &[Record],
        layout: Layout,
    ) -> io::Result<Self> {
        let page = 4096usize;
        let count = records.len();
        let bytes = HEADER + RECORD * count;
        // The page boundary the fault sits at, and where the header starts.
        let (boundary_pages, base_in_page) = match layout {
            Layout::Normal => (bytes.div_ceil(page) + 1, 0),
            Layout::ReadFault(k) | Layout::WriteFault(k) => {
                let before = HEADER
                    + RECORD * k
                    + if matches!(layout, Layout::ReadFault(_)) {
                        16
                    } else {
                        0
                    };
                let pages = before.div_ceil(page).max(1);
                (pages, pages * page - before)
            }
        };
        let map_len = (boundary_pages + bytes.div_ceil(page) + 2) * page;
        // SAFETY: An anonymous private mapping of our own.
        let map = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                map_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if map == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let buf = Self {
            map: map.cast(),
            map_len,
            base: base_in_page,
            count,
            readable: count,
        };
        buf.put_u64(0, src_offset);
        buf.put_u64(8, src_length);
        buf.put_u16(16, u16::try_from(count).unwrap_or(u16::MAX));
        buf.put_u16(18, reserved1);
        buf.put_u32(20, reserved2);
        for (i, r) in records.iter().enumerate() {
            let at = HEADER + RECORD * i;
            buf.put_u64(at, r.dest_fd as u64);
            buf.put_u64(at + 8, r.dest_offset);
            buf.put_u64(at + 16, POISON_BYTES);
            buf.put_u32(at + 24, POISON_STATUS as u32);
            buf.put_u32(at + 28, r.reserved);
        }
        let mut buf = buf;
        match layout {
            Layout::Normal => {}
            Layout::ReadFault(k) => {
                buf.protect_from(boundary_pages * page, libc::PROT_NONE)?;
                buf.readable = k;
            }
            Layout::WriteFault(_) => buf.protect_from(boundary_pages * page, libc::PROT_READ)?,
        }
        Ok(buf)
    }

    fn protect_from(&self, offset: usize, prot: i32) -> io::Result<()> {
        // SAFETY: The range lies within our mapping.
        let r = unsafe { libc::mprotect(self.map.add(offset).cast(), self.map_len - offset, prot) };
        if r != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    fn at(&self, offset: usize) -> *mut u8 {
        // SAFETY: Callers stay within the header and records.
        unsafe { self.map.add(self.base + offset) }
    }

    fn put_u64(&self, offset: usize, v: u64) {
        // SAFETY: Within the mapping, writable while the buffer is built.
        unsafe { self.at(offset).cast::<u64>().write_unaligned(v) }
    }

    fn put_u32(&self, offset: usize, v: u32) {
        // SAFETY: As above.
        unsafe { self.at(offset).cast::<u32>().write_unaligned(v) }
    }

    fn put_u16(&self, offset: usize, v: u16) {
        // SAFETY: As above.
        unsafe { self.at(offset).cast::<u16>().write_unaligned(v) }
    }

    /// The address of the header.
    pub fn ptr(&self) -> *mut u8 {
        self.at(0)
    }

    /// Record `i`'s `(status, bytes_deduped)`, or `None` where it cannot
    /// be read back.
    pub fn result(&self, i: usize) -> Option<(i32, u64)> {
        if i >= self.readable || i >= self.count {
            return None;
        }
        let at = HEADER + RECORD * i;
        // SAFETY: Record `i` lies in readable pages.
        unsafe {
            Some((
                self.at(at + 24).cast::<i32>().read_unaligned(),
                self.at(at + 16).cast::<u64>().read_unaligned(),
            ))
        }
    }
}

impl Drop for RangeBuffer {
    fn drop(&mut self) {
        // SAFETY: Our own mapping.
        unsafe { libc::munmap(self.map.cast(), self.map_len) };
    }
}

/// `FIDEDUPERANGE` on descriptor number `src`: through `ioctl(2)`, whose
/// descriptor argument is an `unsigned int`, so a number outside it is
/// truncated by the system call, as for any caller.
pub fn call_native(src: i64, buf: &RangeBuffer) -> i32 {
    // SAFETY: The buffer is a valid struct file_dedupe_range.
    ret(unsafe { libc::syscall(libc::SYS_ioctl, src as u64, FIDEDUPERANGE, buf.ptr()) })
}

/// `FIDEDUPE_IOC_DEDUPE_RANGE` on `/dev/fidedupe`.
pub fn call_module(dev: RawFd, cmd: u64, src: i64, buf: &RangeBuffer) -> i32 {
    let args = FidedupeArgs {
        src_fd: src,
        range_ptr: buf.ptr() as u64,
        flags: 0,
        reserved: 0,
    };
    // SAFETY: `args` is a valid struct fidedupe_args.
    ret(unsafe {
        libc::syscall(
            libc::SYS_ioctl,
            dev as u64,
            cmd,
            &args as *const FidedupeArgs,
        )
    })
}

/// One extent as FIEMAP reports it: logical, physical, length, flags.
pub type Extent = [u64; 4];

/// The file's extents, or `None` if the filesystem has no FIEMAP.
pub fn extents(fd: RawFd) -> Option<Vec<Extent>> {
    const EXTENTS: usize = 64;
    const LAST: u32 = 0x1;
    // struct fiemap: 32 bytes, then 56 bytes per extent.
    let mut buf = vec![0u64; (32 + 56 * EXTENTS) / 8];
    let mut start = 0u64;
    let mut out = Vec::new();
    loop {
        buf.iter_mut().for_each(|w| *w = 0);
        let bytes = buf.as_mut_ptr().cast::<u8>();
        // SAFETY: Writes within `buf`.
        unsafe {
            bytes.cast::<u64>().write(start); // fm_start
            bytes.add(8).cast::<u64>().write(u64::MAX - start); // fm_length
                                                                // fm_flags 0: the files have no dirty data to sync.
            bytes.add(24).cast::<u32>().write(EXTENTS as u32); // fm_extent_count
        }
        // SAFETY: `buf` is a struct fiemap with room for EXTENTS extents.
        if unsafe { libc::ioctl(fd, FS_IOC_FIEMAP as _, bytes) } != 0 {
            return None;
        }
        // SAFETY: Reads within `buf`.
        let mapped = unsafe { bytes.add(20).cast::<u32>().read() } as usize;
        if mapped == 0 {
            return Some(out);
        }
        let mut last = false;
        for i in 0..mapped.min(EXTENTS) {
            let e = 32 + 56 * i;
            // SAFETY: Extent `i` lies within `buf`.
            let (logical, physical, length, flags) = unsafe {
                (
                    bytes.add(e).cast::<u64>().read(),
                    bytes.add(e + 8).cast::<u64>().read(),
                    bytes.add(e + 16).cast::<u64>().read(),
                    bytes.add(e + 40).cast::<u32>().read(),
                )
            };
            out.push([logical, physical, length, u64::from(flags)]);
            start = logical + length;
            last = flags & LAST != 0;
        }
        if last {
            return Some(out);
        }
    }
}

/// Sets or clears `flag` with `FS_IOC_SETFLAGS`.
pub fn set_inode_flag(fd: RawFd, flag: i32, on: bool) -> io::Result<()> {
    let mut flags: libc::c_long = 0;
    // SAFETY: `flags` is a long, as the ioctl expects.
    if unsafe { libc::ioctl(fd, FS_IOC_GETFLAGS as _, &mut flags) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if on {
        flags |= libc::c_long::from(flag);
    } else {
        flags &= !libc::c_long::from(flag);
    }
    // SAFETY: As above.
    if unsafe { libc::ioctl(fd, FS_IOC_SETFLAGS as _, &flags) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The name of an errno, for reports.
pub fn errno_name(e: i32) -> String {
    let name = match e {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::EINTR => "EINTR",
        libc::EIO => "EIO",
        libc::EBADF => "EBADF",
        libc::ENOMEM => "ENOMEM",
        libc::EACCES => "EACCES",
        libc::EFAULT => "EFAULT",
        libc::EXDEV => "EXDEV",
        libc::EISDIR => "EISDIR",
        libc::EINVAL => "EINVAL",
        libc::ETXTBSY => "ETXTBSY",
        libc::EFBIG => "EFBIG",
        libc::ENOSPC => "ENOSPC",
        libc::EROFS => "EROFS",
        libc::ENOTTY => "ENOTTY",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::EBADE => "EBADE",
        _ => return format!("errno{e}"),
    };
    name.to_string()
}
