// SPDX-License-Identifier: GPL-2.0

//! The files of a call, as the engine sees them: the engine's traits for
//! `LocalFile`, the descriptors of the calling task, and the task itself.
//!
//! Everything here is a question put to the kernel's abstractions, which
//! hold the unsafe code; this file holds none but the call of
//! `remap_file_range`, whose contract a [`CheckedPair`] proves.
//!
//! The small methods stand for the inline functions of `linux/fs.h`, one
//! or two loads each: `#[inline]`, and `#[inline(always)]` for the two
//! that rustc would otherwise call out of line.

use kernel::{
    fs::LocalFile,
    prelude::*,
    uapi, //
};

use crate::abstractions::{
    capability::{
        capable,
        Capability, //
    },
    fs::{
        fd,
        file::{
            fmode,
            may,
            LocalFileExt, //
        },
        mount::{
            want_write_file,
            MountWriteAccess, //
        },
        remap, //
    },
    task::TaskExt, //
};
use crate::engine::{
    Caller,
    CheckedPair,
    OpenFiles,
    RemapFile, //
};
use crate::rules::{
    fd_number,
    ChunkResult,
    DedupePermission,
    FileFacts,
    FileKind,
    FileRange, //
};

impl FileFacts for LocalFile {
    #[inline]
    fn is_readable(&self) -> bool {
        self.mode() & fmode::READ != 0
    }

    #[inline]
    fn kind(&self) -> FileKind {
        match u32::from(self.inode().mode()) & uapi::S_IFMT {
            uapi::S_IFREG => FileKind::Regular,
            uapi::S_IFDIR => FileKind::Directory,
            _ => FileKind::Other,
        }
    }

    #[inline]
    fn can_remap(&self) -> bool {
        remap::can_remap(self)
    }

    #[inline]
    fn is_swapfile(&self) -> bool {
        self.inode().is_swapfile()
    }

    #[inline]
    fn is_immutable(&self) -> bool {
        self.inode().is_immutable()
    }
}

impl DedupePermission for LocalFile {
    #[inline]
    fn caller_is_admin(&self) -> bool {
        capable(Capability::SYS_ADMIN)
    }

    #[inline]
    fn is_open_for_write(&self) -> bool {
        self.mode() & fmode::WRITE != 0
    }

    #[inline]
    fn caller_owns(&self) -> bool {
        self.inode_owned_by_fsuid()
    }

    #[inline]
    fn caller_may_write(&self) -> bool {
        // An ioctl runs in process context, where the check may sleep.
        self.permission(may::WRITE).is_ok()
    }
}

impl RemapFile for LocalFile {
    type WriteAccess<'a> = MountWriteAccess<'a>;

    #[inline(always)]
    fn size(&self) -> Result<u64> {
        // A negative size is a corrupt inode, not a size to compare with.
        u64::try_from(self.inode().size()).map_err(|_| EIO)
    }

    #[inline]
    fn block_size(&self) -> u64 {
        self.inode().blocksize()
    }

    #[inline]
    fn same_fs(&self, other: &Self) -> bool {
        self.inode().same_super_block(other.inode())
    }

    #[inline(always)]
    fn same_inode(&self, other: &Self) -> bool {
        self.inode() == other.inode()
    }

    #[inline]
    fn verify_area(&self, range: FileRange, write: bool) -> Result {
        remap::remap_verify_area(self, range.loff_offset(), range.loff_len(), write)
    }

    #[inline]
    fn want_write(&self) -> Result<MountWriteAccess<'_>> {
        want_write_file(self)
    }

    fn remap(
        pair: &CheckedPair<'_, Self>,
        src_part: FileRange,
        dest_part: FileRange,
    ) -> ChunkResult {
        if src_part.len() != dest_part.len() {
            return ChunkResult::Failed(EINVAL);
        }
        let flags = remap::REMAP_FILE_DEDUP | remap::REMAP_FILE_CAN_SHORTEN;
        // SAFETY: `pair` is the proof of what the callback requires of its
        // caller: both regular files of one superblock, readable, dedupe
        // into `dest` permitted, both areas verified, and
        // `mnt_want_write_file()` held on `dest` while `pair` lives.
        // Offsets and length come from `FileRange`s, so they and their
        // sums fit in `loff_t`.  An ioctl runs in process context.
        let ret = unsafe {
            remap::remap_file_range(
                pair.src(),
                src_part.loff_offset(),
                pair.dest(),
                dest_part.loff_offset(),
                dest_part.loff_len(),
                flags,
            )
        };
        ChunkResult::from_remap_return(ret)
    }
}

/// The descriptors of the calling task, each held as `fs/ioctl.c` holds
/// the files of `FIDEDUPERANGE`: with `fdget()`, for the scope it is lent
/// to.
pub(crate) struct TaskFiles;

impl OpenFiles for TaskFiles {
    type File = LocalFile;

    #[inline]
    fn with_fd<R>(&self, fd: i64, f: impl FnOnce(&LocalFile) -> R) -> Result<R> {
        Ok(fd::with_fd(fd_number(fd)?, f)?)
    }
}

/// The task that issued the ioctl (`current`).
pub(crate) struct CallingTask;

impl Caller for CallingTask {
    #[inline]
    fn fatal_signal_pending(&self) -> bool {
        current!().fatal_signal_pending()
    }
}
