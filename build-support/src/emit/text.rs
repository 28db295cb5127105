//! Lay out `.text` and resolve calls between functions at build time.
//!
//! Every relocation Cranelift reports is a PC-relative call from one
//! function to another defined function of the same module (the translator
//! emits no other kind; the driver rejects anything else). Patching them
//! here is what lets the text run where it lies: the loader applies no
//! relocation, in place or copied.

use super::{CallTarget, CompiledBody, FuncReloc};
use crate::error::{Error, Result};
use cranelift_codegen::binemit::Reloc;
use cranelift_codegen::isa::TargetIsa;
use kiln_artifact::addrmap::AddrMapBuilder;
use kiln_artifact::exceptions::{CallSite, ExceptionTableBuilder};
use kiln_artifact::index::{FuncIndex, TypeIndex};
use kiln_artifact::info::{ModuleInfo, Range};
use kiln_artifact::traps::TrapTableBuilder;

/// The laid-out text and everything located in it.
pub(crate) struct Layout {
    pub text: Vec<u8>,
    pub alignment: u64,
    /// Body of each defined function.
    pub funcs: Vec<Range>,
    pub array_trampolines: Vec<(FuncIndex, Range)>,
    pub host_trampolines: Vec<(TypeIndex, Range)>,
    pub traps: Vec<u8>,
    pub addrmap: Vec<u8>,
    /// `.kiln.exceptions`, empty when no call has handlers.
    pub exceptions: Vec<u8>,
    /// The throw stub, if the module has one.
    pub throw_stub: Option<Range>,
}

/// What `place` records besides the code.
#[derive(Default)]
struct Tables {
    traps: TrapTableBuilder,
    addrmap: AddrMapBuilder,
    exceptions: ExceptionTableBuilder,
}

fn place(text: &mut Vec<u8>, body: &CompiledBody, tables: &mut Tables) -> Result<Range> {
    let align = body.alignment.max(1) as usize;
    text.resize(text.len().next_multiple_of(align), 0);
    let start = u32::try_from(text.len()).map_err(|_| Error::codegen("text section exceeds 4 GiB"))?;
    text.extend_from_slice(&body.code);
    for &(off, code) in &body.traps {
        tables.traps.push(start + off, code);
    }
    for &(off, wasm) in &body.srclocs {
        tables.addrmap.push(start + off, wasm);
    }
    for site in &body.call_sites {
        tables.exceptions.push(CallSite {
            ret: start + site.ret,
            handlers: site.handlers.iter().map(|&(tag, landing)| (tag, start + landing)).collect(),
            ..*site
        });
    }
    Ok(Range { start, len: body.code.len() as u32 })
}

pub(crate) fn layout(
    isa: &dyn TargetIsa,
    info: &ModuleInfo,
    bodies: &[CompiledBody],
    array_trampolines: &[(FuncIndex, CompiledBody)],
    host_trampolines: &[(TypeIndex, CompiledBody)],
    throw_stub: Option<&CompiledBody>,
) -> Result<Layout> {
    let mut text = Vec::new();
    let mut tables = Tables::default();
    let mut funcs = Vec::with_capacity(bodies.len());
    for b in bodies {
        funcs.push(place(&mut text, b, &mut tables)?);
    }
    let mut arrays = Vec::with_capacity(array_trampolines.len());
    for (f, b) in array_trampolines {
        arrays.push((*f, place(&mut text, b, &mut tables)?));
    }
    let mut hosts = Vec::with_capacity(host_trampolines.len());
    for (t, b) in host_trampolines {
        hosts.push((*t, place(&mut text, b, &mut tables)?));
    }
    let stub = throw_stub.map(|b| place(&mut text, b, &mut tables)).transpose()?;

    let target_of = |t: CallTarget| -> Result<u64> {
        let range = match t {
            CallTarget::Func(f) => info
                .defined_func_index(f)
                .and_then(|d| funcs.get(d.index()))
                .ok_or_else(|| Error::codegen(format!("call relocation against function {f}, which is not defined")))?,
            CallTarget::ThrowStub => {
                stub.as_ref().ok_or_else(|| Error::codegen("call relocation against a missing throw stub"))?
            }
        };
        Ok(range.start as u64)
    };
    let all =
        bodies.iter().zip(&funcs).chain(array_trampolines.iter().map(|(_, b)| b).zip(arrays.iter().map(|(_, r)| r)));
    for (body, range) in all {
        for r in &body.relocs {
            let at = range.start as u64 + r.offset as u64;
            patch(isa, &mut text, at, target_of(r.target)?, r)?;
        }
    }
    let alignment = bodies
        .iter()
        .chain(array_trampolines.iter().map(|(_, b)| b))
        .chain(host_trampolines.iter().map(|(_, b)| b))
        .chain(throw_stub)
        .map(|b| b.alignment as u64)
        .max()
        .unwrap_or(1)
        .max(kiln_artifact::sections::TEXT_ALIGN);
    if alignment > kiln_artifact::sections::TEXT_ALIGN {
        return Err(Error::codegen(format!(
            "code needs {alignment}-byte alignment; embedded artifacts guarantee {}",
            kiln_artifact::sections::TEXT_ALIGN
        )));
    }
    Ok(Layout {
        text,
        alignment,
        funcs,
        array_trampolines: arrays,
        host_trampolines: hosts,
        traps: tables.traps.finish(),
        addrmap: tables.addrmap.finish(),
        exceptions: if tables.exceptions.is_empty() { Vec::new() } else { tables.exceptions.finish() },
        throw_stub: stub,
    })
}

/// Patch one PC-relative call at text offset `at` to reach `target`.
fn patch(isa: &dyn TargetIsa, text: &mut [u8], at: u64, target: u64, r: &FuncReloc) -> Result<()> {
    let delta = target as i64 + r.addend - at as i64;
    let out_of_range =
        || Error::codegen(format!("call at text offset {at:#x} cannot reach {target:#x} ({:?})", r.kind));
    let at = at as usize;
    let word = |text: &mut [u8]| -> Result<u32> {
        let b = text.get(at..at + 4).ok_or_else(out_of_range)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    match r.kind {
        Reloc::X86CallPCRel4 | Reloc::X86PCRel4 | Reloc::X86CallPLTRel4 => {
            let v = i32::try_from(delta).map_err(|_| out_of_range())?;
            text[at..at + 4].copy_from_slice(&v.to_le_bytes());
        }
        Reloc::Arm64Call => {
            // BL imm26, in units of 4 bytes: ±128 MiB.
            if delta % 4 != 0 || !(-(1 << 27)..(1 << 27)).contains(&delta) {
                return Err(out_of_range());
            }
            let insn = word(text)?;
            let imm = ((delta >> 2) as u32) & 0x03ff_ffff;
            text[at..at + 4].copy_from_slice(&((insn & 0xfc00_0000) | imm).to_le_bytes());
        }
        Reloc::RiscvCallPlt => {
            // AUIPC rd, hi20 ; JALR rd, lo12(rd)
            let v = i32::try_from(delta).map_err(|_| out_of_range())?;
            let hi = (v.wrapping_add(0x800) as u32) & 0xffff_f000;
            let lo = (v as u32) & 0xfff;
            let auipc = word(text)?;
            text[at..at + 4].copy_from_slice(&((auipc & 0xfff) | hi).to_le_bytes());
            let b = text.get(at + 4..at + 8).ok_or_else(out_of_range)?;
            let jalr = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            text[at + 4..at + 8].copy_from_slice(&((jalr & 0x000f_ffff) | (lo << 20)).to_le_bytes());
        }
        Reloc::S390xPLTRel32Dbl | Reloc::S390xPCRel32Dbl => {
            // Halfword-scaled, big-endian; the addend accounts for the
            // instruction start.
            if delta % 2 != 0 {
                return Err(out_of_range());
            }
            let v = i32::try_from(delta >> 1).map_err(|_| out_of_range())?;
            text[at..at + 4].copy_from_slice(&v.to_be_bytes());
        }
        other => return Err(Error::codegen(format!("relocation {other:?} is not supported for {}", isa.triple()))),
    }
    Ok(())
}
