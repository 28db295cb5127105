//! [`LoadedCode`]: an artifact's bytes, the memory its text runs from, and
//! its registration with the trap handler, owned together so the
//! registration can never outlive what it points to.

use crate::vm::code_memory::CodeMemory;
use crate::vm::code_registry::{self, Registration};
use std::ops::Range;

/// Where the artifact bytes live.
pub enum ArtifactBytes {
    /// Embedded in the binary.
    Static(&'static [u8]),
    /// Copied from bytes given at run time.
    Owned(Box<[u8]>),
}

impl ArtifactBytes {
    /// The bytes.
    pub fn get(&self) -> &[u8] {
        match self {
            ArtifactBytes::Static(b) => b,
            ArtifactBytes::Owned(b) => b,
        }
    }
}

/// Code ready to run, registered for trap handling.
pub struct LoadedCode {
    // Field order is drop order: unregister before freeing code and bytes.
    _registration: Registration,
    code: CodeMemory,
    bytes: ArtifactBytes,
}

impl LoadedCode {
    /// Make `text` (a range of `bytes`) runnable and register it with its
    /// trap table (`traps`, a range of `bytes` already validated by
    /// `TrapTable::parse`). With `in_place`, `bytes` must be static bytes in
    /// the binary's executable section (the macro's placement); the text
    /// then runs where it lies.
    pub fn new(
        bytes: ArtifactBytes,
        in_place: bool,
        text: Range<usize>,
        traps: Range<usize>,
    ) -> std::io::Result<LoadedCode> {
        let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, "section out of range");
        let code = match (&bytes, in_place) {
            (ArtifactBytes::Static(all), true) => CodeMemory::in_place(all.get(text).ok_or_else(bad)?),
            (b, _) => CodeMemory::copied(b.get().get(text).ok_or_else(bad)?)?,
        };
        let trap_bytes = bytes.get().get(traps).ok_or_else(bad)?;
        // SAFETY: the trap bytes live in `bytes` and the text in `code`;
        // both are owned by the returned value and dropped after the
        // registration (field order), and neither moves: `bytes` is static
        // or a boxed slice whose heap buffer stays put when `bytes` moves.
        let registration = unsafe { code_registry::register(code.text_ptr() as usize, code.text_len(), trap_bytes) };
        Ok(LoadedCode { _registration: registration, code, bytes })
    }

    /// The artifact bytes.
    pub fn bytes(&self) -> &[u8] {
        self.bytes.get()
    }

    /// The code.
    pub fn code(&self) -> &CodeMemory {
        &self.code
    }
}
