//! Refused artifacts: every corruption is an `Err` naming what is wrong,
//! never undefined behaviour.

use kiln::{ErrorKind, Module};
use kiln_tests::{artifact, section_range};

const WAT: &str = r#"(module (memory 1) (func (export "f") (result i32) i32.const 1))"#;

fn load_err(bytes: &[u8]) -> String {
    match Module::from_bytes(bytes) {
        Ok(_) => panic!("corrupt artifact was accepted"),
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::Load, "{e}");
            e.to_string()
        }
    }
}

#[test]
fn good_artifact_loads_and_is_copied() {
    let m = Module::from_bytes(&artifact(WAT)).unwrap();
    assert!(!m.is_in_place());
}

#[test]
fn truncated_artifact() {
    let bytes = artifact(WAT);
    for len in [0, 3, 16, 63, 64, bytes.len() / 2, bytes.len() - 1] {
        load_err(&bytes[..len]);
    }
}

#[test]
fn not_an_elf_file() {
    let e = load_err(b"\0asm\x01\0\0\0");
    assert!(e.contains("ELF"), "{e}");
}

#[test]
fn flipped_header_bytes() {
    let good = artifact(WAT);
    // OS/ABI (e_ident[7]) and the class byte.
    let mut bytes = good.clone();
    bytes[7] ^= 0xff;
    assert!(load_err(&bytes).contains("OS/ABI"));
    let mut bytes = good.clone();
    bytes[4] = 1; // ELFCLASS32
    load_err(&bytes);
    // Every byte of the ELF header, flipped in turn: loading either
    // succeeds (the byte is unused) or fails cleanly.
    for i in 0..64 {
        let mut bytes = good.clone();
        bytes[i] ^= 0x5a;
        let _ = Module::from_bytes(&bytes);
    }
}

#[test]
fn artifact_for_another_architecture() {
    let other = if cfg!(target_arch = "aarch64") { "x86_64-unknown-linux-gnu" } else { "aarch64-unknown-linux-gnu" };
    let wasm = wat::parse_str(WAT).unwrap();
    let bytes = kiln_build::compile(&wasm, &kiln_build::Config::for_target(other).unwrap()).unwrap();
    let e = load_err(&bytes);
    assert!(e.contains("artifact is for"), "{e}");
}

#[test]
fn older_format_version() {
    let mut bytes = artifact(WAT);
    let engine = section_range(&bytes, ".kiln.engine");
    bytes[engine.start] = bytes[engine.start].wrapping_sub(1);
    let e = load_err(&bytes);
    assert!(e.contains("format version"), "{e}");
}

#[test]
fn other_kiln_version() {
    let mut bytes = artifact(WAT);
    let engine = section_range(&bytes, ".kiln.engine");
    // The version string follows the format byte and its length.
    bytes[engine.start + 2] = b'9';
    let e = load_err(&bytes);
    assert!(e.contains("compiled by kiln 9"), "{e}");
}

#[test]
fn corrupt_metadata_sections() {
    let good = artifact(WAT);
    for name in [".kiln.info", ".kiln.traps", ".kiln.engine", ".kiln.addrmap"] {
        let r = section_range(&good, name);
        // Garbage over the whole section.
        let mut bytes = good.clone();
        for (i, b) in bytes[r.clone()].iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(151).wrapping_add(7);
        }
        let _ = Module::from_bytes(&bytes).err().map(|e| assert_eq!(e.kind(), ErrorKind::Load));
        // Every single byte flipped: never a crash.
        for i in r.clone() {
            let mut bytes = good.clone();
            bytes[i] ^= 0xff;
            if let Err(e) = Module::from_bytes(&bytes) {
                assert_eq!(e.kind(), ErrorKind::Load);
            }
        }
    }
}

#[test]
fn readelf_sees_the_sections_and_symbols() {
    use object::{Object, ObjectSection, ObjectSymbol};
    let bytes = artifact(r#"(module (func $answer (export "answer") (result i32) i32.const 42))"#);
    let file = object::File::parse(&*bytes).unwrap();
    let names: Vec<_> = file.sections().filter_map(|s| s.name().ok().map(str::to_owned)).collect();
    for want in [".text", ".kiln.engine", ".kiln.info", ".kiln.traps", ".kiln.addrmap", ".rodata.wasm", ".name.wasm"] {
        assert!(names.iter().any(|n| n == want), "missing {want} in {names:?}");
    }
    assert!(file.symbols().any(|s| s.name() == Ok("wasm[0]::function[0]::answer")));
}
