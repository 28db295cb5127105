//! `.kiln.gdbjit`: the image the runtime registers with the GDB JIT
//! interface (which lldb reads too), so that native debuggers see the
//! module's code wherever it runs — in place or copied.
//!
//! The image is a small ELF executable describing the text without
//! containing it: a `.text` section of type `NOBITS` at the text's
//! address, one `STT_FUNC` symbol per function, and native DWARF — a
//! compile unit with one subprogram per function, and a line table mapping
//! each machine instruction to the source line the module's DWARF gives
//! for its wasm instruction (through `.kiln.addrmap` and
//! `.kiln.srclocs`). Without DWARF in the module, the line table is
//! empty and the subprograms still name the functions.
//!
//! Every address in the image is written relative to the start of the
//! text; the section lists where they are, so the runtime only adds the
//! text's address to each, with no DWARF or ELF code of its own:
//!
//! ```text
//! ┌───────────────┬────────────────────────────┬──────────────────┐
//! │ fixups: u32   │ offsets: [u32; fixups]     │ image: ELF bytes │
//! └───────────────┴────────────────────────────┴──────────────────┘
//!   each offset: a 64-bit address in the image, in the target's byte
//!   order, to which the text's address is added at load.
//! ```

use super::text::Layout;
use crate::error::{Error, Result};
use cranelift_codegen::isa::TargetIsa;
use gimli::write::{Address, AttributeValue, DwarfUnit, EndianVec, LineProgram, LineString, Sections, Writer};
use gimli::{constants, Encoding, Format, LineEncoding, RunTimeEndian};
use kiln_artifact::info::ModuleInfo;
use kiln_artifact::srclocs::SrcLocs;
use std::collections::HashMap;

/// A DWARF writer that remembers where it wrote each address, for the
/// runtime to relocate.
#[derive(Clone)]
struct FixupWriter {
    out: EndianVec<RunTimeEndian>,
    fixups: Vec<usize>,
}

impl Writer for FixupWriter {
    type Endian = RunTimeEndian;

    fn endian(&self) -> RunTimeEndian {
        self.out.endian()
    }

    fn len(&self) -> usize {
        self.out.len()
    }

    fn write(&mut self, bytes: &[u8]) -> gimli::write::Result<()> {
        self.out.write(bytes)
    }

    fn write_at(&mut self, offset: usize, bytes: &[u8]) -> gimli::write::Result<()> {
        self.out.write_at(offset, bytes)
    }

    fn write_address(&mut self, address: Address, size: u8) -> gimli::write::Result<()> {
        self.fixups.push(self.out.len());
        self.out.write_address(address, size)
    }
}

/// Text from a module (names, paths) made safe for DWARF strings, which
/// end at a NUL.
fn dwarf_string(s: &str) -> Vec<u8> {
    s.bytes().map(|b| if b == 0 { b'?' } else { b }).collect()
}

/// Build `.kiln.gdbjit` for a laid-out module.
pub(crate) fn image(
    isa: &dyn TargetIsa,
    info: &ModuleInfo,
    layout: &Layout,
    func_names: &[Option<&str>],
    srclocs: &[u8],
) -> Result<Vec<u8>> {
    let fail = |what: &str, e: &dyn std::fmt::Display| Error::codegen(format!("debug image: {what}: {e}"));
    let big = matches!(isa.triple().endianness(), Ok(target_lexicon::Endianness::Big));
    let endian = if big { RunTimeEndian::Big } else { RunTimeEndian::Little };
    // DWARF names the unit's file after the module: never empty.
    let module = info.name.as_deref().map(|n| n.strip_suffix(".wasm").unwrap_or(n)).filter(|n| !n.is_empty());
    let module = crate::embed::symbol_part(module.unwrap_or("wasm"));
    let locations = SrcLocs::parse(srclocs).ok();
    let mut entries: Vec<(u32, u32)> = Vec::new();
    if let Ok(map) = kiln_artifact::addrmap::AddrMap::parse(&layout.addrmap) {
        map.for_each(|t, w| entries.push((t, w)));
    }

    // The function names: the name section's, as the symbols of code run
    // in place; the DWARF name (demangled) for the subprogram when the
    // module has one, so `break records::price` works too.
    let mut funcs: Vec<(String, Option<String>, u32, u32)> = layout
        .funcs
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let index = info.num_imported_funcs as usize + i;
            let own = func_names.get(index).copied().flatten();
            let symbol = match own {
                Some(n) => format!("kiln.{module}.{}", crate::embed::symbol_part(n)),
                None => format!("kiln.{module}.func{index}"),
            };
            // The outermost source frame of the body's first located
            // instruction is the function itself.
            let source = locations.and_then(|l| {
                let first = entries.partition_point(|&(t, _)| t < r.start);
                entries[first..]
                    .iter()
                    .take_while(|&&(t, _)| u64::from(t) < r.end())
                    .find_map(|&(_, w)| l.lookup(w).last().and_then(|f| f.function))
                    .map(str::to_owned)
            });
            (symbol, source, r.start, r.len)
        })
        .collect();
    // The entries from the host and the calls out to it, named as for
    // code in place: frames a debugger must recognise to walk past them.
    for i in 0..funcs.len() {
        if let Some(t) = info.defined_funcs.get(i).and_then(|f| f.array_trampoline) {
            funcs.push((format!("{}.array_entry", funcs[i].0), None, t.start, t.len));
        }
    }
    for (i, (ty, t)) in info.wasm_to_array_trampolines.iter().enumerate() {
        funcs.push((format!("kiln.{module}.host_call{}.{i}", ty.0), None, t.start, t.len));
    }
    if let Some(t) = layout.throw_stub {
        funcs.push((format!("kiln.{module}.throw_stub"), None, t.start, t.len));
    }

    // The DWARF: one unit for the module.
    let encoding = Encoding { format: Format::Dwarf32, version: 4, address_size: 8 };
    let program = LineProgram::new(
        encoding,
        LineEncoding::default(),
        LineString::String(b".".to_vec()),
        None,
        LineString::String(dwarf_string(&module)),
        None,
    );
    let mut dwarf = DwarfUnit::new(encoding);
    dwarf.unit.line_program = program;
    let root = dwarf.unit.root();
    let text_len = layout.text.len() as u64;
    {
        let root = dwarf.unit.get_mut(root);
        root.set(constants::DW_AT_name, AttributeValue::String(dwarf_string(&module)));
        root.set(constants::DW_AT_producer, AttributeValue::String(b"kiln".to_vec()));
        root.set(constants::DW_AT_low_pc, AttributeValue::Address(Address::Constant(0)));
        root.set(constants::DW_AT_high_pc, AttributeValue::Udata(text_len));
    }
    for (symbol, source, start, len) in &funcs {
        let id = dwarf.unit.add(root, constants::DW_TAG_subprogram);
        let die = dwarf.unit.get_mut(id);
        die.set(constants::DW_AT_name, AttributeValue::String(dwarf_string(source.as_deref().unwrap_or(symbol))));
        die.set(constants::DW_AT_low_pc, AttributeValue::Address(Address::Constant(u64::from(*start))));
        die.set(constants::DW_AT_high_pc, AttributeValue::Udata(u64::from(*len)));
        die.set(constants::DW_AT_external, AttributeValue::Flag(true));
    }

    // The line table: per function, each address-map entry in it with the
    // innermost source line of its wasm instruction.
    if let Some(locations) = locations.filter(|l| !l.is_empty()) {
        let dir = dwarf.unit.line_program.default_directory();
        let mut files = HashMap::new();
        for (_, _, start, len) in &funcs {
            let (start, end) = (*start, start + len);
            let first = entries.partition_point(|&(t, _)| t < start);
            let mut open = false;
            let mut last = None;
            for &(t, w) in entries[first..].iter().take_while(|&&(t, _)| t < end) {
                let Some(frame) = locations.lookup(w).into_iter().next() else { continue };
                let (Some(file), Some(line)) = (frame.file.filter(|f| !f.is_empty()), frame.line) else {
                    continue;
                };
                // A row only where the place changes: the debugger reads
                // the same line for every instruction up to the next row.
                if last == Some((file, line, frame.column)) {
                    continue;
                }
                last = Some((file, line, frame.column));
                let program = &mut dwarf.unit.line_program;
                let file = *files
                    .entry(file)
                    .or_insert_with(|| program.add_file(LineString::String(dwarf_string(file)), dir, None));
                if !open {
                    program.begin_sequence(Some(Address::Constant(u64::from(start))));
                    open = true;
                }
                let row = program.row();
                row.address_offset = u64::from(t - start);
                row.file = file;
                row.line = u64::from(line);
                row.column = frame.column.map_or(0, u64::from);
                row.is_statement = true;
                program.generate_row();
            }
            if open {
                dwarf.unit.line_program.end_sequence(u64::from(end - start));
            }
        }
    }

    let mut sections = Sections::new(FixupWriter { out: EndianVec::new(endian), fixups: Vec::new() });
    dwarf.write(&mut sections).map_err(|e| fail("writing DWARF", &e))?;
    let mut debug: Vec<(&'static str, Vec<u8>, Vec<usize>)> = Vec::new();
    sections
        .for_each(|id, w| -> std::result::Result<(), ()> {
            if w.len() > 0 {
                debug.push((id.name(), w.out.slice().to_vec(), w.fixups.clone()));
            }
            Ok(())
        })
        .map_err(|()| fail("collecting sections", &"unreachable"))?;

    elf(isa, &funcs, text_len, &debug, endian)
}

/// Byte order of the image's ELF fields.
struct Out {
    bytes: Vec<u8>,
    big: bool,
}

impl Out {
    fn u16(&mut self, v: u16) {
        self.bytes.extend_from_slice(&if self.big { v.to_be_bytes() } else { v.to_le_bytes() });
    }
    fn u32(&mut self, v: u32) {
        self.bytes.extend_from_slice(&if self.big { v.to_be_bytes() } else { v.to_le_bytes() });
    }
    fn u64(&mut self, v: u64) {
        self.bytes.extend_from_slice(&if self.big { v.to_be_bytes() } else { v.to_le_bytes() });
    }
    fn align(&mut self, to: usize) {
        self.bytes.resize(self.bytes.len().next_multiple_of(to), 0);
    }
}

/// A string table under construction: NUL-separated, starting with NUL.
fn string_table<'s>(strings: impl Iterator<Item = &'s [u8]>) -> (Vec<u8>, Vec<u32>) {
    let mut table = vec![0u8];
    let offsets = strings
        .map(|s| {
            let at = table.len() as u32;
            table.extend(s.iter().map(|&b| if b == 0 { b'?' } else { b }));
            table.push(0);
            at
        })
        .collect();
    (table, offsets)
}

/// Write the ELF executable (written by hand: a header, the sections and
/// their headers, nothing the loader of an executable would need) and the
/// fixup list before it.
fn elf(
    isa: &dyn TargetIsa,
    funcs: &[(String, Option<String>, u32, u32)],
    text_len: u64,
    debug: &[(&'static str, Vec<u8>, Vec<usize>)],
    endian: RunTimeEndian,
) -> Result<Vec<u8>> {
    const EHDR: usize = 64;
    const SHDR: usize = 64;
    const SYM: usize = 24;
    let machine = super::sections::elf_machine(isa)?.0;
    let mut o = Out { bytes: vec![0; EHDR], big: endian == RunTimeEndian::Big };
    let mut fixups: Vec<usize> = Vec::new();

    // Section names: null, .text, the DWARF sections, .symtab, .strtab,
    // .shstrtab.
    let names: Vec<&[u8]> = [&b".text"[..]]
        .into_iter()
        .chain(debug.iter().map(|(n, ..)| n.as_bytes()))
        .chain([&b".symtab"[..], b".strtab", b".shstrtab"])
        .collect();
    let (shstrtab, name_at) = string_table(names.iter().copied());
    let (strtab, symbol_at) = string_table(funcs.iter().map(|(s, ..)| s.as_bytes()));

    let mut debug_at = Vec::new();
    for (_, bytes, at) in debug {
        debug_at.push(o.bytes.len());
        fixups.extend(at.iter().map(|a| o.bytes.len() + a));
        o.bytes.extend_from_slice(bytes);
    }
    o.align(8);
    let symtab_at = o.bytes.len();
    o.bytes.extend_from_slice(&[0; SYM]);
    for ((_, _, start, len), &name) in funcs.iter().zip(&symbol_at) {
        o.u32(name);
        o.bytes.push((1 << 4) | 2); // STB_GLOBAL, STT_FUNC
        o.bytes.push(0); // STV_DEFAULT
        o.u16(1); // .text
        fixups.push(o.bytes.len());
        o.u64(u64::from(*start));
        o.u64(u64::from(*len));
    }
    let strtab_at = o.bytes.len();
    o.bytes.extend_from_slice(&strtab);
    let shstrtab_at = o.bytes.len();
    o.bytes.extend_from_slice(&shstrtab);
    o.align(8);

    // Section headers.
    let shoff = o.bytes.len();
    let symtab_index = 2 + debug.len() as u32;
    let header = |o: &mut Out,
                  name: u32,
                  kind: u32,
                  flags: u64,
                  offset: usize,
                  size: u64,
                  link_info_entsize: (u32, u32, u64),
                  align: u64| {
        o.u32(name);
        o.u32(kind);
        o.u64(flags);
        o.u64(0);
        o.u64(offset as u64);
        o.u64(size);
        o.u32(link_info_entsize.0);
        o.u32(link_info_entsize.1);
        o.u64(align);
        o.u64(link_info_entsize.2);
    };
    o.bytes.extend_from_slice(&[0; SHDR]);
    fixups.push(o.bytes.len() + 16); // .text's sh_addr
    header(&mut o, name_at[0], 8, 2 | 4, 0, text_len, (0, 0, 0), kiln_artifact::sections::TEXT_ALIGN); // NOBITS, ALLOC|EXECINSTR
    for (i, ((_, bytes, _), &at)) in debug.iter().zip(&debug_at).enumerate() {
        header(&mut o, name_at[1 + i], 1, 0, at, bytes.len() as u64, (0, 0, 0), 1);
        // PROGBITS
    }
    let n = debug.len();
    let symtab_size = (SYM * (funcs.len() + 1)) as u64;
    header(&mut o, name_at[1 + n], 2, 0, symtab_at, symtab_size, (symtab_index + 1, 1, SYM as u64), 8); // SYMTAB
    header(&mut o, name_at[2 + n], 3, 0, strtab_at, strtab.len() as u64, (0, 0, 0), 1); // STRTAB
    header(&mut o, name_at[3 + n], 3, 0, shstrtab_at, shstrtab.len() as u64, (0, 0, 0), 1);
    let shnum = symtab_index + 3;

    // The file header.
    let mut h = Out { bytes: Vec::with_capacity(EHDR), big: o.big };
    h.bytes.extend_from_slice(&[0x7f, b'E', b'L', b'F', 2, if o.big { 2 } else { 1 }, 1, 0]);
    h.bytes.extend_from_slice(&[0; 8]);
    h.u16(2); // ET_EXEC
    h.u16(machine);
    h.u32(1);
    h.u64(0); // entry
    h.u64(0); // no program headers
    h.u64(shoff as u64);
    h.u32(0);
    h.u16(EHDR as u16);
    h.u16(0);
    h.u16(0);
    h.u16(SHDR as u16);
    h.u16(shnum as u16);
    h.u16((shnum - 1) as u16);
    o.bytes[..EHDR].copy_from_slice(&h.bytes);

    let mut out = Vec::with_capacity(4 + 4 * fixups.len() + o.bytes.len());
    out.extend_from_slice(&(fixups.len() as u32).to_le_bytes());
    for f in fixups {
        let f = u32::try_from(f).map_err(|_| Error::codegen("debug image exceeds 4 GiB"))?;
        out.extend_from_slice(&f.to_le_bytes());
    }
    out.extend_from_slice(&o.bytes);
    Ok(out)
}
