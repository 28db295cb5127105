//! Source locations from the module's DWARF (the `.debug_*` custom
//! sections Rust, C, C++ and Zig debug builds carry), for `.kiln.srclocs`
//! and for compile errors that name a source line.
//!
//! DWARF for wasm gives code addresses as offsets from the start of the
//! code section's contents; everything kiln records is a byte offset in the
//! module, so each address here is moved by the code section's start.
//! Debug information is best-effort, as custom sections are: DWARF that
//! does not parse gives no locations, never a failed compile.

use addr2line::gimli::{self, EndianSlice, LittleEndian};
use kiln_artifact::srclocs::{SourceFrame, SrcLocBuilder};
use std::ops::Range;

type Reader<'a> = EndianSlice<'a, LittleEndian>;

/// The DWARF sections of a module and where its code section starts.
#[derive(Default)]
pub(crate) struct WasmDwarf<'a> {
    sections: Vec<(&'a str, &'a [u8])>,
    /// Byte offset in the module of the code section's contents (its
    /// function count), to which DWARF addresses are relative.
    code_start: u32,
}

impl<'a> WasmDwarf<'a> {
    /// Keep a custom section if it is a DWARF one.
    pub(crate) fn custom_section(&mut self, name: &'a str, data: &'a [u8]) {
        if name.starts_with(".debug_") {
            self.sections.push((name, data));
        }
    }

    pub(crate) fn set_code_start(&mut self, offset: usize) {
        self.code_start = offset as u32;
    }

    /// Whether the module has line information to read.
    pub(crate) fn has_lines(&self) -> bool {
        self.sections.iter().any(|&(n, d)| n == ".debug_line" && !d.is_empty())
    }

    fn context(&self) -> Option<addr2line::Context<Reader<'a>>> {
        if !self.has_lines() {
            return None;
        }
        let dwarf = gimli::Dwarf::load(|id| -> Result<Reader<'a>, gimli::Error> {
            let data = self.sections.iter().find(|&&(n, _)| n == id.name()).map_or(&[][..], |&(_, d)| d);
            Ok(EndianSlice::new(data, LittleEndian))
        })
        .ok()?;
        addr2line::Context::from_dwarf(dwarf).ok()
    }

    /// `.kiln.srclocs` for the function bodies `bodies` (module byte
    /// ranges, sorted): every line-table row inside a body, with the
    /// functions inlined there. Empty when the module has no usable DWARF.
    pub(crate) fn srclocs(&self, bodies: &[Range<u32>]) -> Vec<u8> {
        let Some(cx) = self.context() else {
            return Vec::new();
        };
        let mut builder = SrcLocBuilder::default();
        let Ok(rows) = cx.find_location_range(0, u64::from(u32::MAX)) else {
            return Vec::new();
        };
        for (addr, len, location) in rows {
            let Some(start) = u32::try_from(addr).ok().and_then(|a| a.checked_add(self.code_start)) else {
                continue;
            };
            // Rows of code the linker dropped carry tombstone addresses,
            // which may land anywhere: only rows inside a body count, cut
            // at its end.
            let Some(body) = body_of(bodies, start) else {
                continue;
            };
            let end = u32::try_from(len).ok().and_then(|l| start.checked_add(l)).map_or(body.end, |e| e.min(body.end));
            let mut chain = frames(&cx, addr);
            if chain.is_empty() {
                chain.push(SourceFrame {
                    function: None,
                    file: location.file.map(str::to_owned),
                    line: location.line.unwrap_or(0),
                    column: location.column.unwrap_or(0),
                });
            }
            builder.push(start, end, chain);
        }
        if builder.is_empty() {
            return Vec::new();
        }
        builder.finish()
    }

    /// `file:line:column` of the instruction at module offset `offset`, for
    /// error messages.
    pub(crate) fn location(&self, offset: usize) -> Option<String> {
        let cx = self.context()?;
        let addr = (offset as u64).checked_sub(u64::from(self.code_start))?;
        let loc = cx.find_location(addr).ok()??;
        let file = loc.file?;
        Some(match (loc.line, loc.column) {
            (Some(l), Some(c)) => format!("{file}:{l}:{c}"),
            (Some(l), None) => format!("{file}:{l}"),
            _ => file.to_owned(),
        })
    }
}

fn body_of(bodies: &[Range<u32>], offset: u32) -> Option<Range<u32>> {
    let i = bodies.partition_point(|b| b.start <= offset).checked_sub(1)?;
    bodies.get(i).filter(|b| b.contains(&offset)).cloned()
}

/// The source frames at DWARF address `addr`, innermost first.
fn frames(cx: &addr2line::Context<Reader<'_>>, addr: u64) -> Vec<SourceFrame> {
    let mut out = Vec::new();
    let Ok(mut iter) = cx.find_frames(addr).skip_all_loads() else {
        return out;
    };
    while let Ok(Some(frame)) = iter.next() {
        let function = frame.function.as_ref().and_then(|f| f.demangle().ok()).map(|n| n.into_owned());
        let (file, line, column) = match &frame.location {
            Some(l) => (l.file.map(str::to_owned), l.line.unwrap_or(0), l.column.unwrap_or(0)),
            None => (None, 0, 0),
        };
        out.push(SourceFrame { function, file, line, column });
        // The table keeps no more than this (hostile DWARF could nest
        // without end).
        if out.len() == kiln_artifact::srclocs::MAX_DEPTH {
            break;
        }
    }
    out
}
