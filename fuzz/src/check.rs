// SPDX-License-Identifier: GPL-2.0

//! Running one case on both paths, comparing with the oracle, and the
//! invariants that hold after every call on either path:
//!
//! - no file's data changed (checksums of every file the call named);
//! - no block of a file moved (FIEMAP: its physical address changed)
//!   outside the ranges its records report as deduped;
//! - every status is SAME, DIFFERS or an errno the man page lists for that
//!   side and path, and so is the call's return value;
//! - no `bytes_deduped` is above the length asked for;
//! - records a call did not process are untouched (through the oracle);
//! - the kernel log shows no splat (scanned every 256 cases and at the end).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::os::fd::RawFd;
use std::time::{Duration, Instant};

use crate::case::{Case, Limits};
use crate::oracle::{self, CallCtx, Caller, DestCtx, Outcome, Rec};
use crate::sys::{self, Layout, RangeBuffer, Record, DIFFERS, POISON_BYTES, POISON_STATUS, SAME};
use crate::universe::{Fs, Universe, BLOCK, NOBODY};

/// A failed case: what kind, a signature that groups failures of one
/// cause, and the details.
#[derive(Clone, Debug)]
pub struct Finding {
    pub kind: &'static str,
    pub signature: String,
    pub detail: String,
}

const DIFFERENCE: &str = "undocumented difference";
const INVARIANT: &str = "invariant failure";

/// The errnos the man page (fidedupe.4) lists, per side.
const MODULE_CALL_ERRNOS: [i32; 10] = [
    libc::EACCES,
    libc::EBADF,
    libc::EFAULT,
    libc::EINTR,
    libc::EINVAL,
    libc::EISDIR,
    libc::ENOTTY,
    libc::EOPNOTSUPP,
    libc::EPERM,
    libc::ETXTBSY,
];
const MODULE_DEST_ERRNOS: [i32; 11] = [
    libc::EACCES,
    libc::EBADF,
    libc::EINTR,
    libc::ENOMEM,
    libc::EINVAL,
    libc::EISDIR,
    libc::EOPNOTSUPP,
    libc::EPERM,
    libc::EROFS,
    libc::ETXTBSY,
    libc::EXDEV,
];
/// ioctl_fideduperange(2)'s list, and EROFS (mnt_want_write_file()).
const NATIVE_ERRNOS: [i32; 10] = [
    libc::EBADF,
    libc::EFAULT,
    libc::EINVAL,
    libc::EISDIR,
    libc::ENOMEM,
    libc::EOPNOTSUPP,
    libc::EPERM,
    libc::ETXTBSY,
    libc::EXDEV,
    libc::EROFS,
];
/// Errnos of the man page that the fuzzer cannot make happen, and the
/// test that pins each instead.
const NOT_FUZZED: [(i32, &str); 4] = [
    (
        libc::EACCES,
        "needs an LSM policy: fidedupe_hooks_test:lsm_file_ioctl_on_the_source",
    ),
    (
        libc::EINTR,
        "needs a fatal signal: fidedupe_signal_test:sigkill_during_long_call",
    ),
    (
        libc::ENOTTY,
        "needs another ioctl command: fidedupe_test:reserved_fields",
    ),
    (
        libc::ENOMEM,
        "needs an allocation to fail: torture/fidedupe_faults (make faults)",
    ),
];

/// Time spent in the calls, FIEMAP, checksums and the oracle's reads.
#[derive(Default, Debug)]
pub struct Times {
    pub calls: Duration,
    pub fiemap: Duration,
    pub checksum: Duration,
    pub total: Duration,
    pub refresh: Duration,
}

/// One record as the runner sees it: descriptor, `dest_offset`, `reserved`.
pub type RecordSpec = (usize, u64, u32);

/// The state of one run: the universe, the device, the counters.
pub struct Runner {
    pub u: Universe,
    dev: RawFd,
    cmd: u64,
    limits: Limits,
    livepatch: bool,
    caller: Caller,
    pub cases_run: u64,
    pub calls: u64,
    /// Where the time goes.
    pub time: Times,
    extent_cache: BTreeMap<usize, Option<Vec<sys::Extent>>>,
    /// (path, side, outcome) -> count.
    coverage: BTreeMap<(&'static str, &'static str, String), u64>,
    kmsg: Option<std::fs::File>,
}

fn label(status: i32) -> String {
    match status {
        SAME => "SAME".into(),
        DIFFERS => "DIFFERS".into(),
        s if s < 0 => sys::errno_name(-s),
        s => format!("status {s}"),
    }
}

fn show(rec: Rec) -> String {
    match rec {
        Rec::Untouched => "untouched".into(),
        Rec::Unreadable => "unreadable".into(),
        Rec::Done(s, b) => format!("{} {}", label(s), b),
    }
}

/// A record's outcome, as a class for signatures: the status and whether
/// any bytes were reported.
fn class(rec: Rec) -> String {
    match rec {
        Rec::Done(s, 0) => format!("{} 0", label(s)),
        Rec::Done(s, _) => format!("{} n", label(s)),
        other => show(other),
    }
}

impl Runner {
    pub fn new(
        u: Universe,
        dev: RawFd,
        cmd: u64,
        limits: Limits,
        livepatch: bool,
        unprivileged: bool,
    ) -> Self {
        let kmsg = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags_nonblock()
            .open("/dev/kmsg")
            .ok();
        let mut r = Self {
            u,
            dev,
            cmd,
            limits,
            livepatch,
            caller: Caller {
                uid: if unprivileged { NOBODY } else { 0 },
            },
            cases_run: 0,
            calls: 0,
            time: Times::default(),
            extent_cache: BTreeMap::new(),
            coverage: BTreeMap::new(),
            kmsg,
        };
        // Start reading the kernel log from its end.
        if let Some(k) = &r.kmsg {
            // SAFETY: Seeking our own descriptor.
            unsafe { libc::lseek(std::os::fd::AsRawFd::as_raw_fd(k), 0, libc::SEEK_END) };
        }
        r.scan_kernel_log();
        r
    }

    /// Fails the run (exit) on a kernel splat logged since the last scan.
    pub fn scan_kernel_log(&mut self) {
        let Some(k) = &mut self.kmsg else { return };
        let splats = [
            "WARNING:",
            "BUG:",
            "Oops",
            "KASAN:",
            "UBSAN:",
            "possible recursive locking",
            "possible circular locking",
            "inconsistent lock state",
            "Call Trace:",
            "general protection fault",
            "blocked for more than",
        ];
        let mut buf = vec![0u8; 8192];
        loop {
            match std::io::Read::read(k, &mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    let line = String::from_utf8_lossy(&buf[..n]);
                    if splats.iter().any(|s| line.contains(s)) {
                        println!(
                            "# kernel splat after {} cases: {}",
                            self.cases_run,
                            line.trim_end()
                        );
                        println!(
                            "fuzz: {} cases, 0 undocumented differences, 1 invariant failures",
                            self.cases_run
                        );
                        std::process::exit(1);
                    }
                }
                Err(e) if e.raw_os_error() == Some(libc::EPIPE) => continue,
                Err(_) => break,
            }
        }
    }

    fn resolve(&self, case: &Case) -> Result<(usize, Vec<RecordSpec>), Finding> {
        let find = |name: &str| {
            self.u.by_name(name).ok_or_else(|| Finding {
                kind: INVARIANT,
                signature: format!("reproducer names descriptor {name}, not in this universe"),
                detail: String::new(),
            })
        };
        let src = find(&case.src)?;
        let mut recs = Vec::new();
        for d in case.records() {
            recs.push((find(&d.desc)?, d.offset, d.reserved));
        }
        Ok((src, recs))
    }

    /// The files a call may touch: the source's and every destination's.
    fn involved(&self, src: usize, recs: &[RecordSpec]) -> Vec<usize> {
        let mut files: BTreeSet<usize> =
            recs.iter().filter_map(|r| self.u.descs[r.0].file).collect();
        if let Some(f) = self.u.descs[src].file {
            files.insert(f);
        }
        files.into_iter().collect()
    }

    /// Each file's extents as last seen; a file's blocks move only when a
    /// call remaps it, and every call reads its files' extents again.
    fn extents_cached(&mut self, files: &[usize]) -> Vec<Option<Vec<sys::Extent>>> {
        files
            .iter()
            .map(|&f| match self.extent_cache.get(&f) {
                Some(map) => map.clone(),
                None => self.extents_fresh(&[f]).pop().flatten(),
            })
            .collect()
    }

    fn extents_fresh(&mut self, files: &[usize]) -> Vec<Option<Vec<sys::Extent>>> {
        let t = Instant::now();
        let maps: Vec<_> = files
            .iter()
            .map(|&f| match self.u.files[f].fs {
                Fs::Home | Fs::OtherRemap | Fs::Ext4 => sys::extents(self.u.files[f].reader),
                _ => None,
            })
            .collect();
        for (&f, map) in files.iter().zip(&maps) {
            self.extent_cache.insert(f, map.clone());
        }
        self.time.fiemap += t.elapsed();
        maps
    }

    /// Forgets the extents seen, after the universe's files were rewritten.
    pub fn forget_extents(&mut self) {
        self.extent_cache.clear();
    }

    /// Checks every file's data against its checksum (every 128 cases and
    /// at the end; after each call only files whose extents moved).
    pub fn check_all_data(&mut self) -> Vec<String> {
        let t = Instant::now();
        let mut problems = Vec::new();
        for file in &self.u.files {
            match crate::universe::checksum(file.reader) {
                Ok(sum) if sum == file.checksum => {}
                Ok(_) => problems.push(format!("the data of {} changed", file.name)),
                Err(e) => problems.push(format!("cannot read {}: {e}", file.name)),
            }
        }
        self.time.checksum += t.elapsed();
        problems
    }

    /// One call through `path` ("native" or "module"), with the invariants.
    #[allow(clippy::too_many_arguments)]
    fn call(
        &mut self,
        path: &'static str,
        case: &Case,
        src: usize,
        length: u64,
        recs: &[RecordSpec],
        layout: Layout,
        problems: &mut Vec<String>,
    ) -> Outcome {
        let records: Vec<Record> = recs
            .iter()
            .map(|&(d, offset, reserved)| Record {
                dest_fd: self.u.descs[d].number,
                dest_offset: offset,
                reserved,
            })
            .collect();
        let files = self.involved(src, recs);
        let before = self.extents_cached(&files);
        let buf = match RangeBuffer::new(
            case.src_offset,
            length,
            case.reserved1,
            case.reserved2,
            &records,
            layout,
        ) {
            Ok(b) => b,
            Err(e) => {
                problems.push(format!("{path}: cannot lay out the records: {e}"));
                return Outcome {
                    ret: 0,
                    recs: Vec::new(),
                };
            }
        };
        let number = self.u.descs[src].number;
        let t = Instant::now();
        let ret = if path == "native" {
            sys::call_native(number, &buf)
        } else {
            sys::call_module(self.dev, self.cmd, number, &buf)
        };
        self.time.calls += t.elapsed();
        self.calls += 1;
        let out = Outcome {
            ret,
            recs: (0..records.len())
                .map(|i| match buf.result(i) {
                    None => Rec::Unreadable,
                    Some((POISON_STATUS, POISON_BYTES)) => Rec::Untouched,
                    Some((s, b)) => Rec::Done(s, b),
                })
                .collect(),
        };
        drop(buf);

        // The invariants.
        let module = path == "module" || self.livepatch;
        let call_ok: &[i32] = if module {
            &MODULE_CALL_ERRNOS
        } else {
            &NATIVE_ERRNOS
        };
        if ret < 0 && !call_ok.contains(&-ret) && !(path == "native" && ret == -libc::ENOMEM) {
            problems.push(format!(
                "{path}: the call returned {}, which the man page does not list",
                label(ret)
            ));
        }
        *self
            .coverage
            .entry((path, "call", if ret == 0 { "0".into() } else { label(ret) }))
            .or_default() += 1;
        let dest_ok: &[i32] = if module {
            &MODULE_DEST_ERRNOS
        } else {
            &NATIVE_ERRNOS
        };
        // Per file, the ranges its records say were deduped.
        let mut deduped: BTreeMap<usize, Vec<(u64, u64)>> = BTreeMap::new();
        for (i, rec) in out.recs.iter().enumerate() {
            if let Rec::Done(s, b) = *rec {
                if s != SAME && s != DIFFERS && !(s < 0 && dest_ok.contains(&-s)) {
                    problems.push(format!(
                        "{path}: record {i} has status {}, which the man page does not list",
                        label(s)
                    ));
                }
                if b > case.src_length {
                    problems.push(format!(
                        "{path}: record {i} reports {b} bytes deduped of {} asked",
                        case.src_length
                    ));
                }
                if let (Some(f), true) = (self.u.descs[recs[i].0].file, b > 0 && b != POISON_BYTES)
                {
                    let from = recs[i].1;
                    deduped
                        .entry(f)
                        .or_default()
                        .push((from, from.saturating_add(b.div_ceil(BLOCK) * BLOCK)));
                }
                *self
                    .coverage
                    .entry((path, "destination", label(s)))
                    .or_default() += 1;
            }
        }
        // Records from a read-only page on were processed without their
        // results reaching the caller: /dev/fidedupe deduped the first of
        // them, FIDEDUPERANGE (fs/ioctl.c copies back at the end) all.
        if let (Layout::WriteFault(first), true) = (layout, ret == -libc::EFAULT) {
            let last = if path == "module" {
                first + 1
            } else {
                recs.len()
            };
            for &(d, from, _) in recs.iter().take(last).skip(first) {
                if let Some(f) = self.u.descs[d].file {
                    let to = from.saturating_add(length.div_ceil(BLOCK) * BLOCK);
                    deduped.entry(f).or_default().push((from, to));
                }
            }
        }
        let after = self.extents_fresh(&files);
        for (k, &f) in files.iter().enumerate() {
            // Data can only change through a block that moved (files
            // without FIEMAP are checked every 128 cases).
            let moved = moved_blocks(
                before[k].as_deref(),
                after[k].as_deref(),
                self.u.files[f].size,
            );
            if !moved.is_empty() {
                let t = Instant::now();
                let file = &self.u.files[f];
                match crate::universe::checksum(file.reader) {
                    Ok(sum) if sum == file.checksum => {}
                    Ok(_) => problems.push(format!("{path}: the data of {} changed", file.name)),
                    Err(e) => problems.push(format!("{path}: cannot read {}: {e}", file.name)),
                }
                self.time.checksum += t.elapsed();
            }
            let allowed = deduped.get(&f).map(Vec::as_slice).unwrap_or(&[]);
            if let Some(&at) = moved
                .iter()
                .find(|&&x| !allowed.iter().any(|&(a, b)| a <= x && x < b))
            {
                problems.push(format!(
                    "{path}: {} block at {at} moved, outside what its records report deduped",
                    self.u.files[f].name
                ));
            }
        }
        out
    }

    /// Runs one case; `Err` with a finding if it shows a difference the
    /// oracle does not explain or breaks an invariant.
    pub fn run_case(&mut self, case: &Case) -> Result<(), Finding> {
        let t = Instant::now();
        let r = self.run_case_timed(case);
        self.time.total += t.elapsed();
        r
    }

    fn run_case_timed(&mut self, case: &Case) -> Result<(), Finding> {
        self.cases_run += 1;
        let (src, recs) = self.resolve(case)?;
        let mut problems = Vec::new();
        if self.cases_run.is_multiple_of(128) {
            problems.extend(self.check_all_data());
        }
        let diffs = if self.livepatch {
            self.livepatch_case(case, src, &recs, &mut problems)
        } else {
            self.differential_case(case, src, &recs, &mut problems)
        };
        if let Some(p) = problems.first() {
            let sig = p.split(':').next().unwrap_or("").to_string() + ": " + &strip_numbers(p);
            return Err(Finding {
                kind: INVARIANT,
                signature: sig,
                detail: problems.join("\n"),
            });
        }
        if let Some((sig, detail)) = diffs {
            return Err(Finding {
                kind: DIFFERENCE,
                signature: sig,
                detail,
            });
        }
        Ok(())
    }

    /// The reference: mainline on the same records, with the length as
    /// fidedupe sees it and at most 127 records a call, once per distinct
    /// record.  `Err` is the call's own error.
    fn reference(
        &mut self,
        case: &Case,
        src: usize,
        recs: &[RecordSpec],
        problems: &mut Vec<String>,
    ) -> (u64, Result<BTreeMap<RecordSpec, Rec>, i32>) {
        let size = self.u.size(src);
        let within = case
            .src_offset
            .checked_add(case.src_length)
            .is_some_and(|e| e <= size);
        let length = if within {
            case.src_length.min(self.limits.max_request_bytes)
        } else {
            case.src_length
        };
        let unique: Vec<RecordSpec> = recs
            .iter()
            .copied()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut results = BTreeMap::new();
        if unique.is_empty() {
            let out = self.call("native", case, src, length, &[], Layout::Normal, problems);
            return (
                length,
                if out.ret < 0 {
                    Err(out.ret)
                } else {
                    Ok(results)
                },
            );
        }
        for batch in unique.chunks(127) {
            let out = self.call("native", case, src, length, batch, Layout::Normal, problems);
            if out.ret < 0 {
                return (length, Err(out.ret));
            }
            for (k, rec) in batch.iter().zip(out.recs) {
                results.insert(*k, rec);
            }
        }
        (length, Ok(results))
    }

    fn differential_case(
        &mut self,
        case: &Case,
        src: usize,
        recs: &[RecordSpec],
        problems: &mut Vec<String>,
    ) -> Option<(String, String)> {
        let (length, reference) = self.reference(case, src, recs, problems);
        let got = self.call(
            "module",
            case,
            src,
            case.src_length,
            recs,
            case.layout,
            problems,
        );

        // The expected outcome, and the rule behind each part.
        let call = CallCtx {
            src: &self.u.descs[src],
            reserved1: case.reserved1,
            reserved2: case.reserved2,
        };
        let (want_ret, call_rule, per_dest) = match (oracle::call_expectation(&call), &reference) {
            (Some((e, rule)), _) => (e, rule, None),
            (None, Err(e)) => (*e, "as mainline", None),
            (None, Ok(results)) => (0, "as mainline", Some(results)),
        };
        let mut want: Vec<(Rec, &'static str)> = vec![(Rec::Untouched, call_rule); recs.len()];
        let mut want_ret = want_ret;
        if let Some(results) = per_dest {
            for (i, &(d, offset, reserved)) in recs.iter().enumerate() {
                let mainline = results
                    .get(&(d, offset, reserved))
                    .copied()
                    .unwrap_or(Rec::Untouched);
                let e = oracle::dest_expectation(&DestCtx {
                    u: &self.u,
                    caller: self.caller,
                    limits: self.limits,
                    src,
                    src_offset: case.src_offset,
                    len: length,
                    dest: d,
                    dest_offset: offset,
                    reserved,
                    mainline,
                });
                want[i] = (e.rec, e.rule);
            }
            // review.rst "Records the call cannot read or write".
            match case.layout {
                Layout::Normal => {}
                Layout::ReadFault(k) => {
                    want_ret = -libc::EFAULT;
                    for w in want.iter_mut().skip(k) {
                        *w = (Rec::Unreadable, "EFAULT partway (read)");
                    }
                }
                Layout::WriteFault(k) => {
                    want_ret = -libc::EFAULT;
                    for w in want.iter_mut().skip(k) {
                        *w = (Rec::Untouched, "EFAULT partway (write back)");
                    }
                }
            }
        } else if let Layout::ReadFault(k) = case.layout {
            for w in want.iter_mut().skip(k) {
                w.0 = Rec::Unreadable;
            }
        }
        compare(case, &got, want_ret, call_rule, &want)
    }

    fn livepatch_case(
        &mut self,
        case: &Case,
        src: usize,
        recs: &[RecordSpec],
        problems: &mut Vec<String>,
    ) -> Option<(String, String)> {
        let module = self.call(
            "module",
            case,
            src,
            case.src_length,
            recs,
            case.layout,
            problems,
        );
        let number = self.u.descs[src].number;
        if !(0..=i64::from(i32::MAX)).contains(&number) {
            // FIDEDUPERANGE's source is the ioctl's descriptor: the system
            // call truncates the number, so nothing to compare.
            return None;
        }
        let native = self.call(
            "native",
            case,
            src,
            case.src_length,
            recs,
            case.layout,
            problems,
        );
        // fs/ioctl.c around fidedupe: at most 127 records, the whole
        // array copied in first, and back out only when the call succeeded.
        let untouched = |i: usize| match case.layout {
            Layout::ReadFault(k) if i >= k => Rec::Unreadable,
            _ => Rec::Untouched,
        };
        let src = &self.u.descs[src];
        let (want_ret, rule, want): (i32, &'static str, Vec<(Rec, &'static str)>) = if !src.open {
            // The system call's own fdget() comes first.
            let rule = "ioctl(2): the descriptor first";
            (
                -libc::EBADF,
                rule,
                (0..recs.len()).map(|i| (untouched(i), rule)).collect(),
            )
        } else if recs.len() > 127 {
            let rule = "copy-in: more than 127 records";
            (
                -libc::ENOMEM,
                rule,
                (0..recs.len()).map(|i| (untouched(i), rule)).collect(),
            )
        } else if let Layout::ReadFault(_) = case.layout {
            let rule = "copy-in: the whole array first";
            (
                -libc::EFAULT,
                rule,
                (0..recs.len()).map(|i| (untouched(i), rule)).collect(),
            )
        } else if module.ret == 0
            || (matches!(case.layout, Layout::WriteFault(_)) && module.ret == -libc::EFAULT)
        {
            // Every destination done on the kernel's copy; with a read-only
            // page from record k on, the copy-out stops there (EFAULT), and
            // /dev/fidedupe stopped there too.
            let rule = "as /dev/fidedupe";
            (
                module.ret,
                rule,
                module.recs.iter().map(|r| (*r, rule)).collect(),
            )
        } else {
            let rule = "copy-out: only on success";
            (
                module.ret,
                rule,
                (0..recs.len()).map(|i| (untouched(i), rule)).collect(),
            )
        };
        compare(case, &native, want_ret, rule, &want)
    }

    /// Prints the outcome counts; returns how many errnos the man page
    /// lists for fidedupe never occurred (those the fuzzer cannot make
    /// happen excepted, with the test that pins each).
    pub fn print_coverage(&self) -> usize {
        println!("# outcomes (path, side, outcome: count):");
        for ((path, side, outcome), n) in &self.coverage {
            println!("#   {path:6} {side:11} {outcome:10} {n}");
        }
        let seen = |side: &str, e: i32| {
            self.coverage.keys().any(|(p, s, o)| {
                (*p == "module" || self.livepatch) && *s == side && *o == sys::errno_name(e)
            })
        };
        let mut missing = 0;
        for (side, list) in [
            ("call", &MODULE_CALL_ERRNOS[..]),
            ("destination", &MODULE_DEST_ERRNOS[..]),
        ] {
            for &e in list {
                if seen(side, e) {
                    continue;
                }
                if let Some((_, why)) = NOT_FUZZED.iter().find(|(n, _)| *n == e) {
                    println!("#   not fuzzed: {side} {} ({why})", sys::errno_name(e));
                    continue;
                }
                if self.caller.uid != 0 || self.livepatch {
                    continue;
                }
                println!(
                    "#   NEVER SEEN: {side} {} (listed in fidedupe.4)",
                    sys::errno_name(e)
                );
                missing += 1;
            }
        }
        missing
    }
}

/// The file offsets of the blocks whose physical address differs between
/// two extent maps of a file of `size` bytes.
fn moved_blocks(
    before: Option<&[sys::Extent]>,
    after: Option<&[sys::Extent]>,
    size: u64,
) -> Vec<u64> {
    let (Some(before), Some(after)) = (before, after) else {
        return Vec::new();
    };
    let at = |map: &[sys::Extent], x: u64| {
        map.iter()
            .find(|e| e[0] <= x && x < e[0] + e[2])
            .map(|e| e[1] + (x - e[0]))
    };
    (0..size.div_ceil(BLOCK))
        .map(|b| b * BLOCK)
        .filter(|&x| at(before, x) != at(after, x))
        .collect()
}

/// Replaces runs of digits, so that one cause has one signature.
fn strip_numbers(s: &str) -> String {
    let mut out = String::new();
    let mut in_num = false;
    for c in s.chars() {
        if c.is_ascii_digit() {
            if !in_num {
                out.push('N');
            }
            in_num = true;
        } else {
            out.push(c);
            in_num = false;
        }
    }
    out
}

fn compare(
    case: &Case,
    got: &Outcome,
    want_ret: i32,
    call_rule: &str,
    want: &[(Rec, &'static str)],
) -> Option<(String, String)> {
    let mut detail = String::new();
    let mut sig = None;
    if got.ret != want_ret {
        sig = Some(format!(
            "call: expected {} ({call_rule}), got {}",
            if want_ret == 0 {
                "0".into()
            } else {
                label(want_ret)
            },
            if got.ret == 0 {
                "0".into()
            } else {
                label(got.ret)
            }
        ));
        let _ = writeln!(
            detail,
            "the call returned {}, expected {} ({call_rule})",
            got.ret, want_ret
        );
    }
    for (i, (w, rule)) in want.iter().enumerate() {
        let g = got.recs.get(i).copied().unwrap_or(Rec::Untouched);
        if g != *w {
            let dest = &case.records()[i];
            let _ = writeln!(
                detail,
                "record {i} ({} at {}): got {}, expected {} ({rule})",
                dest.desc,
                dest.offset,
                show(g),
                show(*w)
            );
            if sig.is_none() {
                sig = Some(format!(
                    "destination: expected {} ({rule}), got {}",
                    class(*w),
                    class(g)
                ));
            }
        }
    }
    sig.map(|s| (s, detail))
}

/// `OpenOptions::custom_flags(O_NONBLOCK)`, named.
trait NonBlock {
    fn custom_flags_nonblock(&mut self) -> &mut Self;
}

impl NonBlock for std::fs::OpenOptions {
    fn custom_flags_nonblock(&mut self) -> &mut Self {
        std::os::unix::fs::OpenOptionsExt::custom_flags(self, libc::O_NONBLOCK)
    }
}
