// SPDX-License-Identifier: GPL-2.0

//! The LSM hook of an ioctl.
//!
//! In the tree: not sent.  It would go to `rust/kernel/security.rs`,
//! beside the other hooks, with its helper in `rust/helpers/security.c`,
//! but the built-in implementation has no use for it: `fs/ioctl.c` calls
//! the hook before `FIDEDUPERANGE`.  Only `/dev/fidedupe` calls it.
//!
//! C header: [`include/linux/security.h`](srctree/include/linux/security.h)

use kernel::{
    fs::LocalFile,
    prelude::*, //
};

/// The helper of `helpers.c`.
mod helper {
    use kernel::bindings::file;
    use kernel::ffi::{
        c_int,
        c_uint,
        c_ulong, //
    };

    // As in `inode.rs`: only a pointer to `struct file` crosses here.
    #[expect(improper_ctypes)]
    extern "C" {
        pub(super) fn fidedupe_security_file_ioctl(
            file: *mut file,
            cmd: c_uint,
            arg: c_ulong,
        ) -> c_int;
    }
}

/// Asks the LSMs whether the current task may issue ioctl `cmd` with
/// `arg` on `file`: the hook `fs/ioctl.c` calls before every ioctl, in its
/// compat form for a 32-bit caller.  For code that performs an ioctl's
/// work on a file the ioctl was not issued on.
#[inline]
pub(crate) fn file_ioctl(file: &LocalFile, cmd: u32, arg: usize) -> Result {
    // SAFETY: The file is valid (`LocalFile`'s invariant), and the hook
    // may be called on any open file in task context; `arg` is only
    // passed on.
    let ret = unsafe { helper::fidedupe_security_file_ioctl(file.as_ptr(), cmd, arg) };
    if ret < 0 {
        return Err(Error::from_errno(ret));
    }
    Ok(())
}
