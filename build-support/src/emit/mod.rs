//! The ELF image. `emit` writes the sections in this order:
//!
//! 1. `text.rs` lays out `.text` (functions, then array trampolines, then
//!    wasm-to-array trampolines, then the throw stub) and resolves every
//!    call between functions at build time, so the text needs no
//!    relocation at load;
//! 2. `gdbjit.rs` builds the image for native debuggers (`.kiln.gdbjit`),
//!    with debug info;
//! 3. `sections.rs` writes `.kiln.engine`, `.kiln.info`, `.kiln.traps`,
//!    `.kiln.addrmap`, `.kiln.exceptions`, `.kiln.srclocs` (built from the
//!    module's DWARF by `crate::debuginfo`), `.kiln.gdbjit`,
//!    `.rodata.wasm` and `.name.wasm`;
//! 4. `symbols.rs` adds one ELF symbol per function and trampoline.

mod gdbjit;
mod sections;
mod symbols;
mod text;

use crate::error::Result;
use cranelift_codegen::binemit::Reloc;
use cranelift_codegen::isa::TargetIsa;
use kiln_artifact::engine::EngineInfo;
use kiln_artifact::index::{FuncIndex, TypeIndex};
use kiln_artifact::info::ModuleInfo;

/// A call from one function to another, to resolve at build time.
#[derive(Debug, Clone)]
pub(crate) struct FuncReloc {
    /// Offset of the patched bytes from the start of the calling function.
    pub offset: u32,
    /// The instruction encoding to patch.
    pub kind: Reloc,
    /// The callee.
    pub target: CallTarget,
    /// Added to the callee's address.
    pub addend: i64,
}

/// What a relocated call reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallTarget {
    /// A defined function.
    Func(FuncIndex),
    /// The module's throw stub.
    ThrowStub,
}

/// Machine code of one function or trampoline.
#[derive(Debug, Clone)]
pub(crate) struct CompiledBody {
    pub code: Vec<u8>,
    pub alignment: u32,
    pub relocs: Vec<FuncReloc>,
    /// (offset in this body, trap code)
    pub traps: Vec<(u32, kiln_artifact::traps::TrapCode)>,
    /// (offset in this body, wasm byte offset), sorted
    pub srclocs: Vec<(u32, u32)>,
    /// Calls with exception handlers, offsets in this body.
    pub call_sites: Vec<kiln_artifact::exceptions::CallSite>,
}

/// Everything compiled, ready to become an artifact.
pub(crate) struct Input<'a> {
    pub isa: &'a dyn TargetIsa,
    pub engine: EngineInfo,
    pub info: ModuleInfo,
    /// One per defined function, in index order.
    pub bodies: Vec<CompiledBody>,
    pub array_trampolines: Vec<(FuncIndex, CompiledBody)>,
    pub host_trampolines: Vec<(TypeIndex, CompiledBody)>,
    /// The throw stub, for a module that throws.
    pub throw_stub: Option<CompiledBody>,
    pub data: Vec<u8>,
    pub func_names: Vec<Option<&'a str>>,
    /// Byte offset of each defined function's body in the wasm binary.
    pub wasm_offsets: Vec<u32>,
    /// `.kiln.srclocs` (empty without source locations).
    pub srclocs: Vec<u8>,
    /// Write `.kiln.gdbjit`, the image for native debuggers.
    pub debug_image: bool,
}

/// Write the artifact.
pub(crate) fn emit(input: Input<'_>) -> Result<Vec<u8>> {
    let Input {
        isa,
        engine,
        mut info,
        bodies,
        array_trampolines,
        host_trampolines,
        throw_stub,
        data,
        func_names,
        wasm_offsets,
        srclocs,
        debug_image,
    } = input;
    let layout = text::layout(isa, &info, &bodies, &array_trampolines, &host_trampolines, throw_stub.as_ref())?;
    let names = sections::fill_info(&mut info, &layout, &func_names, &wasm_offsets);
    let gdbjit = if debug_image { gdbjit::image(isa, &info, &layout, &func_names, &srclocs)? } else { Vec::new() };
    let mut obj = sections::new_object(isa)?;
    let text_id =
        sections::write(&mut obj, &engine, &info, &layout, &data, &names, sections::DebugSections { srclocs, gdbjit });
    symbols::write(&mut obj, text_id, &info, &layout, &func_names);
    obj.write().map_err(|e| crate::error::Error::codegen(format!("writing the ELF image: {e}")))
}
