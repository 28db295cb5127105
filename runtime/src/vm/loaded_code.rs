//! [`LoadedCode`]: the memory an artifact's text runs from, the metadata
//! sections the module keeps using after loading, and the code's
//! registration with the trap handler, owned together so the registration
//! can never outlive what it points to.
//!
//! What is copied depends on where the artifact bytes live:
//!
//! | bytes | text | kept metadata |
//! |---|---|---|
//! | static, in the binary's executable section | runs in place | read in place |
//! | static, ordinary memory | copied to a fresh R-X mapping | read in place |
//! | given at run time | copied to a fresh R-X mapping | copied after the text, same mapping, read-only; to the heap when small |
//!
//! Nothing else of a run-time artifact is kept: `.kiln.engine` and
//! `.kiln.info` are decoded during loading, and the symbol table is never
//! read.

use crate::vm::code_memory::CodeMemory;
use crate::vm::code_registry::{self, Registration};
use crate::vm::elf::Sections;
use std::ops::Range;

/// Where the artifact bytes live.
#[derive(Clone, Copy)]
pub enum ArtifactBytes<'a> {
    /// Embedded in the binary. With `in_place`, the bytes sit in the
    /// binary's executable section (the macro's placement), so the text
    /// runs where it lies.
    Static {
        /// The whole artifact.
        bytes: &'static [u8],
        /// Whether the text may run where it lies.
        in_place: bool,
    },
    /// Given at run time and gone once loading returns.
    Transient(&'a [u8]),
}

impl ArtifactBytes<'_> {
    /// The bytes.
    pub fn get(&self) -> &[u8] {
        match *self {
            ArtifactBytes::Static { bytes, .. } => bytes,
            ArtifactBytes::Transient(b) => b,
        }
    }
}

/// The metadata sections kept after loading, as ranges into
/// [`LoadedCode::metadata`].
#[derive(Clone, Default)]
struct Kept {
    traps: Range<usize>,
    addrmap: Range<usize>,
    exceptions: Range<usize>,
    srclocs: Range<usize>,
    data: Range<usize>,
    names: Range<usize>,
}

/// Code ready to run, registered for trap handling.
pub struct LoadedCode {
    // Field order is drop order: unregister before freeing code and bytes.
    _debugger: Option<super::gdb_jit::GdbJitRegistration>,
    _registration: Registration,
    code: CodeMemory,
    metadata: Metadata,
    kept: Kept,
}

/// What the ranges of [`Kept`] index.
enum Metadata {
    /// The static artifact.
    Static(&'static [u8]),
    /// A heap copy of the kept sections, for small ones: a heap block is
    /// usually recycled memory, while a page of fresh mapping costs a
    /// fault and a protection change.
    Heap(Box<[u8]>),
    /// The read-only tail of the code's mapping.
    CodeTail,
}

/// Kept sections up to this size are copied to the heap rather than after
/// the text.
const HEAP_METADATA_MAX: usize = 64 << 10;

fn bad() -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, "section out of range")
}

/// Where `part` lies inside `whole`, if it does.
fn offset_in(whole: &[u8], part: &[u8]) -> std::io::Result<Range<usize>> {
    let start = (part.as_ptr() as usize).checked_sub(whole.as_ptr() as usize).ok_or_else(bad)?;
    let end = start.checked_add(part.len()).filter(|&e| e <= whole.len()).ok_or_else(bad)?;
    Ok(start..end)
}

impl Metadata {
    fn bytes<'a>(&'a self, code: &'a CodeMemory) -> &'a [u8] {
        match self {
            Metadata::Static(b) => b,
            Metadata::Heap(b) => b,
            Metadata::CodeTail => code.tail(),
        }
    }
}

impl LoadedCode {
    /// Make the text of `s` runnable, keep its metadata sections (copying
    /// them only if `bytes` is transient) and register the text with its
    /// trap table, already validated by `TrapTable::parse`. The sections of
    /// `s` must be sub-slices of `bytes`.
    ///
    /// `landing_pads`: the text was compiled with aarch64 branch
    /// protection, and copied code is mapped to enforce it.
    pub fn new(bytes: ArtifactBytes<'_>, s: &Sections<'_>, landing_pads: bool) -> std::io::Result<LoadedCode> {
        let (code, metadata, kept) = match bytes {
            ArtifactBytes::Static { bytes, in_place } => {
                let kept = Kept {
                    traps: offset_in(bytes, s.traps)?,
                    addrmap: offset_in(bytes, s.addrmap)?,
                    exceptions: offset_in(bytes, s.exceptions)?,
                    srclocs: offset_in(bytes, s.srclocs)?,
                    data: offset_in(bytes, s.data)?,
                    names: offset_in(bytes, s.names)?,
                };
                let text = &bytes[offset_in(bytes, s.text)?];
                let code = if in_place {
                    CodeMemory::in_place(text)
                } else {
                    CodeMemory::copied_guarded(text, &[], landing_pads)?.0
                };
                (code, Metadata::Static(bytes), kept)
            }
            ArtifactBytes::Transient(_) => {
                let pieces = [s.traps, s.addrmap, s.exceptions, s.srclocs, s.data, s.names];
                let total = pieces.iter().map(|p| p.len()).sum::<usize>();
                let (code, metadata, r) = if total <= HEAP_METADATA_MAX {
                    let mut heap = Vec::with_capacity(total);
                    let r: Vec<_> = pieces
                        .iter()
                        .map(|p| {
                            heap.extend_from_slice(p);
                            heap.len() - p.len()..heap.len()
                        })
                        .collect();
                    let code = CodeMemory::copied_guarded(s.text, &[], landing_pads)?.0;
                    (code, Metadata::Heap(heap.into_boxed_slice()), r)
                } else {
                    let (code, r) = CodeMemory::copied_guarded(s.text, &pieces, landing_pads)?;
                    (code, Metadata::CodeTail, r)
                };
                let mut r = r.into_iter();
                let mut next = || r.next().ok_or_else(bad);
                let kept = Kept {
                    traps: next()?,
                    addrmap: next()?,
                    exceptions: next()?,
                    srclocs: next()?,
                    data: next()?,
                    names: next()?,
                };
                (code, metadata, kept)
            }
        };
        let trap_bytes = metadata.bytes(&code).get(kept.traps.clone()).ok_or_else(bad)?;
        // SAFETY: the trap bytes live in the static artifact, in a boxed
        // slice or in the tail of `code`'s mapping, the text in `code`; the
        // box and `code` are owned by the returned value and dropped after
        // the registration (field order), and none of them moves its bytes
        // when it is moved.
        let registration = unsafe { code_registry::register(code.text_ptr() as usize, code.text_len(), trap_bytes) };
        let debugger = super::gdb_jit::register(s.gdbjit, code.text_ptr() as usize);
        Ok(LoadedCode { _debugger: debugger, _registration: registration, code, metadata, kept })
    }

    fn metadata(&self) -> &[u8] {
        self.metadata.bytes(&self.code)
    }

    /// `.kiln.addrmap`.
    pub fn addrmap(&self) -> &[u8] {
        &self.metadata()[self.kept.addrmap.clone()]
    }

    /// `.kiln.exceptions`.
    pub fn exceptions(&self) -> &[u8] {
        &self.metadata()[self.kept.exceptions.clone()]
    }

    /// `.kiln.srclocs`.
    pub fn srclocs(&self) -> &[u8] {
        &self.metadata()[self.kept.srclocs.clone()]
    }

    /// `.rodata.wasm`.
    pub fn data(&self) -> &[u8] {
        &self.metadata()[self.kept.data.clone()]
    }

    /// `.name.wasm`.
    pub fn names(&self) -> &[u8] {
        &self.metadata()[self.kept.names.clone()]
    }

    /// The code.
    pub fn code(&self) -> &CodeMemory {
        &self.code
    }
}
