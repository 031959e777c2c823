// SPDX-License-Identifier: GPL-2.0

//! The kernel abstractions fidedupe uses that `rust/kernel` does not have,
//! in one place: nothing outside this module calls `bindings::`.
//!
//! Each file is written as the `rust/kernel` file it would become, at the
//! same path below `rust/abstractions/`, and is one patch of the kernel
//! series `make patches` writes (`scripts/kernel-series.py`; each file's
//! "In the tree" says where it goes).  Items are `pub(crate)` here, where
//! `-Wunreachable_pub` asks for it, and `pub` in the tree; additions to a
//! type `rust/kernel` already has are an extension trait here, named after
//! the type with `Ext`, and inherent methods there.  The static inline C
//! functions they need are in `helpers.c`, each under the name of the
//! `rust/helpers/` file it goes to.

pub(crate) mod capability;
pub(crate) mod fs;
pub(crate) mod security;
pub(crate) mod task;
