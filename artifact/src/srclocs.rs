//! `.kiln.srclocs`: map from wasm byte offsets to source locations, read
//! from the module's DWARF at build time, for backtraces that name the
//! source file and line of each frame (and of the functions inlined into
//! it). Empty unless the module carries DWARF and the build asks for it.
//! Never read on the load path beyond an O(1) framing check.
//!
//! A wasm offset maps to a *chain*: the source frames at that instruction,
//! innermost (the code inlined deepest) first, the function the wasm
//! function was compiled from last. Chains are stored as a tree of
//! frames, each pointing to the frame it was inlined into, so the many
//! chains that end in the same callers share them; a range names the
//! innermost frame of its chain. Indices, lines and columns take as many
//! bytes as the module needs (1 to 4, in the header), so a small module
//! pays one or two bytes a field.
//!
//! ```text
//! ┌──────────────────────────────────────────────────────────────────────┐
//! │ header: ranges u32, frames u32, strings u32,                         │
//! │         widths: string u8, line u8, column u8, frame u8              │
//! ├──────────────────────────────────────────────────────────────────────┤
//! │ ranges: [(wasm offset u32, frame); ranges]   sorted by offset; runs  │
//! │                                              to the next one; frame  │
//! │                                              NONE = no location      │
//! │ frames: [(name string, file string, line, column, parent frame); …]  │
//! │         NONE = unknown or (parent) outermost; line/column 0 = unknown│
//! │ string ends: [u32; strings]                  into the string bytes   │
//! │ string bytes: [u8]                           UTF-8                   │
//! └──────────────────────────────────────────────────────────────────────┘
//! ```
//!
//! Little-endian; NONE is the all-ones value of its field's width. Lookups
//! check every read and stop after [`MAX_DEPTH`] frames: a corrupt section
//! gives wrong or missing locations, never a read outside it or a loop.

use crate::DecodeError;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

const HEADER: usize = 16;

/// The most frames a chain yields (a corrupt section could make a cycle).
pub const MAX_DEPTH: usize = 64;

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
    /// (name, file, line, column, parent) → frame id.
    frame_ids: BTreeMap<(u32, u32, u32, u32, u32), u32>,
    frames: Vec<[u32; 5]>,
    string_ids: BTreeMap<String, u32>,
    strings: Vec<String>,
}

/// The all-ones value of a `width`-byte field.
fn none(width: u8) -> u32 {
    if width >= 4 {
        u32::MAX
    } else {
        (1u32 << (8 * width)) - 1
    }
}

/// The fewest bytes (1–4) that hold every value below `limit`, with the
/// all-ones value left free for NONE if `sentinel`.
fn width(max: u32, sentinel: bool) -> u8 {
    (1..4).find(|&w| if sentinel { max < none(w) } else { max <= none(w) }).unwrap_or(4)
}

fn put(out: &mut Vec<u8>, v: u32, width: u8) {
    out.extend_from_slice(&v.to_le_bytes()[..width as usize]);
}

impl SrcLocBuilder {
    fn string(&mut self, s: &Option<String>) -> u32 {
        let Some(s) = s else { return u32::MAX };
        if let Some(&id) = self.string_ids.get(s) {
            return id;
        }
        let id = self.strings.len() as u32;
        self.strings.push(s.clone());
        self.string_ids.insert(s.clone(), id);
        id
    }

    /// Record that the wasm bytes `start..end` come from `chain` (innermost
    /// first). Ranges may come in any order; where two overlap, the one
    /// pushed first wins.
    pub fn push(&mut self, start: u32, end: u32, chain: Vec<SourceFrame>) {
        if start >= end || chain.is_empty() {
            return;
        }
        let mut parent = u32::MAX;
        for f in chain.iter().take(MAX_DEPTH).rev() {
            let key = (self.string(&f.function), self.string(&f.file), f.line, f.column, parent);
            let next = self.frames.len() as u32;
            parent = *self.frame_ids.entry(key).or_insert(next);
            if parent == next {
                self.frames.push([key.0, key.1, key.2, key.3, key.4]);
            }
        }
        self.ranges.push((start, end, parent));
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
        for &(start, end, frame) in &self.ranges {
            if end <= covered {
                continue;
            }
            let start = start.max(covered);
            if flat.last().is_some_and(|&(_, f)| f == frame) && covered == start {
                covered = end;
                continue;
            }
            if covered < start && !flat.is_empty() {
                flat.push((covered, u32::MAX));
            }
            match flat.last_mut() {
                Some(last) if last.0 == start => last.1 = frame,
                _ => flat.push((start, frame)),
            }
            covered = end;
        }
        if !flat.is_empty() {
            flat.push((covered, u32::MAX));
        }

        let w_string = width(self.strings.len() as u32, true);
        let w_line = width(self.frames.iter().map(|f| f[2]).max().unwrap_or(0), false);
        let w_column = width(self.frames.iter().map(|f| f[3]).max().unwrap_or(0), false);
        let w_frame = width(self.frames.len() as u32, true);
        // u32::MAX stands for NONE while building; each field gets its
        // width's NONE.
        let narrow = |v: u32, w: u8| if v == u32::MAX { none(w) } else { v };

        let mut out = Vec::new();
        for n in [flat.len(), self.frames.len(), self.strings.len()] {
            out.extend_from_slice(&(n as u32).to_le_bytes());
        }
        out.extend_from_slice(&[w_string, w_line, w_column, w_frame]);
        for (offset, frame) in flat {
            out.extend_from_slice(&offset.to_le_bytes());
            put(&mut out, narrow(frame, w_frame), w_frame);
        }
        for f in &self.frames {
            put(&mut out, narrow(f[0], w_string), w_string);
            put(&mut out, narrow(f[1], w_string), w_string);
            put(&mut out, f[2], w_line);
            put(&mut out, f[3], w_column);
            put(&mut out, narrow(f[4], w_frame), w_frame);
        }
        let mut end = 0u32;
        for s in &self.strings {
            end += s.len() as u32;
            out.extend_from_slice(&end.to_le_bytes());
        }
        for s in &self.strings {
            out.extend_from_slice(s.as_bytes());
        }
        out
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
#[derive(Clone, Copy, Debug, Default)]
pub struct SrcLocs<'a> {
    ranges: &'a [u8],
    frames: &'a [u8],
    string_ends: &'a [u8],
    string_bytes: &'a [u8],
    /// Widths of a string index, line, column and frame index.
    widths: [u8; 4],
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

fn field_at(bytes: &[u8], at: usize, width: u8) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(width as usize)?)?;
    let mut v = [0u8; 4];
    v[..b.len()].copy_from_slice(b);
    Some(u32::from_le_bytes(v))
}

impl<'a> SrcLocs<'a> {
    /// Check the section's framing: the tables fit in it. An empty section
    /// is a module without source locations.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        let bad = |what: &str| DecodeError::new(crate::sections::SRCLOCS, what);
        if bytes.is_empty() {
            return Ok(SrcLocs::default());
        }
        let header = |i: usize| u32_at(bytes, 4 * i).map(|v| v as usize).ok_or_else(|| bad("truncated header"));
        let (ranges, frames, strings) = (header(0)?, header(1)?, header(2)?);
        let widths: [u8; 4] =
            bytes.get(12..16).and_then(|w| w.try_into().ok()).ok_or_else(|| bad("truncated header"))?;
        if widths.iter().any(|&w| !(1..=4).contains(&w)) {
            return Err(bad("field widths must be 1 to 4 bytes"));
        }
        let [w_string, w_line, w_column, w_frame] = widths.map(usize::from);
        let mut at = HEADER;
        let mut take = |len: Option<usize>, what: &str| -> Result<&'a [u8], DecodeError> {
            let end = len.and_then(|l| at.checked_add(l)).filter(|&e| e <= bytes.len()).ok_or_else(|| bad(what))?;
            let s = &bytes[at..end];
            at = end;
            Ok(s)
        };
        let ranges = take(ranges.checked_mul(4 + w_frame), "ranges run past the end")?;
        let frames = take(frames.checked_mul(2 * w_string + w_line + w_column + w_frame), "frames run past the end")?;
        let string_ends = take(strings.checked_mul(4), "strings run past the end")?;
        let string_bytes = &bytes[at..];
        Ok(SrcLocs { ranges, frames, string_ends, string_bytes, widths })
    }

    fn range_size(&self) -> usize {
        4 + self.widths[3] as usize
    }

    fn frame_size(&self) -> usize {
        let [s, l, c, f] = self.widths.map(usize::from);
        2 * s + l + c + f
    }

    /// Number of ranges (with or without a location).
    pub fn len(&self) -> usize {
        self.ranges.len() / self.range_size()
    }

    /// Whether the module has no source locations.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    fn string(&self, index: u32) -> Option<&'a str> {
        if index == none(self.widths[0]) {
            return None;
        }
        let i = index as usize;
        let start = if i == 0 { 0 } else { u32_at(self.string_ends, (i - 1) * 4)? as usize };
        let end = u32_at(self.string_ends, i.checked_mul(4)?)? as usize;
        core::str::from_utf8(self.string_bytes.get(start..end)?).ok()
    }

    /// The source frames at `wasm_offset`, innermost first; empty where
    /// the module has no location for it.
    pub fn lookup(&self, wasm_offset: u32) -> Vec<Frame<'a>> {
        self.try_lookup(wasm_offset).unwrap_or_default()
    }

    fn try_lookup(&self, wasm_offset: u32) -> Option<Vec<Frame<'a>>> {
        let [w_string, w_line, w_column, w_frame] = self.widths;
        let size = self.range_size();
        // The last range starting at or before the offset.
        let (mut lo, mut hi) = (0usize, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if u32_at(self.ranges, mid * size)? <= wasm_offset {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        let mut frame = field_at(self.ranges, lo.checked_sub(1)? * size + 4, w_frame)?;
        let mut out = Vec::new();
        while frame != none(w_frame) && out.len() < MAX_DEPTH {
            let mut at = (frame as usize).checked_mul(self.frame_size())?;
            let mut next = |w: u8| {
                let v = field_at(self.frames, at, w);
                at += w as usize;
                v
            };
            let (name, file, line, column) = (next(w_string)?, next(w_string)?, next(w_line)?, next(w_column)?);
            frame = next(w_frame)?;
            out.push(Frame {
                function: self.string(name),
                file: self.string(file),
                line: (line != 0).then_some(line),
                column: (column != 0).then_some(column),
            });
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;

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
    fn chains_share_their_callers_and_fields_are_narrow() {
        let mut b = SrcLocBuilder::default();
        let outer = frame("main", "m.rs", 40_000);
        for i in 0..300u32 {
            b.push(i * 4, i * 4 + 4, vec![frame("leaf", "l.rs", i + 1), outer.clone()]);
        }
        let bytes = b.finish();
        let s = SrcLocs::parse(&bytes).unwrap();
        let at = s.lookup(299 * 4);
        assert_eq!(at.len(), 2);
        assert_eq!((at[0].line, at[1].line, at[1].function), (Some(300), Some(40_000), Some("main")));
        // 301 frames (one shared caller): 2-byte frame indices and lines,
        // 1-byte strings and columns.
        assert_eq!(bytes[12..16], [1, 2, 1, 2]);
        assert!(bytes.len() < 301 * 8 + 301 * 6 + 64, "{}", bytes.len());
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
