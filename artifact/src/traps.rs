//! Trap codes and the `.kiln.traps` section.
//!
//! Every instruction of the compiled text that may trap (an explicit trap,
//! a guarded memory access, a division, a stack-limit check…) is a *trap
//! site*. The section lists them sorted by text offset so the signal handler
//! can binary-search the faulting PC without locks or allocation.
//!
//! ```text
//! ┌───────────┬──────────────────────────────┬───────────────────────┐
//! │ count: u32│ offsets: [u32; count] sorted │ codes: [u8; count]    │
//! └───────────┴──────────────────────────────┴───────────────────────┘
//!   little-endian; offsets are from the start of `.text`;
//!   codes are `TrapCode as u8`.
//! ```
//!
//! Writer: `kiln-build` (`emit::sections`) via [`TrapTableBuilder`].
//! Reader: the runtime's signal handler via [`TrapTable::lookup`].

use crate::{read_u32, DecodeError};
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
}

impl fmt::Display for TrapCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

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
        let mut out = Vec::with_capacity(4 + n * 5);
        out.extend_from_slice(&(n as u32).to_le_bytes());
        for (o, _) in &self.sites {
            out.extend_from_slice(&o.to_le_bytes());
        }
        out.extend(self.sites.iter().map(|&(_, c)| c as u8));
        out
    }
}

/// A validated view of the section. Lookups neither lock nor allocate, so
/// the signal handler can use them.
#[derive(Clone, Copy, Debug)]
pub struct TrapTable<'a> {
    offsets: &'a [u8],
    codes: &'a [u8],
}

impl<'a> TrapTable<'a> {
    /// Check the section's framing: O(1), so loading stays independent of
    /// the code size. The contents are checked where they are used: an
    /// unknown code is no trap site, and lookups are bounds-checked binary
    /// searches, so a corrupt table can only miss sites — it can never make
    /// a lookup read outside the section.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        const S: &str = crate::sections::TRAPS;
        let n = read_u32(S, bytes, 0)? as usize;
        let need = n.checked_mul(5).and_then(|x| x.checked_add(4));
        if need != Some(bytes.len()) {
            return Err(DecodeError::new(
                S,
                alloc::format!("{n} trap sites need {} bytes, the section has {}", 4 + 5 * n as u64, bytes.len()),
            ));
        }
        Ok(TrapTable { offsets: &bytes[4..4 + 4 * n], codes: &bytes[4 + 4 * n..] })
    }

    /// Whether every code is known and the offsets strictly increase: what
    /// the compiler writes. Not needed for safety (see [`TrapTable::parse`]);
    /// for tools and tests.
    pub fn is_well_formed(&self) -> bool {
        self.codes.iter().all(|&c| TrapCode::from_u8(c).is_some())
            && (1..self.len()).all(|i| self.offset(i - 1) < self.offset(i))
    }

    /// Number of trap sites.
    pub fn len(&self) -> usize {
        self.codes.len()
    }

    /// Whether there are no trap sites.
    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    #[inline]
    fn offset(&self, i: usize) -> u32 {
        let b = &self.offsets[i * 4..i * 4 + 4];
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }

    /// The trap code at exactly `text_offset`, if it is a trap site.
    #[inline]
    pub fn lookup(&self, text_offset: u32) -> Option<TrapCode> {
        let (mut lo, mut hi) = (0usize, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let o = self.offset(mid);
            if o == text_offset {
                return TrapCode::from_u8(self.codes[mid]);
            } else if o < text_offset {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        None
    }

    /// All sites, in order.
    pub fn iter(&self) -> impl Iterator<Item = (u32, TrapCode)> + '_ {
        (0..self.len()).filter_map(move |i| Some((self.offset(i), TrapCode::from_u8(self.codes[i])?)))
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

    #[test]
    fn codes_round_trip() {
        for &c in TrapCode::ALL {
            assert_eq!(TrapCode::from_u8(c as u8), Some(c));
        }
    }
}
