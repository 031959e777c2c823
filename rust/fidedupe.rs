// SPDX-License-Identifier: GPL-2.0

//! fidedupe: the VFS layer of the `FIDEDUPERANGE` ioctl, mainline's
//! `vfs_dedupe_file_range()`, in Rust, served through the misc device
//! `/dev/fidedupe` and, once `fidedupe_livepatch.ko` is loaded, through
//! `FIDEDUPERANGE` itself.
//!
//! - `rules.rs`: range arithmetic, check order, chunks, status (pure, KUnit).
//! - `engine.rs`: one call and its walk over the destination records, over
//!   files and records seen through traits (KUnit).
//! - `file.rs`: those traits for real files and the calling task.
//! - `abstractions/`: the kernel abstractions `file.rs` uses that
//!   `rust/kernel` lacks, the only code that calls `bindings::`.
//! - `records.rs`: a `struct file_dedupe_range`'s records for the walk.
//! - `device.rs`: `/dev/fidedupe`'s ioctl, its records in user memory.
//! - `livepatch.rs`: the `vfs_dedupe_file_range()` entry for the livepatch.
//! - `stats.rs`: debugfs counters.
//!
//! See `Documentation/fidedupe.rst` for the rules and their reasons.

mod abstractions;
mod device;
mod engine;
mod file;
mod livepatch;
mod records;
mod rules;
mod stats;

use kernel::{
    debugfs,
    fs::File,
    miscdevice::{
        MiscDevice,
        MiscDeviceOptions,
        MiscDeviceRegistration, //
    },
    prelude::*,
};

use device::FIDEDUPE_IOC_DEDUPE_RANGE;
use file::CallingTask;
use rules::Limits;
use stats::{
    StatsView,
    STATS, //
};

module! {
    type: FidedupeModule,
    name: "fidedupe",
    authors: ["fidedupe developers"],
    description: "FIDEDUPERANGE's VFS layer in Rust, through /dev/fidedupe",
    license: "GPL",
    params: {
        max_request_bytes: u64 {
            default: 1 << 30,
            description: "Longest range one call dedupes (bytes, not 0); longer requests are shortened",
        },
        chunk_bytes: u64 {
            default: 16 << 20,
            description: "Bytes per remap_file_range call (not 0), rounded down to blocks",
        },
    },
}

/// The tunables as loaded.
///
/// The parameters cannot change after load (they are not in sysfs), and
/// [`FidedupeModule`]'s `init` refuses values that [`Limits::new`] rejects,
/// so this is what `init` validated.
fn limits() -> Limits {
    Limits {
        max_request_bytes: module_parameters::max_request_bytes.value(),
        chunk_bytes: module_parameters::chunk_bytes.value(),
    }
}

/// Refuses, at load time, parameters that cannot work.
fn validated_limits() -> Result<Limits> {
    let loaded = limits();
    Limits::new(loaded.max_request_bytes, loaded.chunk_bytes).inspect_err(|_| {
        pr_err!(
            "max_request_bytes={} chunk_bytes={}: neither may be 0\n",
            loaded.max_request_bytes,
            loaded.chunk_bytes
        );
    })
}

#[pin_data]
struct FidedupeModule {
    #[pin]
    _stats_file: debugfs::File<StatsView>,
    _debugfs: debugfs::Dir,
    #[pin]
    _miscdev: MiscDeviceRegistration<FidedupeDevice>,
}

impl kernel::InPlaceModule for FidedupeModule {
    fn init(_module: &'static ThisModule) -> impl PinInit<Self, Error> {
        let options = MiscDeviceOptions { name: c"fidedupe" };
        let dir = debugfs::Dir::new(c"fidedupe");
        try_pin_init!(Self {
            // Before anything is registered; `limits()` reads them again.
            _: {
                validated_limits()?;
            },
            _stats_file <- dir.read_only_file(c"stats", StatsView),
            _debugfs: dir,
            _miscdev <- MiscDeviceRegistration::register(options),
        })
    }
}

/// `/dev/fidedupe`: every call brings its own files.  An open file holds
/// a copy of the limits, read from the parameters once at `open()`, so a
/// call reads two plain fields rather than each parameter through its
/// `SetOnce` (an out-of-line call and an acquire load each, about a tenth
/// of mainline's whole length-0 call under TCG).
struct FidedupeDevice;

#[vtable]
impl MiscDevice for FidedupeDevice {
    type Ptr = KBox<Limits>;

    fn open(_file: &File, _misc: &MiscDeviceRegistration<Self>) -> Result<KBox<Limits>> {
        Ok(KBox::new(limits(), GFP_KERNEL)?)
    }

    fn ioctl(limits: &Limits, _file: &File, cmd: u32, arg: usize) -> Result<isize> {
        if cmd != FIDEDUPE_IOC_DEDUPE_RANGE {
            return Err(ENOTTY);
        }
        let result = device::dedupe_ioctl(arg, *limits, &CallingTask, &STATS);
        STATS.record_call(result);
        result.map(|()| 0)
    }

    // No `compat_ioctl`: both structures have one layout for 32-bit and
    // 64-bit callers, so `MiscDevice`'s default, `compat_ptr_ioctl()`, is
    // right.
}
