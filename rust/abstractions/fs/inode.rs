// SPDX-License-Identifier: GPL-2.0

//! A read-only view of an inode: the fields a caller may read without the
//! inode's lock.
//!
//! In the tree: `rust/kernel/fs/inode.rs`, a new file.
//!
//! C header: [`include/linux/fs.h`](srctree/include/linux/fs.h)

use kernel::{
    bindings,
    types::Opaque, //
};

/// The helper of `helpers.c`.
mod helper {
    use kernel::bindings::{
        inode,
        loff_t, //
    };

    // `struct inode` holds zero-sized arrays that rustc calls FFI-unsafe;
    // only a pointer to it crosses here, as in the `bindings` crate,
    // which allows the same lint.
    #[expect(improper_ctypes)]
    extern "C" {
        pub(super) fn fidedupe_i_size_read(inode: *const inode) -> loff_t;
    }
}

/// An inode that stays valid while the reference to this value lives.
///
/// # Invariants
///
/// The inode is valid for the lifetime of any reference to its `Inode`.
#[repr(transparent)]
pub(crate) struct Inode(Opaque<bindings::inode>);

impl Inode {
    /// Views the inode at `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` points at a valid inode that stays valid for `'a`, as the
    /// inode of a file does while the file is held.
    #[inline]
    pub(crate) unsafe fn from_raw<'a>(ptr: *const bindings::inode) -> &'a Inode {
        // SAFETY: The caller guarantees that the pointer is valid for `'a`;
        // `Inode` is `repr(transparent)` over `struct inode`.
        unsafe { &*ptr.cast() }
    }

    #[inline]
    fn as_ptr(&self) -> *mut bindings::inode {
        self.0.get()
    }

    /// `i_mode`: the file type (`S_IFMT` bits) and the permission bits.
    ///
    /// Read once, as `READ_ONCE()` would: the type bits never change,
    /// `chmod()` may change the others at any time.
    #[inline]
    pub(crate) fn mode(&self) -> u16 {
        // SAFETY: The inode is valid (type invariant).
        unsafe { core::ptr::addr_of!((*self.as_ptr()).i_mode).read_volatile() }
    }

    /// `i_flags`, read once as `READ_ONCE()` would: `FS_IOC_SETFLAGS` and
    /// `swapon()` change it without any lock a reader could take.
    #[inline]
    fn flags(&self) -> u32 {
        // SAFETY: The inode is valid (type invariant).
        unsafe { core::ptr::addr_of!((*self.as_ptr()).i_flags).read_volatile() }
    }

    /// `IS_IMMUTABLE()`.
    #[inline]
    pub(crate) fn is_immutable(&self) -> bool {
        self.flags() & bindings::S_IMMUTABLE != 0
    }

    /// `IS_SWAPFILE()`: always false without swap support.
    #[inline]
    pub(crate) fn is_swapfile(&self) -> bool {
        cfg!(CONFIG_SWAP) && self.flags() & bindings::S_SWAPFILE != 0
    }

    /// `i_size_read()`: the size, read consistently with a concurrent
    /// `i_size_write()` on 32-bit SMP.  Negative only if the inode is
    /// corrupt.
    #[inline]
    pub(crate) fn size(&self) -> i64 {
        // SAFETY: The inode is valid (type invariant).
        unsafe { helper::fidedupe_i_size_read(self.as_ptr()) }
    }

    /// `i_blocksize()`: the filesystem's block size for this inode.
    #[inline]
    pub(crate) fn blocksize(&self) -> u64 {
        // SAFETY: The inode is valid (type invariant); `i_blkbits` is set
        // when the inode is made and is less than 64.
        let bits = unsafe { (*self.as_ptr()).i_blkbits };
        1u64.checked_shl(u32::from(bits)).unwrap_or(0)
    }

    /// Whether both inodes belong to one superblock (`i_sb`).
    #[inline]
    pub(crate) fn same_super_block(&self, other: &Inode) -> bool {
        // SAFETY: Both inodes are valid (type invariant), and an inode's
        // `i_sb` never changes.
        unsafe { (*self.as_ptr()).i_sb == (*other.as_ptr()).i_sb }
    }
}

impl PartialEq for Inode {
    /// One inode, not two with equal contents.
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        core::ptr::eq(self, other)
    }
}

impl Eq for Inode {}
