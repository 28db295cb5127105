//! The `.kiln.exceptions` section: for each call that sits inside a
//! `try_table` (or a legacy `try`), where its frame is and which handlers
//! it has.
//!
//! Compiled code makes such calls with Cranelift's `try_call`. When an
//! exception is thrown, the runtime walks the frame-pointer chain; at each
//! wasm frame it looks up the return address here. A hit gives:
//!
//! * the frame's stack pointer at the call: `fp − frame_offset`;
//! * the caller's VMContext, spilled at `sp + context_offset`, which says in
//!   which instance the handlers' tag indices are to be resolved;
//! * the handlers, in order: a module tag index and the text offset of its
//!   landing pad, or [`CATCH_ALL`] and its landing pad. The first whose tag
//!   is the thrown tag (by identity, after resolving imports) or that
//!   catches all wins.
//!
//! ```text
//! ┌───────────┬──────────────────────────────────────────────────────────┬─────────────────┬──────────────────────────────┐
//! │ sites: u32│ [(ret: u32, frame_offset: u32, context_offset: u32,       │ handlers: u32   │ [(tag: u32, landing: u32)]   │
//! │           │   first_handler: u32); sites]  sorted by ret              │                 │                              │
//! └───────────┴──────────────────────────────────────────────────────────┴─────────────────┴──────────────────────────────┘
//! ```
//!
//! Little-endian; offsets from the start of `.text`; a site's handlers run
//! from its `first_handler` to the next site's (or the end).
//!
//! Writer: `kiln-build` (`emit::sections`) via [`ExceptionTableBuilder`].
//! Reader: the runtime's unwinder via [`ExceptionTable::lookup`].

use crate::DecodeError;
use alloc::vec::Vec;

/// The tag of a handler that catches every exception.
pub const CATCH_ALL: u32 = u32::MAX;

/// One call site with handlers, as the compiler reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallSite {
    /// Text offset of the call's return address.
    pub ret: u32,
    /// Distance from the frame pointer down to the stack pointer at the call.
    pub frame_offset: u32,
    /// Where the caller's VMContext is spilled, from the stack pointer at
    /// the call.
    pub context_offset: u32,
    /// `(tag index or CATCH_ALL, text offset of the landing pad)`, in order.
    pub handlers: Vec<(u32, u32)>,
}

/// Collects call sites in any order and encodes the section.
#[derive(Debug, Default)]
pub struct ExceptionTableBuilder {
    sites: Vec<CallSite>,
}

impl ExceptionTableBuilder {
    /// Add a call site (offsets already relative to `.text`).
    pub fn push(&mut self, site: CallSite) {
        self.sites.push(site);
    }

    /// Whether no call site was added (the section is then left out).
    pub fn is_empty(&self) -> bool {
        self.sites.is_empty()
    }

    /// Encode the section.
    pub fn finish(mut self) -> Vec<u8> {
        self.sites.sort_by_key(|s| s.ret);
        let handlers: usize = self.sites.iter().map(|s| s.handlers.len()).sum();
        let mut out = Vec::with_capacity(8 + self.sites.len() * SITE + handlers * HANDLER);
        out.extend_from_slice(&(self.sites.len() as u32).to_le_bytes());
        let mut first = 0u32;
        for s in &self.sites {
            for v in [s.ret, s.frame_offset, s.context_offset, first] {
                out.extend_from_slice(&v.to_le_bytes());
            }
            first += s.handlers.len() as u32;
        }
        out.extend_from_slice(&first.to_le_bytes());
        for s in &self.sites {
            for &(tag, landing) in &s.handlers {
                out.extend_from_slice(&tag.to_le_bytes());
                out.extend_from_slice(&landing.to_le_bytes());
            }
        }
        out
    }
}

const SITE: usize = 16;
const HANDLER: usize = 8;

/// A view of the section whose framing was checked.
#[derive(Debug, Clone, Copy)]
pub struct ExceptionTable<'a> {
    sites: &'a [u8],
    handlers: &'a [u8],
}

/// A call site found by [`ExceptionTable::lookup`].
#[derive(Debug, Clone, Copy)]
pub struct Site<'a> {
    /// Distance from the frame pointer down to the stack pointer at the call.
    pub frame_offset: u32,
    /// Where the caller's VMContext is spilled, from that stack pointer.
    pub context_offset: u32,
    handlers: &'a [u8],
}

impl<'a> Site<'a> {
    /// `(tag index or CATCH_ALL, landing pad text offset)`, in match order.
    pub fn handlers(&self) -> impl Iterator<Item = (u32, u32)> + 'a {
        self.handlers.chunks_exact(HANDLER).map(|h| (word(h, 0), word(h, 4)))
    }
}

fn word(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

impl<'a> ExceptionTable<'a> {
    /// A table without call sites (the section is absent).
    pub const EMPTY: ExceptionTable<'static> = ExceptionTable { sites: &[], handlers: &[] };

    /// Check the framing: the counts match the section's length.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        if bytes.is_empty() {
            return Ok(ExceptionTable { sites: &[], handlers: &[] });
        }
        let bad = |why: &str| DecodeError::new(crate::sections::EXCEPTIONS, why);
        if bytes.len() < 4 {
            return Err(bad("shorter than its header"));
        }
        let n = word(bytes, 0) as usize;
        let sites_end = n.checked_mul(SITE).and_then(|s| s.checked_add(4)).ok_or_else(|| bad("site count"))?;
        if bytes.len() < sites_end + 4 {
            return Err(bad("site count beyond the section"));
        }
        let h = word(bytes, sites_end) as usize;
        let end =
            h.checked_mul(HANDLER).and_then(|x| x.checked_add(sites_end + 4)).ok_or_else(|| bad("handler count"))?;
        if end != bytes.len() {
            return Err(bad("handler count does not match the section's length"));
        }
        Ok(ExceptionTable { sites: &bytes[4..sites_end], handlers: &bytes[sites_end + 4..] })
    }

    /// The call site whose return address is text offset `ret`, if it has
    /// handlers. A corrupt table can only miss a site or give a handler
    /// range that is empty: every read is bounds-checked.
    pub fn lookup(&self, ret: u32) -> Option<Site<'a>> {
        let n = self.sites.len() / SITE;
        let at = |i: usize| &self.sites[i * SITE..(i + 1) * SITE];
        let (mut lo, mut hi) = (0, n);
        while lo < hi {
            let mid = (lo + hi) / 2;
            match word(at(mid), 0).cmp(&ret) {
                core::cmp::Ordering::Less => lo = mid + 1,
                core::cmp::Ordering::Greater => hi = mid,
                core::cmp::Ordering::Equal => {
                    let s = at(mid);
                    let first = word(s, 12) as usize;
                    let next = if mid + 1 < n { word(at(mid + 1), 12) as usize } else { self.handlers.len() / HANDLER };
                    let handlers = self.handlers.get(first * HANDLER..next.max(first) * HANDLER).unwrap_or(&[]);
                    return Some(Site { frame_offset: word(s, 4), context_offset: word(s, 8), handlers });
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn round_trip() {
        let mut b = ExceptionTableBuilder::default();
        b.push(CallSite {
            ret: 0x40,
            frame_offset: 32,
            context_offset: 8,
            handlers: vec![(1, 0x80), (CATCH_ALL, 0x90)],
        });
        b.push(CallSite { ret: 0x10, frame_offset: 16, context_offset: 0, handlers: vec![(0, 0x20)] });
        let bytes = b.finish();
        let t = ExceptionTable::parse(&bytes).unwrap();
        let s = t.lookup(0x40).unwrap();
        assert_eq!((s.frame_offset, s.context_offset), (32, 8));
        assert_eq!(s.handlers().collect::<Vec<_>>(), [(1, 0x80), (CATCH_ALL, 0x90)]);
        assert_eq!(t.lookup(0x10).unwrap().handlers().collect::<Vec<_>>(), [(0, 0x20)]);
        assert!(t.lookup(0x11).is_none());
        assert!(ExceptionTable::parse(&bytes[..bytes.len() - 1]).is_err());
        assert!(ExceptionTable::parse(&[]).unwrap().lookup(0).is_none());
    }
}
