//! The artifact target: valid artifacts, damaged in every way a file can
//! be damaged (bit flips, truncations, splices, swapped sections, hostile
//! offsets and counts), given to `Module::from_bytes`.
//!
//! Two kinds of damage, two expectations:
//! - **left unsealed** (the integrity trailer no longer matches): refused,
//!   with an error that says the artifact is damaged;
//! - **resealed** (the checksum recomputed, as a crafted file would be):
//!   the loader's deeper checks see the damage; it must refuse it or load
//!   a module that can be inspected and dropped. Such a module is not
//!   instantiated: running code whose metadata was crafted is outside the
//!   contract of the `unsafe` constructor, as for a crafted shared library.
//!
//! Either way the process must not die. `main.rs` runs this target in
//! child processes, so a crash is counted and its case kept.

use crate::generate;
use crate::rng::Rng;
use crate::runner::{CaseReport, Finding};
use kiln_artifact::integrity;
use object::read::elf::{ElfFile64, SectionHeader};
use std::sync::OnceLock;

/// Valid artifacts to damage: differential modules (memories, tables,
/// data and element segments, globals, many functions), compiled for this
/// machine.
fn bases() -> &'static [Vec<u8>] {
    static BASES: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    BASES.get_or_init(|| {
        let mut out = Vec::new();
        let mut seed = 0;
        while out.len() < 12 {
            let mut rng = Rng::new("artifact bases", seed);
            seed += 1;
            let config = generate::differential_config(&mut rng);
            if let Some(wasm) = generate::smith(config, &mut rng, true) {
                if let Ok(bytes) = crate::engines::kiln::compile(&wasm, false) {
                    out.push(bytes);
                }
            }
        }
        out
    })
}

/// The damaged artifact of case `seed`, whether it was resealed, and what
/// was done to it.
pub fn mutate(seed: u64) -> (Vec<u8>, bool, String) {
    let mut rng = Rng::new("artifacts", seed);
    let bases = bases();
    let base = rng.pick(bases);
    // The ELF image without its trailer: mutations work on it, and sealing
    // (or not) comes last.
    let mut image = base[..base.len() - integrity::TRAILER_LEN].to_vec();
    let sections = sections(&image);
    let what = match rng.below(8) {
        0 => {
            let n = 1 + rng.below(8);
            for _ in 0..n {
                let at = rng.below(image.len() as u64 * 8);
                image[(at / 8) as usize] ^= 1 << (at % 8);
            }
            format!("{n} bit flips")
        }
        1 => {
            let len = rng.below(image.len() as u64) as usize;
            image.truncate(len);
            format!("truncated to {len} bytes")
        }
        2 => {
            let other = rng.pick(bases);
            let other = &other[..other.len() - integrity::TRAILER_LEN];
            let (i, j) = (rng.below(image.len() as u64) as usize, rng.below(other.len() as u64) as usize);
            image.truncate(i);
            image.extend_from_slice(&other[j..]);
            format!("first {i} bytes spliced to another artifact's bytes from {j}")
        }
        3 if sections.len() >= 2 => {
            // One section's bytes written over another's (as much as fits).
            let a = rng.pick(&sections).clone();
            let b = rng.pick(&sections).clone();
            let n = a.1.len().min(b.1.len());
            let src = image[a.1.start..a.1.start + n].to_vec();
            image[b.1.start..b.1.start + n].copy_from_slice(&src);
            format!("{n} bytes of {} written over {}", a.0, b.0)
        }
        4 | 5 if !sections.is_empty() => {
            // Hostile integers where the tables keep their offsets and counts.
            let (name, range) = rng.pick(&sections).clone();
            if range.len() < 4 {
                return (seal(image), true, format!("{name} left alone (too small)"));
            }
            let at = range.start + (rng.below((range.len() - 3) as u64) as usize & !3);
            let value =
                *rng.pick(&[0u32, 1, 0x7f, 0x80, 0xff, 0xffff, 0x7fff_ffff, 0x8000_0000, u32::MAX, range.len() as u32]);
            image[at..at + 4].copy_from_slice(&value.to_le_bytes());
            format!("{value:#x} written at {name}+{:#x}", at - range.start)
        }
        6 => {
            // The ELF header and section header table: offsets, sizes,
            // counts.
            let shoff = u64::from_le_bytes(image[0x28..0x30].try_into().unwrap_or_default()) as usize;
            let region = if rng.chance(1, 2) || shoff >= image.len() { 0..64 } else { shoff..image.len() };
            let at = region.start + rng.below(region.len().saturating_sub(7).max(1) as u64) as usize;
            let value = *rng.pick(&[0u64, 1, 0xffff, 0x7fff_ffff, u32::MAX as u64, u64::MAX, image.len() as u64]);
            let end = (at + 8).min(image.len());
            image[at..end].copy_from_slice(&value.to_le_bytes()[..end - at]);
            format!("{value:#x} written at ELF offset {at:#x}")
        }
        _ => {
            let n = 1 + rng.below(16);
            for _ in 0..n {
                let at = rng.below(image.len() as u64) as usize;
                image[at] = rng.next_u64() as u8;
            }
            format!("{n} random bytes")
        }
    };
    if rng.chance(1, 2) {
        (seal(image), true, format!("{what}, resealed"))
    } else {
        let mut bytes = image;
        let trailer = &base[base.len() - integrity::TRAILER_LEN..];
        bytes.extend_from_slice(trailer);
        (bytes, false, what)
    }
}

fn seal(mut image: Vec<u8>) -> Vec<u8> {
    integrity::seal(&mut image);
    image
}

/// (name, file range) of every section with contents.
fn sections(image: &[u8]) -> Vec<(String, std::ops::Range<usize>)> {
    let Ok(file) = ElfFile64::<object::Endianness>::parse(image) else { return Vec::new() };
    let endian = file.endian();
    let table = file.elf_section_table();
    table
        .iter()
        .filter_map(|s| {
            let name = String::from_utf8_lossy(table.section_name(endian, s).ok()?).into_owned();
            let (off, size) = s.file_range(endian)?;
            Some((name, off as usize..(off + size) as usize))
        })
        .filter(|(_, r)| !r.is_empty() && r.end <= image.len())
        .collect()
}

/// Run artifact case `seed`.
pub fn case(seed: u64) -> CaseReport {
    let (bytes, resealed, what) = mutate(seed);
    check(bytes, resealed, &what)
}

/// Load damaged artifact bytes; `resealed` says whether their checksum was
/// recomputed after the damage described by `what`.
pub fn check(bytes: Vec<u8>, resealed: bool, what: &str) -> CaseReport {
    let mut report = CaseReport::default();
    let unchanged = bases().contains(&bytes);
    // SAFETY: a damaged artifact breaks the contract only when its code,
    // or the tables that steer it, are used; the loader validates what it
    // reads and maps the text without running it, and the module is only
    // inspected and dropped, never instantiated.
    match unsafe { kiln::Module::from_bytes(&bytes) } {
        Err(e) => {
            let msg = e.to_string();
            if !resealed && !msg.contains("damaged") && !msg.contains("integrity trailer") {
                report.finding = Some(Finding {
                    what: format!("{what}: refused without saying the artifact is damaged: {msg}"),
                    files: vec![("kiln", bytes)],
                });
            } else {
                report.count("refused", 1);
            }
        }
        Ok(module) => {
            if !resealed && !unchanged {
                report.finding = Some(Finding {
                    what: format!("{what}: loaded although the checksum no longer matches"),
                    files: vec![("kiln", bytes)],
                });
                return report;
            }
            // Everything a host may ask of a module before instantiating it.
            let _ = module.name();
            let _ = module.target();
            let _ = module.code_range();
            let exports = module.exports().map(|e| format!("{e:?}")).count();
            let imports = module.imports().map(|i| format!("{i:?}")).count();
            report.count("loaded", 1);
            report.count("exports and imports listed", (exports + imports) as u64);
        }
    }
    report
}
