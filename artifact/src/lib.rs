//! The kiln artifact format: the one place where the compiler (`kiln-build`)
//! and the runtime (`kiln`) agree on what an artifact is.
//!
//! An artifact is an ELF image for the target's machine. The compiled code is
//! its `.text`; everything the runtime needs to use that code lives in
//! `.kiln.*` sections described in [`sections`]. Both sides use the types of
//! this crate, so writer and reader cannot drift: a change to a type here is a
//! change of the format and bumps [`FORMAT_VERSION`].
//!
//! | module | holds |
//! |---|---|
//! | [`sections`] | section names, the ELF OS/ABI value and e_flags bit |
//! | [`engine`] | `.kiln.engine`: the compatibility header and its fixed prefix |
//! | [`info`] | `.kiln.info`: the module (types, imports, exports, functions…) |
//! | [`types`] | wasm value, function, memory, table and global types |
//! | [`index`] | typed indices: `FuncIndex`, `DefinedFuncIndex`, … |
//! | [`traps`] | `TrapCode` and the `.kiln.traps` table |
//! | [`addrmap`] | `.kiln.addrmap`: text offset → wasm offset |
//! | [`exceptions`] | `.kiln.exceptions`: the handlers of each call site inside a `try` |
//! | [`vmctx`] | `VMOffsets`: the VMContext layout compiled code relies on |
//! | [`builtins`] | the one list of runtime builtins compiled code may call |
//! | [`cpu`] | the CPU features an artifact may record, and (feature `std`) detection |
//! | [`integrity`] | the checksum trailer that makes damage detectable |
//!
//! The order of checks when loading (bytes not embedded by `include_wasm!`
//! first pass [`integrity::verify`]): ELF header (magic, class, machine,
//! OS/ABI, flag bit) → section table → `.kiln.engine` fixed prefix (format
//! version, kiln version) → the rest of `.kiln.engine` topic by topic →
//! `.kiln.info` → code.

#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;

pub mod addrmap;
pub mod builtins;
pub mod cpu;
pub mod engine;
pub mod exceptions;
pub mod index;
pub mod info;
pub mod integrity;
pub mod sections;
pub mod srclocs;
pub mod traps;
pub mod types;
pub mod vmctx;

/// Version of the artifact format. Bump on any change to a type or layout of
/// this crate; the loader refuses artifacts of another version.
pub const FORMAT_VERSION: u8 = 14;

/// The version of kiln that wrote (or reads) an artifact. The macro and the
/// runtime pin each other's exact version, and the loader checks this too.
pub const KILN_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The size of a wasm page.
pub const WASM_PAGE_SIZE: u64 = 0x1_0000;

/// Error decoding a binary section of the format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// The section that failed to decode.
    pub section: &'static str,
    /// What was wrong.
    pub reason: alloc::string::String,
}

impl core::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "section `{}` is malformed: {}", self.section, self.reason)
    }
}

impl DecodeError {
    #[cold]
    pub(crate) fn new(section: &'static str, reason: impl Into<alloc::string::String>) -> Self {
        DecodeError { section, reason: reason.into() }
    }
}

/// Decode a postcard-encoded section, naming it on failure.
pub fn decode_postcard<'a, T: serde::Deserialize<'a>>(
    section: &'static str,
    bytes: &'a [u8],
) -> Result<T, DecodeError> {
    match postcard::from_bytes::<T>(bytes) {
        Ok(v) => Ok(v),
        Err(e) => Err(DecodeError::new(section, alloc::format!("{e}"))),
    }
}

/// Encode a section with postcard.
pub fn encode_postcard<T: serde::Serialize>(value: &T) -> alloc::vec::Vec<u8> {
    // Serialising plain data into a growable vector cannot fail.
    postcard::to_allocvec(value).unwrap_or_default()
}

/// The framing of a block-indexed table (`.kiln.traps`, `.kiln.addrmap`):
/// a u32 entry count, a u32 block count (one block per `block_len`
/// entries), an index of `index_entry` bytes per block, then the entries'
/// stream, of which `len` entries in `blocks` blocks take at least
/// `min_stream(len, blocks)` bytes. Checked in O(1); returns the index, the
/// stream and the entry count. `what` names the entries in errors.
pub(crate) fn blocked_framing<'a>(
    section: &'static str,
    bytes: &'a [u8],
    (block_len, index_entry): (usize, usize),
    what: &str,
    min_stream: fn(usize, usize) -> usize,
) -> Result<(&'a [u8], &'a [u8], usize), DecodeError> {
    const HEADER: usize = 8;
    let len = read_u32(section, bytes, 0)? as usize;
    let blocks = read_u32(section, bytes, 4)? as usize;
    if blocks != len.div_ceil(block_len) {
        return Err(DecodeError::new(section, alloc::format!("{blocks} index blocks for {len} {what}")));
    }
    let index_end = blocks.checked_mul(index_entry).and_then(|n| n.checked_add(HEADER));
    let Some(index_end) = index_end.filter(|&e| e <= bytes.len()) else {
        return Err(DecodeError::new(
            section,
            alloc::format!("an index of {blocks} blocks does not fit {} bytes", bytes.len()),
        ));
    };
    if bytes.len() - index_end < min_stream(len, blocks) {
        return Err(DecodeError::new(section, alloc::format!("{len} {what} do not fit {} bytes", bytes.len())));
    }
    Ok((&bytes[HEADER..index_end], &bytes[index_end..], len))
}

/// Run `probe` on every one-byte corruption (each byte inverted) and every
/// truncation of `good`, for tests that decoders never panic.
#[cfg(test)]
pub(crate) fn for_each_corruption(good: &[u8], mut probe: impl FnMut(&[u8])) {
    for i in 0..good.len() {
        let mut bytes = good.to_vec();
        bytes[i] ^= 0xff;
        probe(&bytes);
        probe(&good[..i]);
    }
}

/// Read a little-endian u32 at `at`, naming the section on failure.
pub(crate) fn read_u32(section: &'static str, bytes: &[u8], at: usize) -> Result<u32, DecodeError> {
    match bytes.get(at..at + 4) {
        Some(b) => Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        None => Err(DecodeError::new(
            section,
            alloc::format!("truncated: need 4 bytes at offset {at}, have {}", bytes.len()),
        )),
    }
}
