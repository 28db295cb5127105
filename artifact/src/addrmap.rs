//! `.kiln.addrmap`: map from text offsets to wasm byte offsets, for trap
//! locations and backtraces. Not touched on the load path beyond an O(1)
//! framing check; copied with the text when an artifact is loaded from
//! bytes given at run time, so it is kept small.
//!
//! Entries are sorted by text offset and grouped in blocks of
//! [`BLOCK_LEN`]. A sparse index gives each block's first entry in full
//! and where the rest of the block starts in the stream; the rest are
//! deltas from the entry before, as LEB128 varints (text delta unsigned,
//! wasm delta zigzag-signed: code moves back and forth through the wasm
//! body), about two bytes per entry instead of eight.
//!
//! ```text
//! ┌───────────┬────────────┬──────────────────────────────┬─────────────────────┐
//! │ count: u32│ blocks: u32│ index: [Block; blocks]       │ stream: [u8]        │
//! └───────────┴────────────┴──────────────────────────────┴─────────────────────┘
//!   Block = ┌────────────────┬────────────────┬───────────────────────┐
//!           │ text: u32      │ wasm: u32      │ stream position: u32  │ (its first entry;
//!           └────────────────┴────────────────┴───────────────────────┘  where its deltas start)
//!   stream, per entry after a block's first: varint(text − previous text),
//!                                            varint(zigzag(wasm − previous wasm))
//!   little-endian. blocks = ceil(count / BLOCK_LEN). Entry i covers text
//!   from its offset up to the next entry's.
//! ```
//!
//! Lookups check every read: a corrupt section gives wrong or missing
//! locations, never a read outside it.

use crate::DecodeError;
use alloc::vec::Vec;

/// Entries per block of the index: a lookup decodes at most this many
/// deltas.
pub const BLOCK_LEN: usize = 64;

const HEADER: usize = 8;
const BLOCK_SIZE: usize = 12;

/// Collects (text offset, wasm offset) pairs and encodes the section.
#[derive(Default, Debug)]
pub struct AddrMapBuilder {
    entries: Vec<(u32, u32)>,
}

pub(crate) fn write_varint(out: &mut Vec<u8>, mut v: u32) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Read a varint at `*at`, advancing it; `None` if truncated or longer than
/// a u32.
#[inline]
pub(crate) fn read_varint(bytes: &[u8], at: &mut usize) -> Option<u32> {
    // Most values fit one byte.
    match bytes.get(*at) {
        Some(&b) if b < 0x80 => {
            *at += 1;
            Some(b as u32)
        }
        _ => read_long_varint(bytes, at),
    }
}

fn read_long_varint(bytes: &[u8], at: &mut usize) -> Option<u32> {
    let mut v = 0u32;
    for shift in [0, 7, 14, 21, 28] {
        let b = *bytes.get(*at)?;
        *at += 1;
        v |= ((b & 0x7f) as u32) << shift;
        if b & 0x80 == 0 {
            return (shift < 28 || b < 0x10).then_some(v);
        }
    }
    None
}

impl AddrMapBuilder {
    /// Record that the code at `text_offset` came from `wasm_offset`.
    pub fn push(&mut self, text_offset: u32, wasm_offset: u32) {
        self.entries.push((text_offset, wasm_offset));
    }

    /// Encode the section.
    pub fn finish(mut self) -> Vec<u8> {
        self.entries.sort_by_key(|&(t, _)| t);
        // Keep the last wasm offset recorded for a text offset.
        let mut dedup: Vec<(u32, u32)> = Vec::with_capacity(self.entries.len());
        for e in self.entries {
            match dedup.last_mut() {
                Some(last) if last.0 == e.0 => *last = e,
                Some(last) if last.1 == e.1 => {}
                _ => dedup.push(e),
            }
        }
        let blocks = dedup.len().div_ceil(BLOCK_LEN);
        let mut index = Vec::with_capacity(HEADER + blocks * BLOCK_SIZE);
        index.extend_from_slice(&(dedup.len() as u32).to_le_bytes());
        index.extend_from_slice(&(blocks as u32).to_le_bytes());
        let mut stream = Vec::with_capacity(dedup.len() * 2);
        for block in dedup.chunks(BLOCK_LEN) {
            let (t0, w0) = block[0];
            index.extend_from_slice(&t0.to_le_bytes());
            index.extend_from_slice(&w0.to_le_bytes());
            index.extend_from_slice(&(stream.len() as u32).to_le_bytes());
            for w in block.windows(2) {
                write_varint(&mut stream, w[1].0 - w[0].0);
                let d = w[1].1.wrapping_sub(w[0].1) as i32;
                write_varint(&mut stream, ((d << 1) ^ (d >> 31)) as u32);
            }
        }
        index.extend_from_slice(&stream);
        index
    }
}

/// A view of the section whose framing was checked.
#[derive(Clone, Copy, Debug)]
pub struct AddrMap<'a> {
    index: &'a [u8],
    stream: &'a [u8],
    len: usize,
}

impl<'a> AddrMap<'a> {
    /// Check the section's framing: O(1), so loading stays independent of
    /// the code size.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        // Each entry after a block's first takes at least two bytes.
        let (index, stream, len) = crate::blocked_framing(
            crate::sections::ADDRMAP,
            bytes,
            (BLOCK_LEN, BLOCK_SIZE),
            "entries",
            |len, blocks| 2 * (len - blocks),
        )?;
        Ok(AddrMap { index, stream, len })
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn block(&self, i: usize) -> (u32, u32, usize) {
        let f = |k: usize| {
            let b = &self.index[i * BLOCK_SIZE + 4 * k..i * BLOCK_SIZE + 4 * k + 4];
            u32::from_le_bytes([b[0], b[1], b[2], b[3]])
        };
        (f(0), f(1), f(2) as usize)
    }

    fn blocks(&self) -> usize {
        self.index.len() / BLOCK_SIZE
    }

    /// Decode block `i`, calling `f(text, wasm)` for each entry until it
    /// returns false. `None` if the block is corrupt.
    fn walk_block(&self, i: usize, mut f: impl FnMut(u32, u32) -> bool) -> Option<()> {
        let (mut text, mut wasm, mut at) = self.block(i);
        let n = (self.len - i * BLOCK_LEN).min(BLOCK_LEN);
        if !f(text, wasm) {
            return Some(());
        }
        for _ in 1..n {
            text = text.checked_add(read_varint(self.stream, &mut at)?)?;
            let z = read_varint(self.stream, &mut at)?;
            wasm = wasm.wrapping_add(((z >> 1) as i32 ^ -((z & 1) as i32)) as u32);
            if !f(text, wasm) {
                break;
            }
        }
        Some(())
    }

    /// Every entry, `(text offset, wasm offset)` in text order, until a
    /// corrupt block (for tools that translate the whole map, such as the
    /// native debug info of a module).
    pub fn for_each(&self, mut f: impl FnMut(u32, u32)) {
        for i in 0..self.blocks() {
            if self
                .walk_block(i, |t, w| {
                    f(t, w);
                    true
                })
                .is_none()
            {
                return;
            }
        }
    }

    /// The wasm offset of the code at `text_offset`: the entry with the
    /// greatest text offset not above it. `None` before the first entry or
    /// if the section is corrupt there.
    pub fn lookup(&self, text_offset: u32) -> Option<u32> {
        self.lookup_entry(text_offset).map(|(_, wasm)| wasm)
    }

    /// The entry [`lookup`](Self::lookup) uses for `text_offset`, as `(text
    /// offset, wasm offset)`: callers that know where the function holding
    /// `text_offset` starts can refuse an entry of an earlier function.
    pub fn lookup_entry(&self, text_offset: u32) -> Option<(u32, u32)> {
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
        self.walk_block(lo.checked_sub(1)?, |t, w| {
            if t > text_offset {
                return false;
            }
            found = Some((t, w));
            true
        })?;
        found
    }

    /// All entries in order, as `(text offset, wasm offset)`; stops early
    /// at a corrupt block.
    pub fn entries(&self) -> Vec<(u32, u32)> {
        let mut out = Vec::with_capacity(self.len);
        for i in 0..self.blocks() {
            if self
                .walk_block(i, |t, w| {
                    out.push((t, w));
                    true
                })
                .is_none()
            {
                break;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut b = AddrMapBuilder::default();
        b.push(10, 100);
        b.push(0, 50);
        b.push(20, 120);
        let bytes = b.finish();
        let m = AddrMap::parse(&bytes).unwrap();
        assert_eq!(m.lookup(0), Some(50));
        assert_eq!(m.lookup(9), Some(50));
        assert_eq!(m.lookup(10), Some(100));
        assert_eq!(m.lookup(1000), Some(120));
        assert!(AddrMap::parse(&bytes[..5]).is_err());
    }

    /// Many blocks, wasm offsets going back and forth, large deltas.
    #[test]
    fn round_trip_many_blocks() {
        let mut b = AddrMapBuilder::default();
        let mut want = Vec::new();
        let (mut t, mut w) = (3u32, 1000u32);
        for i in 0..1000u32 {
            want.push((t, w));
            b.push(t, w);
            t += 1 + (i * 7919) % 300 + if i % 97 == 0 { 1 << 20 } else { 0 };
            w = if i % 2 == 0 { w + 40 + i % 5 } else { w - 17 } + if i % 101 == 0 { 1 << 25 } else { 0 };
        }
        let bytes = b.finish();
        assert!(bytes.len() < want.len() * 4, "{} bytes for {} entries", bytes.len(), want.len());
        let m = AddrMap::parse(&bytes).unwrap();
        assert_eq!(m.len(), want.len());
        assert_eq!(m.entries(), want);
        assert_eq!(m.lookup(2), None);
        for (i, &(t, w)) in want.iter().enumerate() {
            assert_eq!(m.lookup(t), Some(w));
            if let Some(&(next, _)) = want.get(i + 1) {
                assert_eq!(m.lookup(next - 1), Some(w));
            }
        }
        assert_eq!(m.lookup(u32::MAX), Some(want.last().unwrap().1));
    }

    #[test]
    fn empty() {
        let bytes = AddrMapBuilder::default().finish();
        let m = AddrMap::parse(&bytes).unwrap();
        assert!(m.is_empty());
        assert_eq!(m.lookup(0), None);
        assert!(m.entries().is_empty());
    }

    /// Every byte flipped and every truncation: parse fails or lookups
    /// answer something, never panic.
    #[test]
    fn corruption_never_panics() {
        let mut b = AddrMapBuilder::default();
        for i in 0..200u32 {
            b.push(i * 5, 1000 + (i * 13) % 77);
        }
        let good = b.finish();
        let probe = |bytes: &[u8]| {
            if let Ok(m) = AddrMap::parse(bytes) {
                for off in (0..1100).step_by(7) {
                    let _ = m.lookup(off);
                }
                let _ = m.entries();
            }
        };
        crate::for_each_corruption(&good, probe);
    }

    #[test]
    fn varints() {
        for v in [0, 1, 127, 128, 300, 1 << 21, u32::MAX] {
            let mut out = Vec::new();
            write_varint(&mut out, v);
            let mut at = 0;
            assert_eq!(read_varint(&out, &mut at), Some(v));
            assert_eq!(at, out.len());
            assert_eq!(read_varint(&out[..out.len() - 1], &mut 0), None);
        }
        // Six bytes, or a fifth byte with bits above u32: refused.
        assert_eq!(read_varint(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x00], &mut 0), None);
        assert_eq!(read_varint(&[0xff, 0xff, 0xff, 0xff, 0x1f], &mut 0), None);
    }
}
