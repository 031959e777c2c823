// SPDX-License-Identifier: GPL-2.0

//! The kernel abstractions fidedupe uses that `rust/kernel` does not have,
//! in one place: nothing outside this module calls `bindings::`.
//!
//! Each file is written as the `rust/kernel` file it would become, and is
//! one patch of the series `make patches` writes (its first doc lines say
//! which file and what the patch adds).  Items are `pub(crate)` here, where
//! `-Wunreachable_pub` asks for it, and `pub` in the tree; additions to a
//! type `rust/kernel` already has are an extension trait here, named after
//! the type with `Ext`, and inherent methods there.  The static inline C
//! functions they need are in `helpers.c`, as `rust/helpers/` has them.

pub(crate) mod capability;
pub(crate) mod fd;
pub(crate) mod file;
pub(crate) mod inode;
pub(crate) mod mount;
pub(crate) mod remap;
pub(crate) mod security;
pub(crate) mod task;
