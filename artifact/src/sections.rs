//! Section names and ELF identification of a kiln artifact.
//!
//! Every section a loader may meet is named here with who writes it, who reads
//! it, how it is encoded and whether the load path touches it. The loader
//! rejects a section that is not in [`ALL`] (besides ELF's own bookkeeping
//! sections), so a foreign object cannot pass as an artifact.

/// ELF `e_ident[EI_OSABI]` of every kiln artifact. Not a registered value:
/// it marks the file as "kiln artifact" for `readelf` and for the loader.
pub const ELFOSABI_KILN: u8 = 0xCB;

/// Bit set in ELF `e_flags`: "this object is a kiln module". Chosen high so it
/// cannot collide with architecture flags (riscv float ABI bits live at the
/// bottom).
pub const EF_KILN_MODULE: u32 = 1 << 30;

/// All compiled functions and trampolines, contiguous.
///
/// Written by `kiln-build` (`emit::text`); read by the runtime's code memory.
/// Position-independent: calls between functions are PC-relative and
/// resolved at build time; constants sit in the text and are reached
/// PC-relatively; everything else is reached through the VMContext. No
/// relocation is applied at load, so the text can run where it lies.
/// Load path: yes (its address and length; the bytes run in place or are
/// copied once).
pub const TEXT: &str = ".text";

/// The compatibility header: see [`crate::engine`].
///
/// Encoding: fixed prefix (format version byte, length-prefixed kiln
/// version) followed by postcard `EngineInfo`. Load path: yes, first.
pub const ENGINE: &str = ".kiln.engine";

/// The module: postcard [`crate::info::ModuleInfo`]. Text ranges in it are
/// offsets from the start of `.text`. Load path: yes.
pub const INFO: &str = ".kiln.info";

/// Trap sites: see [`crate::traps`] (sparse index + varint deltas, about
/// two and a half bytes per site). Offsets from the start of `.text`.
/// Load path: an O(1) framing check, and copied with the text for
/// artifacts given at run time; read by the signal handler at trap time.
pub const TRAPS: &str = ".kiln.traps";

/// Text offset → wasm byte offset: see [`crate::addrmap`] (sparse index +
/// varint deltas, about two bytes per entry). Load path: an O(1) framing
/// check, and copied with the text for artifacts given at run time; read
/// for backtraces.
pub const ADDRMAP: &str = ".kiln.addrmap";

/// Exception handlers of the call sites inside `try_table` (and legacy
/// `try`) blocks: see [`crate::exceptions`]. Offsets from the start of
/// `.text`. Load path: an O(1) framing check; read when an exception is
/// thrown. Empty in modules that catch nothing.
pub const EXCEPTIONS: &str = ".kiln.exceptions";

/// Wasm byte offset → source file, line, column and function (with the
/// functions inlined there), from the module's DWARF: see
/// [`crate::srclocs`]. Always present; empty unless the build asked for source
/// locations and the module carries DWARF. Load path: an O(1) framing check, and
/// copied with the text for artifacts given at run time; read for
/// backtraces.
pub const SRCLOCS: &str = ".kiln.srclocs";

/// The module as native debuggers see it: a small ELF image (symbols,
/// native DWARF with line tables) and the places in it that get the text's
/// address, which the runtime registers with the GDB JIT interface. Layout
/// in `kiln_build`'s `emit::gdbjit`. Always present; empty unless the
/// build asked for debug info. Load path: read once, when not empty.
pub const GDBJIT: &str = ".kiln.gdbjit";

/// Data segment bytes, concatenated. Segments in `.kiln.info` are ranges into
/// it. Load path: its location only; read at instantiation.
pub const DATA: &str = ".rodata.wasm";

/// Function names, concatenated; `.kiln.info` holds ranges into it. Not
/// touched on the load path; read lazily for backtraces and symbols.
pub const NAMES: &str = ".name.wasm";

/// Every section a kiln artifact may contain (besides the ELF's own: the null
/// section, `.symtab`, `.strtab`, `.shstrtab`).
pub const ALL: &[&str] = &[TEXT, ENGINE, INFO, TRAPS, ADDRMAP, EXCEPTIONS, SRCLOCS, GDBJIT, DATA, NAMES];

/// ELF bookkeeping sections the object writer adds.
pub const ELF_BOOKKEEPING: &[&str] = &["", ".symtab", ".strtab", ".shstrtab"];

/// Alignment of `.text` inside the image, and the minimum alignment of the
/// embedded bytes, so text offsets keep the code's alignment when run in
/// place.
pub const TEXT_ALIGN: u64 = 64;

/// Where every function of `.text` starts: a cache-line boundary. Then a
/// function's loops sit at the same place relative to cache lines and fetch
/// blocks whatever code precedes it, so its speed does not change with the
/// size of unrelated functions (with the ISA's preferred 16 or 32 bytes, a
/// hot loop straddling one more fetch block than it needs to was measured
/// 25% slower).
pub const FUNCTION_ALIGN: u64 = TEXT_ALIGN;
