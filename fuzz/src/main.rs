// SPDX-License-Identifier: GPL-2.0

//! fidedupe-fuzz: differential fuzzing of fidedupe against mainline's
//! FIDEDUPERANGE, in the test VM, as root or as `nobody`.
//!
//! Every case (`case.rs`) is one whole call.  In the default mode it runs
//! through mainline's FIDEDUPERANGE (the reference) and through
//! /dev/fidedupe, and fidedupe's outcome must be the oracle's
//! (`oracle.rs`): mainline's, changed only by the documented differences.
//! With `--livepatch` (fidedupe_livepatch.ko loaded) it runs through
//! FIDEDUPERANGE, now fidedupe, and /dev/fidedupe, which must agree except
//! for the copy-in and copy-out of fs/ioctl.c.  After every call the
//! invariants hold (`check.rs`).  A new kind of failure is shrunk by
//! proptest and saved as a JSON reproducer that `--replay` runs again.
//!
//! usage: fidedupe-fuzz --fs btrfs|xfs [--cases N | --smoke] [--seconds S] [--seed N]
//!        [--livepatch] [--unprivileged] [--max-request-bytes N]
//!        [--chunk-bytes N] [--repeat-max N] [--ioctl-magic N] [--save-dir DIR]
//!        [--replay FILE...]

mod case;
mod check;
mod oracle;
mod sys;
mod universe;

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};

use case::{Case, Limits};
use check::{Finding, Runner};
use universe::Universe;

struct Options {
    fs: String,
    cases: u64,
    seconds: u64,
    seed: u64,
    livepatch: bool,
    unprivileged: bool,
    limits: Limits,
    /// The most records of a repeated case (`case::case`), 0: none.
    repeat_max: u16,
    magic: u8,
    save_dir: Option<PathBuf>,
    replay: Vec<PathBuf>,
    expect_failures: bool,
}

impl Options {
    /// The most records of a repeated case in this run: none through the
    /// livepatch, where fs/ioctl.c copies in at most 127.
    fn repeat_max(&self) -> u16 {
        if self.livepatch {
            0
        } else {
            self.repeat_max
        }
    }
}

fn parse_u64(s: &str) -> Result<u64, String> {
    let r = if let Some(hex) = s.strip_prefix("0x") {
        u64::from_str_radix(hex, 16)
    } else {
        s.parse()
    };
    r.map_err(|e| format!("{s}: {e}"))
}

fn options() -> Result<Options, String> {
    let mut o = Options {
        fs: String::new(),
        cases: 0,
        seconds: 0,
        seed: 0,
        livepatch: false,
        unprivileged: false,
        limits: Limits {
            max_request_bytes: 1 << 30,
            chunk_bytes: 16 << 20,
        },
        repeat_max: u16::MAX,
        magic: 0xb9,
        save_dir: None,
        replay: Vec::new(),
        expect_failures: false,
    };
    let mut seed = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--fs" => o.fs = val()?,
            "--cases" => o.cases = parse_u64(&val()?)?,
            "--seconds" => o.seconds = parse_u64(&val()?)?,
            "--seed" => seed = Some(parse_u64(&val()?)?),
            "--livepatch" => o.livepatch = true,
            "--unprivileged" => o.unprivileged = true,
            "--max-request-bytes" => o.limits.max_request_bytes = parse_u64(&val()?)?,
            "--chunk-bytes" => o.limits.chunk_bytes = parse_u64(&val()?)?,
            "--repeat-max" => {
                o.repeat_max = u16::try_from(parse_u64(&val()?)?).map_err(|e| e.to_string())?;
                if o.repeat_max != 0 && o.repeat_max < case::MIN_REPEAT {
                    return Err(format!("--repeat-max: 0 or {} to 65535", case::MIN_REPEAT));
                }
            }
            "--ioctl-magic" => {
                o.magic = u8::try_from(parse_u64(&val()?)?).map_err(|e| e.to_string())?
            }
            "--save-dir" => o.save_dir = Some(PathBuf::from(val()?)),
            "--replay" => o.replay.push(PathBuf::from(val()?)),
            "--expect-failures" => o.expect_failures = true,
            // A short run: six rounds of 256 cases.
            "--smoke" => o.cases = 1536,
            _ => return Err(format!("unknown argument {a}")),
        }
    }
    if o.fs != "btrfs" && o.fs != "xfs" {
        return Err("--fs btrfs|xfs is required".into());
    }
    o.seed = match seed {
        Some(s) => s,
        None => {
            let mut b = [0u8; 8];
            fs::File::open("/dev/urandom")
                .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut b))
                .map_err(|e| e.to_string())?;
            u64::from_le_bytes(b)
        }
    };
    Ok(o)
}

/// A reproducer as saved and replayed.
#[derive(serde::Serialize, serde::Deserialize)]
struct Reproducer {
    fs: String,
    livepatch: bool,
    unprivileged: bool,
    limits: Limits,
    seed: u64,
    finding: String,
    case: Case,
}

fn rng_for(seed: u64, round: u64) -> TestRng {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    bytes[8..16].copy_from_slice(&round.to_le_bytes());
    TestRng::from_seed(RngAlgorithm::ChaCha, &bytes)
}

/// What a run found: each distinct kind of failure once, with its first
/// shrunk reproducer, when it was found and how often it recurred.
struct Found {
    finding: Finding,
    case: Case,
    after: Duration,
    after_cases: u64,
    hits: u64,
}

fn run(o: &Options, r: &mut Runner) -> (u64, BTreeMap<String, Found>, Duration) {
    let start = Instant::now();
    let budget = Duration::from_secs(o.seconds);
    let strategy = case::case(&r.u, o.limits, o.repeat_max());
    let mut found: BTreeMap<String, Found> = BTreeMap::new();
    let mut cases = 0u64;
    let mut round = 0u64;
    let done = |cases: u64| {
        (o.cases > 0 && cases >= o.cases) || (o.seconds > 0 && start.elapsed() >= budget)
    };
    while !done(cases) {
        const ROUND: u32 = 256;
        let mut runner = TestRunner::new_with_rng(
            Config {
                cases: ROUND,
                failure_persistence: None,
                max_shrink_iters: 400,
                max_shrink_time: 120_000,
                ..Config::default()
            },
            rng_for(o.seed, round),
        );
        round += 1;
        // Every other round: short extent maps keep FIEMAP cheap.
        if round.is_multiple_of(2) {
            let t = Instant::now();
            if let Err(e) = r.u.refresh() {
                println!("# cannot rewrite the universe's files: {e}");
            }
            r.forget_extents();
            r.time.refresh += t.elapsed();
        }
        let pending: RefCell<Option<(Finding, u64)>> = RefCell::new(None);
        let fresh = Cell::new(0u64);
        let state = RefCell::new((&mut *r, &mut found));
        let result = runner.run(&strategy, |case| {
            let mut st = state.borrow_mut();
            let (r, found) = &mut *st;
            let mut pending = pending.borrow_mut();
            if pending.is_none() {
                fresh.set(fresh.get() + 1);
                if r.cases_run.is_multiple_of(256) {
                    r.scan_kernel_log();
                }
            }
            match r.run_case(&case) {
                Ok(()) => Ok(()),
                Err(f) => {
                    if let Some(known) = found.get_mut(&f.signature) {
                        if pending.is_none() {
                            known.hits += 1;
                        }
                        return Ok(());
                    }
                    match &*pending {
                        None => {
                            *pending = Some((f.clone(), cases + fresh.get()));
                            Err(TestCaseError::fail(f.signature))
                        }
                        Some((p, _)) if p.signature == f.signature => {
                            Err(TestCaseError::fail(f.signature))
                        }
                        Some(_) => Ok(()),
                    }
                }
            }
        });
        let fresh = fresh.get();
        let mut pending = pending.into_inner();
        cases += fresh;
        if let Err(TestError::Fail(_, shrunk)) = result {
            if let Some((first, after_cases)) = pending.take() {
                // The shrunk case's own finding, with the first as fallback.
                let finding = r
                    .run_case(&shrunk)
                    .err()
                    .filter(|f| f.signature == first.signature)
                    .unwrap_or(first);
                println!(
                    "# NEW {} after {} cases, {:.1} s: {}",
                    finding.kind,
                    after_cases,
                    start.elapsed().as_secs_f64(),
                    finding.signature
                );
                println!(
                    "#   shrunk case: {}",
                    serde_json::to_string(&shrunk).unwrap_or_default()
                );
                for line in finding.detail.lines() {
                    println!("#   {line}");
                }
                save(o, &finding, &shrunk);
                found.insert(
                    finding.signature.clone(),
                    Found {
                        finding,
                        case: shrunk,
                        after: start.elapsed(),
                        after_cases,
                        hits: 1,
                    },
                );
            }
        }
    }
    (cases, found, start.elapsed())
}

fn save(o: &Options, finding: &Finding, case: &Case) {
    let Some(dir) = &o.save_dir else { return };
    let rep = Reproducer {
        fs: o.fs.clone(),
        livepatch: o.livepatch,
        unprivileged: o.unprivileged,
        limits: o.limits,
        seed: o.seed,
        finding: finding.signature.clone(),
        case: case.clone(),
    };
    let _ = fs::create_dir_all(dir);
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in finding.signature.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
    }
    let path = dir.join(format!("{}-{:016x}.json", o.fs, h));
    if let Ok(text) = serde_json::to_string_pretty(&rep) {
        let _ = fs::write(&path, text + "\n");
        println!("#   saved {}", path.display());
    }
}

fn replay(o: &Options, r: &mut Runner, ran: &mut u64) -> u64 {
    let mut failed = 0;
    for path in &o.replay {
        let rep: Reproducer = match fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
        {
            Ok(rep) => rep,
            Err(e) => {
                println!("not ok {} # {e}", path.display());
                failed += 1;
                continue;
            }
        };
        if rep.fs != o.fs || rep.livepatch != o.livepatch || rep.unprivileged != o.unprivileged {
            continue;
        }
        if rep.limits.max_request_bytes != o.limits.max_request_bytes
            || rep.limits.chunk_bytes != o.limits.chunk_bytes
        {
            println!("not ok {} # made with other module limits", path.display());
            failed += 1;
            continue;
        }
        *ran += 1;
        match r.run_case(&rep.case) {
            Ok(()) => println!("ok {} # was: {}", path.display(), rep.finding),
            Err(f) => {
                failed += 1;
                println!("not ok {} # {}", path.display(), f.signature);
                for line in f.detail.lines() {
                    println!("#   {line}");
                }
            }
        }
    }
    failed
}

fn main() {
    let o = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("fidedupe-fuzz: {e}");
            std::process::exit(2);
        }
    };
    let dev = match fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/fidedupe")
    {
        Ok(f) => f,
        Err(e) => {
            eprintln!("fidedupe-fuzz: /dev/fidedupe: {e}");
            std::process::exit(2);
        }
    };
    let u = match Universe::build(
        &o.fs,
        o.limits.max_request_bytes,
        o.limits.chunk_bytes,
        o.unprivileged,
    ) {
        Ok(u) => u,
        Err(e) => {
            eprintln!("fidedupe-fuzz: building the universe on {}: {e}", o.fs);
            std::process::exit(2);
        }
    };
    let mut r = Runner::new(
        u,
        dev.as_raw_fd(),
        sys::fidedupe_ioc(o.magic),
        o.limits,
        o.livepatch,
        o.unprivileged,
    );
    let mode = if o.livepatch {
        "livepatch: FIDEDUPERANGE (fidedupe) vs /dev/fidedupe"
    } else {
        "mainline FIDEDUPERANGE vs /dev/fidedupe"
    };
    println!(
        "# fidedupe-fuzz: fs {}, {}, {}, seed {:#x}, max_request_bytes {}, chunk_bytes {}, repeat_max {}, {} descriptors",
        o.fs,
        mode,
        if o.unprivileged { "as nobody" } else { "as root" },
        o.seed,
        o.limits.max_request_bytes,
        o.limits.chunk_bytes,
        o.repeat_max(),
        r.u.descs.len()
    );
    let status = if !o.replay.is_empty() {
        let mut ran = 0;
        let failed = replay(&o, &mut r, &mut ran);
        r.scan_kernel_log();
        println!("fuzz: {ran} regression cases, {failed} failed");
        i32::from(failed > 0)
    } else {
        let (cases, found, took) = run(&o, &mut r);
        r.scan_kernel_log();
        let differences = found
            .values()
            .filter(|f| f.finding.kind == "undocumented difference")
            .count();
        let data = r.check_all_data();
        let invariants = found.len() - differences + usize::from(!data.is_empty());
        for p in &data {
            println!("# invariant failure at the end: {p}");
        }
        println!(
            "# {} cases in {:.1} s ({:.1} per second), {} calls",
            cases,
            took.as_secs_f64(),
            cases as f64 / took.as_secs_f64().max(1e-9),
            r.calls
        );
        println!(
            "# time: rewriting the files {:.1} s, cases {:.1} s, in the ioctls {:.1} s, FIEMAP {:.1} s, checksums {:.1} s",
            r.time.refresh.as_secs_f64(),
            r.time.total.as_secs_f64(),
            r.time.calls.as_secs_f64(),
            r.time.fiemap.as_secs_f64(),
            r.time.checksum.as_secs_f64()
        );
        for f in found.values() {
            println!(
                "# found: {} after {} cases ({:.1} s), {} times: {}",
                f.finding.kind,
                f.after_cases,
                f.after.as_secs_f64(),
                f.hits,
                f.finding.signature
            );
            println!(
                "#   case: {}",
                serde_json::to_string(&f.case).unwrap_or_default()
            );
        }
        let missing = r.print_coverage();
        let _ = std::io::stdout().flush();
        println!(
            "fuzz: {} cases, {} undocumented differences, {} invariant failures",
            cases, differences, invariants
        );
        let failed = !found.is_empty() || missing > 0;
        i32::from(failed != o.expect_failures)
    };
    r.u.teardown();
    std::process::exit(status);
}
