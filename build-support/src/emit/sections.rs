//! Write the sections of the artifact (names and encodings are defined in
//! `kiln_artifact::sections`).

use super::text::Layout;
use crate::error::{Error, Result};
use cranelift_codegen::isa::TargetIsa;
use kiln_artifact::engine::{self, EngineInfo};
use kiln_artifact::info::{CompiledFunc, ModuleInfo, Range};
use kiln_artifact::sections::{self as names, EF_KILN_MODULE, ELFOSABI_KILN};
use object::write::{Object, SectionId};
use object::{Architecture, BinaryFormat, Endianness, FileFlags, SectionKind};

/// The ELF machine of the ISA (`e_machine`, and `object`'s name for it)
/// and the architecture's `e_flags`.
pub(crate) fn elf_machine(isa: &dyn TargetIsa) -> Result<(u16, Architecture, u32)> {
    use object::elf;
    use target_lexicon::Architecture as A;
    Ok(match isa.triple().architecture {
        A::X86_64 => (elf::EM_X86_64.0, Architecture::X86_64, 0),
        A::Aarch64(_) => (elf::EM_AARCH64.0, Architecture::Aarch64, 0),
        // RVC + double-float ABI, as the platform's own objects say.
        A::Riscv64(_) => (elf::EM_RISCV.0, Architecture::Riscv64, 0x1 | 0x4),
        A::S390x => (elf::EM_S390.0, Architecture::S390x, 0),
        other => return Err(Error::target(format!("no ELF machine for architecture {other}"))),
    })
}

/// An empty ELF object for the ISA's machine, marked as a kiln artifact.
pub(crate) fn new_object(isa: &dyn TargetIsa) -> Result<Object<'static>> {
    let triple = isa.triple();
    let (_, arch, arch_flags) = elf_machine(isa)?;
    let endian = match triple.endianness() {
        Ok(target_lexicon::Endianness::Big) => Endianness::Big,
        _ => Endianness::Little,
    };
    let mut obj = Object::new(BinaryFormat::Elf, arch, endian);
    obj.flags = FileFlags::Elf {
        os_abi: object::elf::OsAbi(ELFOSABI_KILN),
        abi_version: 0,
        e_flags: object::elf::FileFlags(EF_KILN_MODULE | arch_flags),
    };
    Ok(obj)
}

/// Fill the text ranges and names of `info`; return `.name.wasm`.
pub(crate) fn fill_info(
    info: &mut ModuleInfo,
    layout: &Layout,
    func_names: &[Option<&str>],
    wasm_offsets: &[u32],
) -> Vec<u8> {
    let mut names = Vec::new();
    info.defined_funcs = layout
        .funcs
        .iter()
        .enumerate()
        .map(|(i, &body)| {
            let index = info.num_imported_funcs as usize + i;
            let name = match func_names.get(index).copied().flatten() {
                Some(n) => {
                    let r = Range { start: names.len() as u32, len: n.len() as u32 };
                    names.extend_from_slice(n.as_bytes());
                    r
                }
                None => Range::default(),
            };
            CompiledFunc { body, array_trampoline: None, name, wasm_offset: wasm_offsets.get(i).copied().unwrap_or(0) }
        })
        .collect();
    for &(f, range) in &layout.array_trampolines {
        if let Some(def) = info.defined_func_index(f) {
            info.defined_funcs[def.index()].array_trampoline = Some(range);
        }
    }
    info.wasm_to_array_trampolines = layout.host_trampolines.clone();
    names
}

/// The sections for debuggers and backtraces (empty without debug info).
pub(crate) struct DebugSections {
    /// `.kiln.srclocs`.
    pub srclocs: Vec<u8>,
    /// `.kiln.gdbjit`.
    pub gdbjit: Vec<u8>,
}

/// Write every section; returns the id of `.text`.
pub(crate) fn write(
    obj: &mut Object<'static>,
    engine: &EngineInfo,
    info: &ModuleInfo,
    layout: &Layout,
    data: &[u8],
    names: &[u8],
    debug: DebugSections,
) -> SectionId {
    let text = obj.add_section(Vec::new(), names::TEXT.as_bytes().to_vec(), SectionKind::Text);
    obj.set_section_data(text, layout.text.clone(), layout.alignment);
    let mut add = |name: &str, bytes: Vec<u8>, align: u64| {
        let id = obj.add_section(Vec::new(), name.as_bytes().to_vec(), SectionKind::ReadOnlyData);
        obj.set_section_data(id, bytes, align);
    };
    add(names::ENGINE, engine::encode(engine), 8);
    add(names::INFO, kiln_artifact::encode_postcard(info), 8);
    add(names::TRAPS, layout.traps.clone(), 4);
    add(names::ADDRMAP, layout.addrmap.clone(), 4);
    add(names::EXCEPTIONS, layout.exceptions.clone(), 4);
    add(names::SRCLOCS, debug.srclocs, 4);
    add(names::GDBJIT, debug.gdbjit, 8);
    add(names::DATA, data.to_vec(), 16);
    add(names::NAMES, names.to_vec(), 1);
    text
}
