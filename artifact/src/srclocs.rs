//! `.kiln.srclocs`: map from wasm byte offsets to source locations, read
//! from the module's DWARF at build time, for backtraces that name the
//! source file and line of each frame (and of the functions inlined into
//! it). Written only when the module carries DWARF and the build asks for
//! it; absent (empty) otherwise. Never read on the load path beyond an O(1)
//! framing check.
//!
//! A wasm offset maps to a *chain*: the source frames at that instruction,
//! innermost (the code inlined deepest) first, the function the wasm
//! function was compiled from last. Chains and strings are shared, so a
//! location costs eight bytes per range of instructions with one chain.
//!
//! ```text
//! ┌──────────────────────────────────────────────────────────┐
//! │ header: ranges u32, chains u32, frames u32, strings u32  │
//! ├──────────────────────────────────────────────────────────┤
//! │ ranges: [(wasm offset u32, chain u32); ranges]           │ sorted by offset; a range
//! │                                                          │ runs to the next one's offset;
//! │                                                          │ chain NONE = no location
//! │ chain starts: [u32; chains + 1]                          │ chain i = frames[start i .. start i+1]
//! │ frames: [(name u32, file u32, line u32, column u32); …]   │ strings by index, NONE = unknown;
//! │                                                          │ line/column 0 = unknown
//! │ string ranges: [(start u32, len u32); strings]           │ into the string bytes
//! │ string bytes: [u8]                                       │ UTF-8
//! └──────────────────────────────────────────────────────────┘
//! ```
//!
//! Little-endian. Lookups check every read: a corrupt section gives wrong
//! or missing locations, never a read outside it.

use crate::DecodeError;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

/// A string index, range chain or name meaning "none".
pub const NONE: u32 = u32::MAX;

const HEADER: usize = 16;
const RANGE: usize = 8;
const FRAME: usize = 16;

/// One source frame of a chain, as the builder takes it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SourceFrame {
    /// The function, demangled (`records::price`), if DWARF names it.
    pub function: Option<String>,
    /// The source file, as DWARF names it.
    pub file: Option<String>,
    /// 1-based line, 0 if unknown.
    pub line: u32,
    /// 1-based column, 0 if unknown.
    pub column: u32,
}

/// Collects `(wasm range, chain)` pairs and encodes the section.
#[derive(Default, Debug)]
pub struct SrcLocBuilder {
    ranges: Vec<(u32, u32, u32)>,
    chains: BTreeMap<Vec<SourceFrame>, u32>,
    chain_list: Vec<Vec<SourceFrame>>,
}

impl SrcLocBuilder {
    /// Record that the wasm bytes `start..end` come from `chain` (innermost
    /// first). Ranges may come in any order; where two overlap, the one
    /// pushed first wins.
    pub fn push(&mut self, start: u32, end: u32, chain: Vec<SourceFrame>) {
        if start >= end || chain.is_empty() {
            return;
        }
        let next = self.chain_list.len() as u32;
        let id = *self.chains.entry(chain).or_insert_with_key(|c| {
            self.chain_list.push(c.clone());
            next
        });
        self.ranges.push((start, end, id));
    }

    /// Whether nothing was pushed.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Encode the section.
    pub fn finish(mut self) -> Vec<u8> {
        // Stable: the first of two ranges with one start keeps it.
        self.ranges.sort_by_key(|r| r.0);
        let mut flat: Vec<(u32, u32)> = Vec::with_capacity(self.ranges.len() * 2);
        let mut covered = 0u32;
        for &(start, end, chain) in &self.ranges {
            if end <= covered {
                continue;
            }
            let start = start.max(covered);
            if flat.last().is_some_and(|&(_, c)| c == chain) && covered == start {
                covered = end;
                continue;
            }
            if covered < start && !flat.is_empty() {
                flat.push((covered, NONE));
            }
            match flat.last_mut() {
                Some(last) if last.0 == start => last.1 = chain,
                _ => flat.push((start, chain)),
            }
            covered = end;
        }
        if !flat.is_empty() {
            flat.push((covered, NONE));
        }

        let mut strings: BTreeMap<&str, u32> = BTreeMap::new();
        let mut string_list: Vec<&str> = Vec::new();
        let mut starts = Vec::with_capacity(self.chain_list.len() + 1);
        let mut frames = Vec::new();
        for chain in &self.chain_list {
            starts.push(frames.len() as u32);
            for f in chain {
                let name = intern(&mut strings, &mut string_list, &f.function);
                let file = intern(&mut strings, &mut string_list, &f.file);
                frames.push([name, file, f.line, f.column]);
            }
        }
        starts.push(frames.len() as u32);

        let mut out = Vec::new();
        for n in [flat.len(), self.chain_list.len(), frames.len(), string_list.len()] {
            out.extend_from_slice(&(n as u32).to_le_bytes());
        }
        for (offset, chain) in flat {
            out.extend_from_slice(&offset.to_le_bytes());
            out.extend_from_slice(&chain.to_le_bytes());
        }
        for s in starts {
            out.extend_from_slice(&s.to_le_bytes());
        }
        for f in frames {
            for v in f {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
        let mut at = 0u32;
        for s in &string_list {
            out.extend_from_slice(&at.to_le_bytes());
            out.extend_from_slice(&(s.len() as u32).to_le_bytes());
            at += s.len() as u32;
        }
        for s in &string_list {
            out.extend_from_slice(s.as_bytes());
        }
        out
    }
}

/// The index of `s` in the string table, adding it if new.
fn intern<'s>(strings: &mut BTreeMap<&'s str, u32>, list: &mut Vec<&'s str>, s: &'s Option<String>) -> u32 {
    match s {
        None => NONE,
        Some(s) => *strings.entry(s.as_str()).or_insert_with(|| {
            list.push(s.as_str());
            list.len() as u32 - 1
        }),
    }
}

/// A source frame read from the section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The function, demangled, if known.
    pub function: Option<&'a str>,
    /// The source file, if known.
    pub file: Option<&'a str>,
    /// 1-based line, if known.
    pub line: Option<u32>,
    /// 1-based column, if known.
    pub column: Option<u32>,
}

/// A view of the section whose framing was checked.
#[derive(Clone, Copy, Debug)]
pub struct SrcLocs<'a> {
    ranges: &'a [u8],
    starts: &'a [u8],
    frames: &'a [u8],
    string_ranges: &'a [u8],
    string_bytes: &'a [u8],
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

impl<'a> SrcLocs<'a> {
    /// Check the section's framing: the tables fit in it. An empty section
    /// is a module without source locations.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        let bad = |what: &str| DecodeError::new(crate::sections::SRCLOCS, what);
        if bytes.is_empty() {
            return Ok(SrcLocs { ranges: &[], starts: &[], frames: &[], string_ranges: &[], string_bytes: &[] });
        }
        let header = |i: usize| u32_at(bytes, 4 * i).map(|v| v as usize).ok_or_else(|| bad("truncated header"));
        let (ranges, chains, frames, strings) = (header(0)?, header(1)?, header(2)?, header(3)?);
        let mut at = HEADER;
        let mut take = |len: Option<usize>, what: &str| -> Result<&'a [u8], DecodeError> {
            let end = len.and_then(|l| at.checked_add(l)).filter(|&e| e <= bytes.len()).ok_or_else(|| bad(what))?;
            let s = &bytes[at..end];
            at = end;
            Ok(s)
        };
        let ranges = take(ranges.checked_mul(RANGE), "ranges run past the end")?;
        let starts = take(chains.checked_add(1).and_then(|c| c.checked_mul(4)), "chains run past the end")?;
        let frames = take(frames.checked_mul(FRAME), "frames run past the end")?;
        let string_ranges = take(strings.checked_mul(8), "strings run past the end")?;
        let string_bytes = &bytes[at..];
        Ok(SrcLocs { ranges, starts, frames, string_ranges, string_bytes })
    }

    /// Number of ranges (with or without a location).
    pub fn len(&self) -> usize {
        self.ranges.len() / RANGE
    }

    /// Whether the module has no source locations.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    fn string(&self, index: u32) -> Option<&'a str> {
        if index == NONE {
            return None;
        }
        let at = (index as usize).checked_mul(8)?;
        let start = u32_at(self.string_ranges, at)? as usize;
        let len = u32_at(self.string_ranges, at + 4)? as usize;
        core::str::from_utf8(self.string_bytes.get(start..start.checked_add(len)?)?).ok()
    }

    /// The source frames at `wasm_offset`, innermost first; empty where
    /// the module has no location for it.
    pub fn lookup(&self, wasm_offset: u32) -> Vec<Frame<'a>> {
        self.try_lookup(wasm_offset).unwrap_or_default()
    }

    fn try_lookup(&self, wasm_offset: u32) -> Option<Vec<Frame<'a>>> {
        // The last range starting at or before the offset.
        let (mut lo, mut hi) = (0usize, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if u32_at(self.ranges, mid * RANGE)? <= wasm_offset {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        let chain = u32_at(self.ranges, lo.checked_sub(1)? * RANGE + 4)?;
        if chain == NONE {
            return None;
        }
        let first = u32_at(self.starts, chain as usize * 4)? as usize;
        let end = u32_at(self.starts, chain as usize * 4 + 4)? as usize;
        let mut out = Vec::with_capacity(end.saturating_sub(first).min(16));
        for i in first..end {
            let field = |k: usize| u32_at(self.frames, i.checked_mul(FRAME)? + 4 * k);
            let nonzero = |v: u32| (v != 0).then_some(v);
            out.push(Frame {
                function: self.string(field(0)?),
                file: self.string(field(1)?),
                line: nonzero(field(2)?),
                column: nonzero(field(3)?),
            });
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    fn frame(function: &str, file: &str, line: u32) -> SourceFrame {
        SourceFrame { function: Some(function.to_string()), file: Some(file.to_string()), line, column: 5 }
    }

    #[test]
    fn ranges_map_to_their_chains_and_gaps_to_nothing() {
        let mut b = SrcLocBuilder::default();
        let inner = vec![frame("a::inlined", "a.rs", 3), frame("a::outer", "a.rs", 10)];
        b.push(0x40, 0x48, vec![frame("a::outer", "a.rs", 9)]);
        b.push(0x48, 0x50, inner.clone());
        b.push(0x60, 0x70, vec![frame("a::outer", "a.rs", 9)]);
        let bytes = b.finish();
        let s = SrcLocs::parse(&bytes).unwrap();
        assert!(s.lookup(0x3f).is_empty());
        assert_eq!(s.lookup(0x40)[0].line, Some(9));
        let at = s.lookup(0x4f);
        assert_eq!(at.len(), 2);
        assert_eq!((at[0].function, at[0].file, at[0].line), (Some("a::inlined"), Some("a.rs"), Some(3)));
        assert_eq!(at[1].function, Some("a::outer"));
        assert!(s.lookup(0x55).is_empty(), "the gap between ranges has no location");
        assert_eq!(s.lookup(0x6f)[0].line, Some(9));
        assert!(s.lookup(0x70).is_empty());
    }

    #[test]
    fn overlapping_ranges_keep_the_first_pushed() {
        let mut b = SrcLocBuilder::default();
        b.push(0x10, 0x20, vec![frame("f", "f.c", 1)]);
        b.push(0x10, 0x30, vec![frame("g", "g.c", 2)]);
        let bytes = b.finish();
        let s = SrcLocs::parse(&bytes).unwrap();
        assert_eq!(s.lookup(0x1f)[0].function, Some("f"));
        assert_eq!(s.lookup(0x20)[0].function, Some("g"));
    }

    #[test]
    fn corrupt_sections_give_no_location_and_no_panic() {
        let mut b = SrcLocBuilder::default();
        b.push(0, 100, vec![frame("f", "f.c", 1)]);
        let bytes = b.finish();
        for cut in 0..bytes.len() {
            if let Ok(s) = SrcLocs::parse(&bytes[..cut]) {
                let _ = s.lookup(50);
            }
        }
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0xff;
            if let Ok(s) = SrcLocs::parse(&bad) {
                let _ = s.lookup(50);
            }
        }
        assert!(SrcLocs::parse(&[]).unwrap().lookup(0).is_empty());
    }
}
