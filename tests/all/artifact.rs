//! Refused artifacts: every corruption is an `Err` naming what is wrong,
//! never undefined behaviour.

use kiln::{ErrorKind, Module};
use kiln_tests::{artifact, load, load_edited, section_range};

const WAT: &str = r#"(module (memory 1) (func (export "f") (result i32) i32.const 1))"#;

fn load_err(bytes: &[u8]) -> String {
    refused(load(bytes))
}

/// [`load_err`] for an edit made on purpose: the checksum is recomputed so
/// the check behind it sees the edit.
fn edited_err(bytes: &[u8]) -> String {
    refused(load_edited(bytes))
}

fn refused(result: kiln::Result<Module>) -> String {
    match result {
        Ok(_) => panic!("corrupt artifact was accepted"),
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::Load, "{e}");
            e.to_string()
        }
    }
}

#[test]
fn good_artifact_loads_and_is_copied() {
    let m = load(&artifact(WAT)).unwrap();
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
    assert!(e.contains("no integrity trailer"), "{e}");
    let mut sealed = b"\0asm\x01\0\0\0".to_vec();
    kiln_artifact::integrity::seal(&mut sealed);
    let e = load_err(&sealed);
    assert!(e.contains("ELF"), "{e}");
}

#[test]
fn any_damaged_byte_is_refused_as_damage() {
    // Text, metadata, data, headers and the trailer itself: a flipped bit
    // anywhere is reported as damage before anything else is read.
    let good = artifact(WAT);
    for i in (0..good.len()).step_by(7).chain(good.len() - 16..good.len()) {
        let mut bytes = good.clone();
        bytes[i] ^= 1 << (i % 8);
        let e = load_err(&bytes);
        assert!(e.contains("damaged") || e.contains("no integrity trailer"), "byte {i}: {e}");
    }
}

/// Static bytes from outside the executable (`Artifact::from_static_bytes`)
/// are checked as transient ones are; only the macro's artifacts are not.
#[test]
fn static_bytes_from_elsewhere_are_checked() {
    let good = artifact(WAT);
    for i in [0, good.len() / 2, good.len() - 20] {
        let mut bytes = good.clone();
        bytes[i] ^= 0x40;
        let leaked: &'static [u8] = Box::leak(bytes.into_boxed_slice());
        // SAFETY: written by kiln_build::compile, then damaged (which the
        // contract allows: damage is what the check detects).
        #[allow(unsafe_code)]
        let a: &'static kiln::Artifact = Box::leak(Box::new(unsafe { kiln::Artifact::from_static_bytes(leaked) }));
        let e = refused(Module::new(a));
        assert!(e.contains("damaged"), "byte {i}: {e}");
    }
}

#[test]
fn flipped_header_bytes() {
    let good = artifact(WAT);
    // OS/ABI (e_ident[7]) and the class byte.
    let mut bytes = good.clone();
    bytes[7] ^= 0xff;
    assert!(edited_err(&bytes).contains("OS/ABI"));
    let mut bytes = good.clone();
    bytes[4] = 1; // ELFCLASS32
    edited_err(&bytes);
    // Every byte of the ELF header, flipped in turn: loading either
    // succeeds (the byte is unused) or fails cleanly.
    for i in 0..64 {
        let mut bytes = good.clone();
        bytes[i] ^= 0x5a;
        let _ = load_edited(&bytes);
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
    let e = edited_err(&bytes);
    assert!(e.contains("format version"), "{e}");
}

#[test]
fn other_kiln_version() {
    let mut bytes = artifact(WAT);
    let engine = section_range(&bytes, ".kiln.engine");
    // The version string follows the format byte and its length.
    bytes[engine.start + 2] = b'9';
    let e = edited_err(&bytes);
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
        let _ = load_edited(&bytes).err().map(|e| assert_eq!(e.kind(), ErrorKind::Load));
        // Every single byte flipped: never a crash.
        for i in r.clone() {
            let mut bytes = good.clone();
            bytes[i] ^= 0xff;
            if let Err(e) = load_edited(&bytes) {
                assert_eq!(e.kind(), ErrorKind::Load);
            }
        }
    }
}

/// Every byte of the metadata of a module with imports flipped: refused,
/// or loaded with imports and exports that can be listed. (A flipped
/// import type index once made `Module::imports` index out of bounds.)
#[test]
fn damaged_import_metadata_is_refused_or_consistent() {
    let good = artifact(
        r#"(module
          (import "env" "f" (func (param i32) (result i64)))
          (import "env" "m" (memory 1))
          (import "env" "g" (global (mut f32)))
          (import "env" "t" (table 1 funcref))
          (func (export "h") (param i32) (result i64) (call 0 (local.get 0))))"#,
    );
    let r = section_range(&good, ".kiln.info");
    for i in r {
        for flip in [0x01, 0x10, 0xff] {
            let mut bytes = good.clone();
            bytes[i] ^= flip;
            match load_edited(&bytes) {
                Ok(m) => {
                    let listed = m.imports().map(|i| format!("{:?}", i.ty)).count() + m.exports().count();
                    assert!(listed > 0);
                }
                Err(e) => assert_eq!(e.kind(), ErrorKind::Load, "{e}"),
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

/// A module whose `c` traps after `filler` memory stores (each one an
/// address-map entry, so 300 of them span several index blocks), called
/// through `b`; with a data segment of `data` bytes, which decides whether
/// loading from bytes copies the kept sections to the heap (small) or
/// after the text (large).
fn trapping_module(filler: usize, data: usize) -> Vec<u8> {
    let stores: String =
        (0..filler).map(|i| format!("local.get 0 local.get 0 i32.store offset={}\n", i % 100)).collect();
    let bytes: String = (0..data).map(|i| format!("\\{:02x}", i % 251)).collect();
    artifact(&format!(
        r#"(module
             (memory (export "m") 2)
             (func $b (export "b") (param i32) (result i32) (call $c (local.get 0)))
             (func $c (param i32) (result i32) {stores} unreachable)
             (data (i32.const 0) "{bytes}"))"#
    ))
}

/// Load three ways: copied from transient bytes, and from static bytes
/// (metadata read in place, text copied).
fn loads(bytes: &[u8]) -> Vec<Module> {
    let leaked: &'static [u8] = Box::leak(bytes.to_vec().into_boxed_slice());
    // SAFETY: the bytes come from kiln_build::compile (trapping_module).
    #[allow(unsafe_code)]
    let artifact: &'static kiln::Artifact = Box::leak(Box::new(unsafe { kiln::Artifact::from_static_bytes(leaked) }));
    vec![load(bytes).unwrap(), Module::new(artifact).unwrap()]
}

/// The wasm offsets of the trap's frames (innermost first), and the first
/// `n` bytes of memory after instantiation.
fn trap_offsets_and_memory(m: &Module, n: usize) -> (Vec<u32>, Vec<u8>) {
    let mut store = kiln::Store::new(());
    let instance = kiln::Instance::new(&mut store, m, &[]).unwrap();
    let b = instance.get_typed_func::<i32, i32>(&mut store, "b").unwrap();
    let err = b.call(&mut store, 120_000).unwrap_err();
    let trap = err.trap().unwrap();
    assert_eq!(trap.code(), kiln::TrapCode::UnreachableCodeReached);
    let offsets: Vec<u32> =
        trap.frames().iter().map(|f| f.wasm_offset.expect("every frame has a wasm offset")).collect();
    let memory = instance.get_memory(&mut store, "m").unwrap();
    let mut buf = vec![0u8; n];
    memory.read(&mut store, 0, &mut buf).unwrap();
    (offsets, buf)
}

#[test]
fn backtraces_and_data_survive_every_load_path() {
    for data in [16, 100_000] {
        let want_data: Vec<u8> = (0..data).map(|i| (i % 251) as u8).collect();
        let short = trapping_module(20, data);
        let long = trapping_module(300, data);
        for (ms, ml) in loads(&short).iter().zip(&loads(&long)) {
            let (short_frames, short_mem) = trap_offsets_and_memory(ms, data);
            let (long_frames, long_mem) = trap_offsets_and_memory(ml, data);
            assert_eq!(short_mem, want_data);
            assert_eq!(long_mem, want_data);
            assert_eq!(short_frames.len(), 2, "{short_frames:?}");
            assert_eq!(long_frames.len(), 2, "{long_frames:?}");
            // `b`'s call site does not move (the section and body sizes
            // take two LEB128 bytes in both); the trap moves by the 280
            // extra stores, 7 bytes each in the wasm binary.
            assert_eq!(short_frames[1], long_frames[1]);
            assert_eq!(long_frames[0] - short_frames[0], 280 * 7);
            assert!(short_frames[1] < short_frames[0]);
        }
    }
}
