// SPDX-License-Identifier: GPL-2.0

//! Files, inodes, mounts and remapping: what `rust/kernel/fs/` lacks.

pub(crate) mod fd;
pub(crate) mod file;
pub(crate) mod inode;
pub(crate) mod mount;
pub(crate) mod remap;
pub(crate) mod vfs;
