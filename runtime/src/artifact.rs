//! [`Artifact`]: the bytes of a compiled module, as the macro embeds them or
//! as read at run time.

/// The compiled form of a WebAssembly module: an ELF image produced by
/// `kiln-build` (through [`include_wasm!`](crate::include_wasm) or
/// `kiln compile`). Create a [`Module`](crate::Module) from it to run it.
#[derive(Debug, Clone, Copy)]
pub struct Artifact {
    pub(crate) bytes: &'static [u8],
    /// The bytes sit in the binary's own executable section (placed there by
    /// the macro), so the code can run where it lies.
    pub(crate) in_place: bool,
    /// Set by the constructors for bytes from outside the executable: the
    /// checksum test loading runs first. A function pointer rather than a
    /// flag, so that a program embedding all its artifacts links no
    /// checksum code or tables.
    pub(crate) check: Option<crate::module::Check>,
}

impl Artifact {
    /// Artifact bytes placed by `include_wasm!` in an executable link
    /// section. Not public API: the macro is the only caller, and it
    /// guarantees the section is mapped read+execute and the bytes are
    /// aligned to at least 16.
    #[doc(hidden)]
    pub const fn __embedded_in_text(bytes: &'static [u8]) -> Artifact {
        Artifact { bytes, in_place: true, check: None }
    }

    /// Artifact bytes the macro embedded as data, where the target has no
    /// executable section for them. Not public API: only the macro calls
    /// it, with bytes its own compiler wrote into the executable: as
    /// trusted, and as intact, as the code around them.
    #[doc(hidden)]
    pub const fn __embedded_in_data(bytes: &'static [u8]) -> Artifact {
        Artifact { bytes, in_place: false, check: None }
    }

    /// Artifact bytes in ordinary (non-executable) memory, e.g. read from
    /// a file and leaked. Loading copies the code into fresh executable
    /// memory, after checking every byte against the artifact's checksum.
    ///
    /// # Safety
    ///
    /// As for [`Module::from_bytes`](crate::Module::from_bytes): the bytes
    /// must have been written by kiln's compiler (damage is detected,
    /// crafting is not).
    #[allow(unsafe_code)] // the contract above; the body is safe code
    pub const unsafe fn from_static_bytes(bytes: &'static [u8]) -> Artifact {
        Artifact { bytes, in_place: false, check: Some(crate::module::verified) }
    }

    /// The bytes of the ELF image.
    pub fn bytes(&self) -> &'static [u8] {
        self.bytes
    }

    /// Whether the code runs in place from the binary's executable section.
    pub fn is_in_place(&self) -> bool {
        self.in_place
    }
}
