//! Trap codes and the `.kiln.traps` section.
//!
//! Every instruction of the compiled text that may trap (an explicit trap,
//! a guarded memory access, a division, a stack-limit check…) is a *trap
//! site*. The section lists them sorted by text offset so the signal handler
//! can find the faulting PC without locks or allocation: a binary search of
//! a sparse index, then a walk of at most [`BLOCK_LEN`] sites.
//!
//! ```text
//! ┌───────────┬────────────┬─────────────────────────────────────┬──────────────┐
//! │ count: u32│ blocks: u32│ index: [(offset: u32, at: u32); blocks] │ stream: [u8] │
//! └───────────┴────────────┴─────────────────────────────────────┴──────────────┘
//!   index entry: the text offset of the block's first site, and where the
//!   block starts in the stream.
//!   stream, per block: code of its first site: u8, then per further site:
//!   varint(offset − previous offset) (LEB128, ≥ 1), code: u8.
//!   little-endian; offsets are from the start of `.text`; codes are
//!   `TrapCode as u8`; blocks = ceil(count / BLOCK_LEN).
//! ```
//!
//! About two and a half bytes per site instead of five: the table is copied
//! with the text when an artifact is loaded from bytes given at run time.
//!
//! Writer: `kiln-build` (`emit::sections`) via [`TrapTableBuilder`].
//! Reader: the runtime's signal handler via [`TrapTable::lookup`].

use crate::addrmap::{read_varint, write_varint};
use crate::DecodeError;
use alloc::vec::Vec;
use core::fmt;
use serde::{Deserialize, Serialize};

macro_rules! trap_codes {
    ($($(#[$doc:meta])* $name:ident = $n:literal, $msg:literal;)*) => {
        /// Why wasm code stopped. Numbering is part of the artifact format.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[repr(u8)]
        #[non_exhaustive]
        pub enum TrapCode {
            $($(#[$doc])* $name = $n,)*
        }

        impl TrapCode {
            /// Every trap code.
            pub const ALL: &'static [TrapCode] = &[$(TrapCode::$name,)*];

            /// The code with this number, if there is one.
            pub const fn from_u8(n: u8) -> Option<TrapCode> {
                match n {
                    $($n => Some(TrapCode::$name),)*
                    _ => None,
                }
            }

            /// The message the WebAssembly specification uses for this trap.
            pub const fn message(self) -> &'static str {
                match self {
                    $(TrapCode::$name => $msg,)*
                }
            }
        }
    };
}

trap_codes! {
    /// The stack limit was reached (deep or unbounded recursion).
    StackOverflow = 1, "call stack exhausted";
    /// A load or store outside a linear memory, or a bulk memory operation out of bounds.
    MemoryOutOfBounds = 2, "out of bounds memory access";
    /// A misaligned atomic access.
    HeapMisaligned = 3, "unaligned atomic";
    /// An access outside a table.
    TableOutOfBounds = 4, "undefined element";
    /// `call_indirect` reached a null entry.
    IndirectCallToNull = 5, "uninitialized element";
    /// `call_indirect` reached a function of the wrong type.
    BadSignature = 6, "indirect call type mismatch";
    /// Integer overflow (`i32.div_s` of MIN by -1, float-to-int out of range).
    IntegerOverflow = 7, "integer overflow";
    /// Integer division or remainder by zero.
    IntegerDivisionByZero = 8, "integer divide by zero";
    /// Float-to-int conversion of NaN.
    BadConversionToInteger = 9, "invalid conversion to integer";
    /// The `unreachable` instruction.
    UnreachableCodeReached = 10, "unreachable";
    /// The epoch deadline passed.
    Interrupted = 11, "interrupt";
    /// The fuel budget ran out.
    OutOfFuel = 12, "all fuel consumed by WebAssembly";
    /// A null reference was dereferenced.
    NullReference = 13, "null reference";
    /// A host function returned an error or panicked; the error is carried
    /// separately.
    HostError = 14, "host function error";
    /// An element or data segment access out of bounds (`table.init`).
    ElementOutOfBounds = 15, "out of bounds table access";
    /// `memory.atomic.wait` on a memory that is not shared.
    AtomicWaitNonShared = 16, "expected shared memory";
}

impl fmt::Display for TrapCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

/// Sites per block of the index: a lookup walks at most this many.
pub const BLOCK_LEN: usize = 32;

const HEADER: usize = 8;
const INDEX_ENTRY: usize = 8;

/// Collects trap sites in any order and encodes the section.
#[derive(Default, Debug)]
pub struct TrapTableBuilder {
    sites: Vec<(u32, TrapCode)>,
}

impl TrapTableBuilder {
    /// Record a trap site at `offset` from the start of `.text`.
    pub fn push(&mut self, offset: u32, code: TrapCode) {
        self.sites.push((offset, code));
    }

    /// Encode the section.
    pub fn finish(mut self) -> Vec<u8> {
        self.sites.sort_by_key(|&(o, _)| o);
        self.sites.dedup_by_key(|&mut (o, _)| o);
        let n = self.sites.len();
        let blocks = n.div_ceil(BLOCK_LEN);
        let mut out = Vec::with_capacity(HEADER + blocks * INDEX_ENTRY + n * 3);
        out.extend_from_slice(&(n as u32).to_le_bytes());
        out.extend_from_slice(&(blocks as u32).to_le_bytes());
        let mut stream = Vec::with_capacity(n * 3);
        for block in self.sites.chunks(BLOCK_LEN) {
            out.extend_from_slice(&block[0].0.to_le_bytes());
            out.extend_from_slice(&(stream.len() as u32).to_le_bytes());
            stream.push(block[0].1 as u8);
            for w in block.windows(2) {
                write_varint(&mut stream, w[1].0 - w[0].0);
                stream.push(w[1].1 as u8);
            }
        }
        out.extend_from_slice(&stream);
        out
    }
}

/// A view of the section whose framing was checked. Lookups neither lock
/// nor allocate, so the signal handler can use them.
#[derive(Clone, Copy, Debug)]
pub struct TrapTable<'a> {
    index: &'a [u8],
    stream: &'a [u8],
    len: usize,
}

impl<'a> TrapTable<'a> {
    /// A table without trap sites.
    pub const EMPTY: TrapTable<'static> = TrapTable { index: &[], stream: &[], len: 0 };

    /// Check the section's framing: O(1), so loading stays independent of
    /// the code size. The contents are checked where they are used: an
    /// unknown code is no trap site, and every read of a lookup is
    /// bounds-checked, so a corrupt table can only miss sites — it can never
    /// make a lookup read outside the section.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        // A code byte per site, and a delta of at least one byte per site
        // after a block's first.
        let (index, stream, len) = crate::blocked_framing(
            crate::sections::TRAPS,
            bytes,
            (BLOCK_LEN, INDEX_ENTRY),
            "trap sites",
            |len, blocks| 2 * len - blocks,
        )?;
        Ok(TrapTable { index, stream, len })
    }

    /// Whether every code is known, the offsets strictly increase and the
    /// blocks tile the stream exactly: what the compiler writes. Not needed
    /// for safety (see [`TrapTable::parse`]); for tools and tests.
    pub fn is_well_formed(&self) -> bool {
        let mut at = 0;
        let mut last: Option<u32> = None;
        for b in 0..self.blocks() {
            let (first, start) = self.block(b);
            if start != at || last.is_some_and(|l| l >= first) {
                return false;
            }
            let ok = self.walk_block(b, |o, c| {
                last = Some(o);
                TrapCode::from_u8(c).is_some()
            });
            match ok {
                Some((true, end)) => at = end,
                _ => return false,
            }
        }
        at == self.stream.len()
    }

    /// Number of trap sites.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no trap sites.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn blocks(&self) -> usize {
        self.index.len() / INDEX_ENTRY
    }

    #[inline]
    fn block(&self, i: usize) -> (u32, usize) {
        let word = |at: usize| {
            let b = &self.index[at..at + 4];
            u32::from_le_bytes([b[0], b[1], b[2], b[3]])
        };
        (word(i * INDEX_ENTRY), word(i * INDEX_ENTRY + 4) as usize)
    }

    /// Walk block `i`, calling `f(offset, code)` per site while it returns
    /// true. Returns whether every call did, and where the block's bytes
    /// end; `None` if the block is corrupt.
    #[inline]
    fn walk_block(&self, i: usize, mut f: impl FnMut(u32, u8) -> bool) -> Option<(bool, usize)> {
        let (mut offset, mut at) = self.block(i);
        let n = (self.len - i * BLOCK_LEN).min(BLOCK_LEN);
        for k in 0..n {
            if k > 0 {
                offset = offset.checked_add(read_varint(self.stream, &mut at)?)?;
            }
            let code = *self.stream.get(at)?;
            at += 1;
            if !f(offset, code) {
                return Some((false, at));
            }
        }
        Some((true, at))
    }

    /// The trap code at exactly `text_offset`, if it is a trap site.
    #[inline]
    pub fn lookup(&self, text_offset: u32) -> Option<TrapCode> {
        let (mut lo, mut hi) = (0usize, self.blocks());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.block(mid).0 <= text_offset {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        let mut found = None;
        self.walk_block(lo.checked_sub(1)?, |o, c| {
            if o == text_offset {
                found = TrapCode::from_u8(c);
            }
            o < text_offset
        })?;
        found
    }

    /// All sites, in order (sites with an unknown code left out; stops at a
    /// corrupt block).
    pub fn iter(&self) -> impl Iterator<Item = (u32, TrapCode)> + '_ {
        let mut sites = Vec::new();
        for b in 0..self.blocks() {
            let walked = self.walk_block(b, |o, c| {
                if let Some(c) = TrapCode::from_u8(c) {
                    sites.push((o, c));
                }
                true
            });
            if walked.is_none() {
                break;
            }
        }
        sites.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut b = TrapTableBuilder::default();
        b.push(40, TrapCode::IntegerOverflow);
        b.push(4, TrapCode::UnreachableCodeReached);
        b.push(17, TrapCode::MemoryOutOfBounds);
        let bytes = b.finish();
        let t = TrapTable::parse(&bytes).unwrap();
        assert!(t.is_well_formed());
        assert_eq!(t.len(), 3);
        assert_eq!(t.lookup(4), Some(TrapCode::UnreachableCodeReached));
        assert_eq!(t.lookup(17), Some(TrapCode::MemoryOutOfBounds));
        assert_eq!(t.lookup(40), Some(TrapCode::IntegerOverflow));
        assert_eq!(t.lookup(5), None);
        assert_eq!(t.lookup(0), None);
        assert_eq!(t.lookup(41), None);
    }

    #[test]
    fn rejects_bad_framing_and_codes() {
        let mut b = TrapTableBuilder::default();
        b.push(1, TrapCode::StackOverflow);
        let mut bytes = b.finish();
        assert!(TrapTable::parse(&bytes[..bytes.len() - 1]).is_err());
        *bytes.last_mut().unwrap() = 200;
        let t = TrapTable::parse(&bytes).unwrap();
        assert!(!t.is_well_formed());
        assert_eq!(t.lookup(1), None, "an unknown code is no trap site");
        assert!(TrapTable::parse(&[]).is_err());
    }

    /// Many blocks, large gaps, every code: lookups find each site and
    /// nothing between sites.
    #[test]
    fn round_trip_many_blocks() {
        let mut b = TrapTableBuilder::default();
        let mut want = Vec::new();
        let mut o = 7u32;
        for i in 0..1000usize {
            let code = TrapCode::ALL[i % TrapCode::ALL.len()];
            want.push((o, code));
            b.push(o, code);
            o += 1 + (i as u32 * 37) % 90 + if i % 150 == 0 { 1 << 22 } else { 0 };
        }
        let bytes = b.finish();
        assert!(bytes.len() < want.len() * 3, "{} bytes for {} sites", bytes.len(), want.len());
        let t = TrapTable::parse(&bytes).unwrap();
        assert!(t.is_well_formed());
        assert_eq!(t.len(), want.len());
        assert_eq!(t.iter().collect::<Vec<_>>(), want);
        for &(o, c) in &want {
            assert_eq!(t.lookup(o), Some(c));
            assert_eq!(t.lookup(o + 1).filter(|_| !want.iter().any(|w| w.0 == o + 1)), None);
        }
        assert_eq!(t.lookup(0), None);
        assert_eq!(t.lookup(u32::MAX), None);
    }

    #[test]
    fn empty_table() {
        let bytes = TrapTableBuilder::default().finish();
        let t = TrapTable::parse(&bytes).unwrap();
        assert!(t.is_empty() && t.is_well_formed());
        assert_eq!(t.lookup(0), None);
    }

    /// Every byte flipped and every truncation: parse fails, or lookups
    /// answer something, never panic.
    #[test]
    fn corruption_never_panics() {
        let mut b = TrapTableBuilder::default();
        for i in 0..100u32 {
            b.push(i * 9 + 3, TrapCode::ALL[i as usize % TrapCode::ALL.len()]);
        }
        let good = b.finish();
        let probe = |bytes: &[u8]| {
            if let Ok(t) = TrapTable::parse(bytes) {
                for o in 0..1000 {
                    let _ = t.lookup(o);
                }
                let _ = t.is_well_formed();
                let _ = t.iter().count();
            }
        };
        crate::for_each_corruption(&good, probe);
    }

    #[test]
    fn codes_round_trip() {
        for &c in TrapCode::ALL {
            assert_eq!(TrapCode::from_u8(c as u8), Some(c));
        }
    }
}
