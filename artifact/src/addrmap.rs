//! `.kiln.addrmap`: map from text offsets to wasm byte offsets, for trap
//! locations and backtraces. Not touched on the load path.
//!
//! ```text
//! ┌───────────┬─────────────────────────────────┬────────────────────────────┐
//! │ count: u32│ text offsets: [u32; count] sorted│ wasm offsets: [u32; count] │
//! └───────────┴─────────────────────────────────┴────────────────────────────┘
//!   little-endian. Entry i covers text from offsets[i] up to offsets[i+1].
//! ```

use crate::{read_u32, DecodeError};
use alloc::vec::Vec;

/// Collects (text offset, wasm offset) pairs and encodes the section.
#[derive(Default, Debug)]
pub struct AddrMapBuilder {
    entries: Vec<(u32, u32)>,
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
        let mut out = Vec::with_capacity(4 + dedup.len() * 8);
        out.extend_from_slice(&(dedup.len() as u32).to_le_bytes());
        for (t, _) in &dedup {
            out.extend_from_slice(&t.to_le_bytes());
        }
        for (_, w) in &dedup {
            out.extend_from_slice(&w.to_le_bytes());
        }
        out
    }
}

/// A validated view of the section.
#[derive(Clone, Copy, Debug)]
pub struct AddrMap<'a> {
    bytes: &'a [u8],
    len: usize,
}

impl<'a> AddrMap<'a> {
    /// Check the section's framing.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        const S: &str = crate::sections::ADDRMAP;
        let n = read_u32(S, bytes, 0)? as usize;
        if n.checked_mul(8).and_then(|x| x.checked_add(4)) != Some(bytes.len()) {
            return Err(DecodeError::new(S, alloc::format!("{n} entries do not fit {} bytes", bytes.len())));
        }
        Ok(AddrMap { bytes, len: n })
    }

    fn text(&self, i: usize) -> u32 {
        let b = &self.bytes[4 + 4 * i..8 + 4 * i];
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }

    fn wasm(&self, i: usize) -> u32 {
        let at = 4 + 4 * self.len + 4 * i;
        let b = &self.bytes[at..at + 4];
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }

    /// The wasm offset of the code at `text_offset`: the entry with the
    /// greatest text offset not above it.
    pub fn lookup(&self, text_offset: u32) -> Option<u32> {
        let (mut lo, mut hi) = (0usize, self.len);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.text(mid) <= text_offset {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        if lo == 0 {
            None
        } else {
            Some(self.wasm(lo - 1))
        }
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
}
