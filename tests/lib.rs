//! Helpers shared by kiln's integration tests: compile text wasm through
//! the real pipeline (kiln-build → artifact bytes → kiln runtime), and build
//! broken artifacts on purpose.

use object::read::elf::{ElfFile64, SectionHeader};
use object::Endianness;

/// What the tests compile with at run time: the host, with the target
/// features this crate is built with (as `include_wasm!` compiles), so a
/// test binary built for riscv64 with V compiles SIMD for V too.
pub fn config() -> kiln_build::Config {
    let mut config = kiln_build::Config::host();
    let features = option_env!("KILN_TARGET_FEATURES").unwrap_or_default();
    config.target_features(features.split(',').filter(|f| !f.is_empty()));
    config
}

/// Compile WAT with the library compiler for the host and return the
/// artifact bytes.
pub fn artifact(wat: &str) -> Vec<u8> {
    let wasm = wat::parse_str(wat).expect("test WAT parses");
    kiln_build::compile(&wasm, &config()).unwrap_or_else(|e| panic!("compile failed: {e}"))
}

/// Load artifact bytes that kiln_build wrote, as an application loading
/// them at run time would. Tests may have damaged them (the checksum
/// catches that), never crafted them.
#[allow(unsafe_code)]
pub fn load(bytes: &[u8]) -> kiln::Result<kiln::Module> {
    // SAFETY: every caller passes bytes from kiln_build::compile, intact or
    // damaged without resealing, which the integrity check refuses.
    unsafe { kiln::Module::from_bytes(bytes) }
}

/// Load artifact bytes a test edited on purpose, with the checksum
/// recomputed so the loader's deeper checks (header, sections, metadata)
/// see the edit. Such a module is only loaded, never instantiated or run.
#[allow(unsafe_code)]
pub fn load_edited(bytes: &[u8]) -> kiln::Result<kiln::Module> {
    let mut bytes = bytes.to_vec();
    assert!(kiln_artifact::integrity::reseal(&mut bytes), "not a sealed artifact");
    // SAFETY: a crafted artifact breaks the contract only when its code or
    // the tables that steer it are used; loading validates every table it
    // reads and copies the text without running it, and the callers drop
    // the module without instantiating it.
    unsafe { kiln::Module::from_bytes(&bytes) }
}

/// Compile WAT and load it, as an application loading artifact bytes at
/// run time would.
pub fn module(wat: &str) -> kiln::Module {
    load(&artifact(wat)).unwrap_or_else(|e| panic!("load failed: {e}"))
}

/// Instantiate a module without imports in a fresh store.
pub fn instantiate(wat: &str) -> (kiln::Store<()>, kiln::Instance) {
    let module = module(wat);
    let mut store = kiln::Store::new(());
    let instance = kiln::Instance::new(&mut store, &module, &[]).unwrap_or_else(|e| panic!("instantiate failed: {e}"));
    (store, instance)
}

/// The file range of section `name` in artifact bytes.
pub fn section_range(bytes: &[u8], name: &str) -> std::ops::Range<usize> {
    let file = ElfFile64::<Endianness>::parse(bytes).expect("artifact is ELF");
    let endian = file.endian();
    let table = file.elf_section_table();
    for section in table.iter() {
        let n = table.section_name(endian, section).unwrap();
        if n == name.as_bytes() {
            let (off, size) = section.file_range(endian).unwrap();
            return off as usize..(off + size) as usize;
        }
    }
    panic!("no section {name}");
}
