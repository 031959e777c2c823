// SPDX-License-Identifier: GPL-2.0

//! A case: one whole call, and the proptest strategies that generate it
//! from the universe, with offsets and lengths drawn from the edge values
//! (0, 1, block-1, block, block+1, EOF-1, EOF, EOF+1, chunk multiples, the
//! cap, `INT64_MAX`, `UINT64_MAX`) and from random values.

use std::sync::Arc;

use proptest::prelude::*;
use serde::{Deserialize, Serialize};

use crate::sys::Layout;
use crate::universe::{Fs, Universe, BLOCK, PERIOD};

/// One destination record, by descriptor name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dest {
    pub desc: String,
    pub offset: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub reserved: u32,
}

fn is_zero(v: &u32) -> bool {
    *v == 0
}

fn is_zero16(v: &u16) -> bool {
    *v == 0
}

/// One whole call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    pub src: String,
    pub src_offset: u64,
    pub src_length: u64,
    #[serde(default, skip_serializing_if = "is_zero16")]
    pub reserved1: u16,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub reserved2: u32,
    pub dests: Vec<Dest>,
    /// The records are `dests` repeated up to this many (module path only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat_to: Option<u16>,
    pub layout: Layout,
}

impl Case {
    /// The records of the call, in order.
    pub fn records(&self) -> Vec<&Dest> {
        match self.repeat_to {
            Some(n) if !self.dests.is_empty() => {
                self.dests.iter().cycle().take(usize::from(n)).collect()
            }
            _ => self.dests.iter().collect(),
        }
    }
}

/// Values around `size`, the chunk and the cap, and far ones.
fn edges(size: u64, chunk: u64, cap: u64) -> Vec<u64> {
    let mut v = vec![
        0,
        1,
        BLOCK - 1,
        BLOCK,
        BLOCK + 1,
        PERIOD,
        2 * PERIOD,
        chunk,
        chunk + BLOCK,
        2 * chunk,
        3 * chunk - BLOCK,
        cap - BLOCK,
        cap,
        cap + 1,
        cap + BLOCK,
        2 * cap,
        i64::MAX as u64,
        i64::MAX as u64 - BLOCK + 1,
        i64::MAX as u64 + 1,
        u64::MAX,
        u64::MAX - BLOCK + 1,
        1 << 32,
    ];
    for d in [0, 1, BLOCK - 1, BLOCK, PERIOD] {
        v.push(size.saturating_sub(d));
        v.push(size + d);
    }
    v
}

fn value(size: u64, chunk: u64, cap: u64) -> impl Strategy<Value = u64> {
    let edges = edges(size, chunk, cap);
    prop_oneof![
        6 => prop::sample::select(edges),
        2 => (0u64..(4 * cap / BLOCK)).prop_map(|b| b * BLOCK),
        1 => 0u64..(4 * cap),
        1 => any::<u64>(),
    ]
}

/// The limits the module was loaded with.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct Limits {
    pub max_request_bytes: u64,
    pub chunk_bytes: u64,
}

/// What the strategies need to know of the universe.
struct Ctx {
    names: Vec<String>,
    sizes: Vec<u64>,
    chunk: u64,
    cap: u64,
}

/// A destination: any descriptor at an edge of its own size, or the
/// source's own file at a distance around the chunk size from the source
/// range (overlapping or not).
fn dest(ctx: Arc<Ctx>, src: usize, off: u64, len: u64) -> BoxedStrategy<Dest> {
    let (chunk, cap) = (ctx.chunk, ctx.cap);
    let distances = vec![
        0,
        BLOCK,
        chunk / 2,
        chunk,
        chunk + BLOCK,
        len.saturating_sub(BLOCK),
        len,
        len + BLOCK,
        PERIOD,
        2 * PERIOD,
    ];
    let any_ctx = ctx.clone();
    let any_dest = (0..ctx.names.len()).prop_flat_map(move |d| {
        (
            Just(any_ctx.names[d].clone()),
            value(any_ctx.sizes[d], chunk, cap),
        )
    });
    let same_name = ctx.names[src].clone();
    let same_file =
        (prop::sample::select(distances), any::<bool>()).prop_map(move |(dist, after)| {
            let at = if after {
                off.saturating_add(dist)
            } else {
                off.saturating_sub(dist)
            };
            (same_name.clone(), at)
        });
    let reserved = prop_oneof![40 => Just(0u32), 1 => any::<u32>()];
    (prop_oneof![6 => any_dest, 2 => same_file], reserved)
        .prop_map(|((desc, offset), reserved)| Dest {
            desc,
            offset,
            reserved,
        })
        .boxed()
}

/// The fewest records of a repeated case: well past fs/ioctl.c's 127.
pub const MIN_REPEAT: u16 = 1000;

/// The strategy for whole cases over `u`; now and then a case has 1000 to
/// `repeat_max` records, more than fs/ioctl.c copies in (`repeat_to`;
/// module path only, 0: never).
pub fn case(u: &Universe, limits: Limits, repeat_max: u16) -> BoxedStrategy<Case> {
    let n = u.descs.len();
    let ctx = Arc::new(Ctx {
        names: u.descs.iter().map(|d| d.name.clone()).collect(),
        sizes: (0..n).map(|i| u.size(i)).collect(),
        chunk: limits.chunk_bytes,
        cap: limits.max_request_bytes,
    });
    // Regular files of the home filesystem open for reading are the usual
    // source; every descriptor now and then.
    let usual: Vec<usize> = (0..n)
        .filter(|&i| {
            let d = &u.descs[i];
            d.readable && d.file.is_some() && d.fs == Fs::Home && !d.immutable && !d.swapfile
        })
        .collect();
    let src = prop_oneof![8 => prop::sample::select(usual), 2 => 0..n];
    let range_ctx = ctx.clone();
    src.prop_flat_map(move |src| {
        let size = range_ctx.sizes[src];
        let (chunk, cap) = (range_ctx.chunk, range_ctx.cap);
        (Just(src), value(size, chunk, cap), value(size, chunk, cap))
    })
    .prop_flat_map(move |(src, off, len)| {
        let d = dest(ctx.clone(), src, off, len);
        let dests = prop_oneof![
            // Every branch can shrink to no destination at all.
            40 => prop::collection::vec(d.clone(), 0..=3),
            40 => prop::collection::vec(d.clone(), 0..=8),
            4 => prop::collection::vec(d.clone(), 0..=127),
            1 => prop::collection::vec(d, 0..=300),
        ];
        let repeat = if repeat_max >= MIN_REPEAT {
            prop_oneof![30 => Just(None), 1 => (MIN_REPEAT..=repeat_max).prop_map(Some)].boxed()
        } else {
            Just(None).boxed()
        };
        (
            Just(ctx.names[src].clone()),
            Just(off),
            Just(len),
            prop_oneof![40 => Just(0u16), 1 => any::<u16>()],
            prop_oneof![40 => Just(0u32), 1 => any::<u32>()],
            dests,
            repeat,
            prop_oneof![18 => Just(0u8), 1 => Just(1u8), 1 => Just(2u8)],
            any::<prop::sample::Index>(),
        )
    })
    .prop_map(
        |(src, src_offset, src_length, reserved1, reserved2, dests, repeat_to, fault, at)| {
            let mut case = Case {
                src,
                src_offset,
                src_length,
                reserved1,
                reserved2,
                dests,
                repeat_to,
                layout: Layout::Normal,
            };
            let count = case.records().len();
            if count > 0 {
                case.layout = match fault {
                    1 => Layout::ReadFault(at.index(count)),
                    2 => Layout::WriteFault(at.index(count)),
                    _ => Layout::Normal,
                };
            }
            case
        },
    )
    .boxed()
}
