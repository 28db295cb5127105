//! The bounds-checked walk of an artifact's ELF header and section table.
//!
//! Checks, in order: ELF magic and class (object's parser), the machine of
//! this host, kiln's OS/ABI value, kiln's e_flags bit; then every section
//! header: its name must be one kiln writes (anything else means a foreign
//! or tampered file) and its bytes must lie inside the artifact. No byte is
//! copied: sections are sub-slices of the artifact.

use crate::error::{Error, Result};
use kiln_artifact::sections as names;
use object::elf::FileHeader64;
use object::read::elf::{FileHeader, SectionHeader};
use object::Endianness;

/// The sections of an artifact, as sub-slices of its bytes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sections<'a> {
    /// `.text`, and its offset in the artifact.
    pub text: &'a [u8],
    /// Offset of `.text` from the start of the artifact.
    pub text_offset: usize,
    /// `.kiln.engine`
    pub engine: &'a [u8],
    /// `.kiln.info`
    pub info: &'a [u8],
    /// `.kiln.traps`
    pub traps: &'a [u8],
    /// `.kiln.addrmap`
    pub addrmap: &'a [u8],
    /// `.kiln.exceptions`
    pub exceptions: &'a [u8],
    /// `.kiln.srclocs`
    pub srclocs: &'a [u8],
    /// `.kiln.gdbjit`
    pub gdbjit: &'a [u8],
    /// `.rodata.wasm`
    pub data: &'a [u8],
    /// `.name.wasm`
    pub names: &'a [u8],
}

/// ELF `e_machine` of this host, and its name for messages.
fn host_machine() -> (u16, &'static str) {
    use object::elf;
    if cfg!(target_arch = "x86_64") {
        (elf::EM_X86_64.0, "x86_64")
    } else if cfg!(target_arch = "aarch64") {
        (elf::EM_AARCH64.0, "aarch64")
    } else if cfg!(target_arch = "riscv64") {
        (elf::EM_RISCV.0, "riscv64")
    } else if cfg!(target_arch = "s390x") {
        (elf::EM_S390.0, "s390x")
    } else {
        (elf::EM_NONE.0, std::env::consts::ARCH)
    }
}

fn machine_name(m: u16) -> String {
    use object::elf;
    match m {
        m if m == elf::EM_X86_64.0 => "x86_64".into(),
        m if m == elf::EM_AARCH64.0 => "aarch64".into(),
        m if m == elf::EM_RISCV.0 => "riscv64".into(),
        m if m == elf::EM_S390.0 => "s390x".into(),
        m if m == elf::EM_386.0 => "x86".into(),
        m if m == elf::EM_ARM.0 => "arm".into(),
        other => format!("machine {other}"),
    }
}

/// Parse the header and section table of `bytes`. Only those: the symbol
/// table is for tools and is never read here.
pub fn parse(bytes: &[u8]) -> Result<Sections<'_>> {
    let not_elf =
        |e: object::Error| Error::load("ELF header", format!("not a 64-bit ELF image ({e}); is this a kiln artifact?"));
    let header = FileHeader64::<Endianness>::parse(bytes).map_err(not_elf)?;
    let endian = header.endian().map_err(not_elf)?;
    let machine = header.e_machine(endian).0;
    let (host, host_name) = host_machine();
    if machine != host {
        return Err(Error::load(
            "ELF header",
            format!("artifact is for {}, this host is {host_name}", machine_name(machine)),
        ));
    }
    let os_abi = header.e_ident().os_abi.0;
    if os_abi != names::ELFOSABI_KILN {
        return Err(Error::load(
            "ELF header",
            format!("OS/ABI is {os_abi:#x}, not kiln's {:#x}: not a kiln artifact", names::ELFOSABI_KILN),
        ));
    }
    if header.e_flags(endian).0 & names::EF_KILN_MODULE == 0 {
        return Err(Error::load("ELF header", "the kiln-module flag is not set in e_flags"));
    }

    let mut s = Sections::default();
    let mut seen = [false; names::ALL.len()];
    let table = header
        .sections(endian, bytes)
        .map_err(|e| Error::load("section table", format!("cannot read the section headers ({e})")))?;
    for (index, section) in table.iter().enumerate() {
        let name_bytes = table
            .section_name(endian, section)
            .map_err(|e| Error::load("section table", format!("section {index}: bad name ({e})")))?;
        // Known names are compared as bytes; only an unknown one needs
        // turning into text, for the message.
        let Some(which) = names::ALL.iter().position(|n| n.as_bytes() == name_bytes) else {
            if names::ELF_BOOKKEEPING.iter().any(|n| n.as_bytes() == name_bytes) {
                continue;
            }
            let name = String::from_utf8_lossy(name_bytes);
            return Err(Error::load("section table", format!("unknown section `{name}`: not a kiln artifact")));
        };
        let name = names::ALL[which];
        if std::mem::replace(&mut seen[which], true) {
            return Err(Error::load("section table", format!("section `{name}` appears twice")));
        }
        let (offset, size) =
            section.file_range(endian).ok_or_else(|| Error::load(name, "section has no bytes in the file"))?;
        let range = usize::try_from(offset)
            .ok()
            .zip(usize::try_from(size).ok())
            .and_then(|(o, n)| Some(o..o.checked_add(n)?))
            .filter(|r| r.end <= bytes.len())
            .ok_or_else(|| {
                Error::load(name, format!("bytes {offset:#x}+{size:#x} lie outside the {}-byte artifact", bytes.len()))
            })?;
        let data = &bytes[range.clone()];
        match name {
            names::TEXT => {
                s.text = data;
                s.text_offset = range.start;
            }
            names::ENGINE => s.engine = data,
            names::INFO => s.info = data,
            names::TRAPS => s.traps = data,
            names::ADDRMAP => s.addrmap = data,
            names::EXCEPTIONS => s.exceptions = data,
            names::SRCLOCS => s.srclocs = data,
            names::GDBJIT => s.gdbjit = data,
            names::DATA => s.data = data,
            names::NAMES => s.names = data,
            _ => {}
        }
    }
    for (i, &name) in names::ALL.iter().enumerate() {
        if !seen[i] {
            return Err(Error::load("section table", format!("section `{name}` is missing")));
        }
    }
    if s.text_offset % names::TEXT_ALIGN as usize != 0 {
        return Err(Error::load(names::TEXT, "text is not aligned in the artifact"));
    }
    Ok(s)
}
