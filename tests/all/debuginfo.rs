//! Source locations from the module's DWARF in traps, through the real path
//! (compile with `debug_info` → artifact bytes → load → run): a Rust plugin
//! built in the debug profile, and a C module whose trap lies in two
//! inlined functions.

use kiln::{Artifact, FrameInfo, Instance, Store, Trap, Val};
use kiln_tests::{config, load, section_range};

const RECORDS: &[u8] = include_bytes!("../../examples/plugins/wasm/records-debug.wasm");
const SCALE: &[u8] = include_bytes!("../fixtures/dwarf/scale.wasm");

/// The same plugin through `include_wasm!`, which writes source locations
/// when the build script asks (`Configure::debug_info`; by default, when
/// the profile has debug info).
static RECORDS_EMBEDDED: Artifact = kiln::include_wasm!("../examples/plugins/wasm/records-debug.wasm");

fn compile(wasm: &[u8], debug_info: bool) -> Vec<u8> {
    let mut config = config();
    config.debug_info(debug_info);
    kiln_build::compile(wasm, &config).unwrap_or_else(|e| panic!("compile failed: {e}"))
}

fn trap(module: &kiln::Module, export: &str, args: &[Val]) -> Trap {
    let mut store = Store::new(());
    let instance = Instance::new(&mut store, module, &[]).expect("instantiate");
    let f = instance.get_func(&mut store, export).expect("export");
    let mut results = [Val::I32(0)];
    let error = f.call(&mut store, args, &mut results).expect_err("must trap");
    error.into_trap().unwrap_or_else(|e| panic!("expected a trap, got {e}"))
}

/// The frame whose wasm function has `name` in its (mangled) name.
fn frame<'t>(trap: &'t Trap, name: &str) -> &'t FrameInfo {
    trap.frames()
        .iter()
        .find(|f| f.func_name.as_deref().is_some_and(|n| n.contains(name)))
        .unwrap_or_else(|| panic!("no frame of {name} in {trap:#}"))
}

/// `(file, line, function)` of each source frame of `frame`.
fn places(frame: &FrameInfo) -> Vec<(String, u32, String)> {
    frame
        .symbols
        .iter()
        .map(|s| (s.file.clone().unwrap_or_default(), s.line.unwrap_or(0), s.name.clone().unwrap_or_default()))
        .collect()
}

const LIB_RS: &str = "examples/plugins/records/src/lib.rs";

fn check_records_trap(trap: &Trap) {
    // A bounds-check panic: the panic handler's `unreachable`, core's
    // panic functions, then the plugin's own frames at their lines.
    assert_eq!(places(frame(trap, "records5price")), [(LIB_RS.to_string(), 18, "records::price".to_string())]);
    assert_eq!(
        places(frame(trap, "records10line_total")),
        [(LIB_RS.to_string(), 23, "records::line_total".to_string())]
    );
    assert_eq!(places(frame(trap, "order_total")), [(LIB_RS.to_string(), 29, "order_total".to_string())]);
    let panic_check = places(frame(trap, "panic_bounds_check"));
    assert!(panic_check[0].0.ends_with("library/core/src/panicking.rs"), "{panic_check:?}");
    let shown = format!("{trap:#}");
    assert!(shown.contains(&format!("at {LIB_RS}:18:5 in records::price")), "{shown}");
    assert!(shown.contains(&format!("at {LIB_RS}:29:5 in order_total")), "{shown}");
}

#[test]
fn rust_debug_plugin_traps_name_their_lines() {
    let module = load(&compile(RECORDS, true)).expect("load");
    let trap = trap(&module, "order_total", &[Val::I32(7), Val::I32(1)]);
    check_records_trap(&trap);

    // A memory fault in the plugin's own line, through core's read_volatile.
    let trap = self::trap(&module, "wild_read", &[Val::I32(100_000_000)]);
    assert_eq!(places(frame(&trap, "wild_read")), [(LIB_RS.to_string(), 37, "wild_read".to_string())]);
}

#[test]
fn without_debug_info_frames_have_no_source_and_the_code_is_the_same() {
    let with = compile(RECORDS, true);
    let without = compile(RECORDS, false);
    assert_eq!(
        with[section_range(&with, ".text")],
        without[section_range(&without, ".text")],
        "source locations must not change the code"
    );
    assert!(section_range(&without, ".kiln.srclocs").is_empty());
    assert!(!section_range(&with, ".kiln.srclocs").is_empty());
    let trap = trap(&load(&without).expect("load"), "order_total", &[Val::I32(7), Val::I32(1)]);
    assert!(trap.frames().len() >= 4, "{trap:#}");
    assert!(trap.frames().iter().all(|f| f.symbols.is_empty()), "{trap:#}");
}

#[test]
fn inlined_functions_are_frames_of_their_own() {
    let module = load(&compile(SCALE, true)).expect("load");
    let trap = trap(&module, "run", &[Val::I32(200)]);
    let file = "tests/fixtures/dwarf/scale.c".to_string();
    // `clamp` traps, inlined into `scale`, inlined into `run`: one wasm
    // frame, three source frames, innermost first, each at its line.
    assert_eq!(
        places(frame(&trap, "run")),
        [
            (file.clone(), 7, "clamp".to_string()),
            (file.clone(), 12, "scale".to_string()),
            (file, 17, "run".to_string())
        ]
    );
    assert!(trap.to_string().ends_with("(tests/fixtures/dwarf/scale.c:7:9 in clamp)"), "{trap}");
}

#[test]
fn include_wasm_writes_source_locations_when_the_build_asks() {
    assert_eq!(env!("KILN_DEBUG_INFO"), "1", "tests/build.rs asks for them");
    let module = kiln::Module::new(&RECORDS_EMBEDDED).expect("load the embedded plugin");
    check_records_trap(&trap(&module, "order_total", &[Val::I32(7), Val::I32(1)]));
}

#[test]
fn corrupt_dwarf_compiles_without_locations() {
    // Every DWARF section of the C module emptied or cut in half: the
    // module still compiles and runs; locations may be missing, never an
    // error.
    let mut wasm = SCALE.to_vec();
    let mut sections = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(SCALE) {
        if let Ok(wasmparser::Payload::CustomSection(c)) = payload {
            if c.name().starts_with(".debug_") {
                let start = c.data_offset() as usize;
                sections.push(start..start + c.data().len());
            }
        }
    }
    assert!(sections.len() >= 3, "the fixture carries DWARF");
    for r in sections {
        for b in &mut wasm[r.start + r.len() / 2..r.end] {
            *b = 0xff;
        }
    }
    let module = load(&compile(&wasm, true)).expect("load");
    let trap = trap(&module, "run", &[Val::I32(200)]);
    assert_eq!(frame(&trap, "run").wasm_offset, Some(0x58));
}

/// gdb on this very test binary, stopped in the embedded plugin (its code
/// runs in place, inside this executable's text): the symbols
/// `include_wasm!` wrote and the debug image the runtime registered give
/// the plugin's functions, files and lines.
#[cfg(all(target_os = "linux", target_arch = "x86_64", not(kiln_cross)))]
#[test]
fn gdb_sees_the_embedded_plugin_with_its_source_lines() {
    let exe = std::env::current_exe().expect("test binary");
    let out = std::process::Command::new("gdb")
        .args(["-batch", "-nx", "-ex", "set breakpoint pending on", "-ex", "break lib.rs:23", "-ex", "run"])
        .args(["-ex", "bt", "-ex", "info line *$pc", "-ex", "kill", "--args"])
        .arg(exe)
        .args(["debuginfo::include_wasm_writes_source_locations_when_the_build_asks", "--exact", "--test-threads=1"])
        .output()
        .expect("this test runs gdb (Debian: apt install gdb)");
    let text = String::from_utf8_lossy(&out.stdout);
    let frames: Vec<&str> = text.lines().filter(|l| l.starts_with('#')).collect();
    assert!(
        frames
            .first()
            .is_some_and(|f| f.contains("line_total") && f.contains("examples/plugins/records/src/lib.rs:23")),
        "gdb did not stop at the plugin's line:\n{text}"
    );
    assert!(frames.get(1).is_some_and(|f| f.contains("order_total") && f.contains("lib.rs:29")), "{text}");
    assert!(text.contains("Line 23 of \"examples/plugins/records/src/lib.rs\""), "{text}");
    assert!(frames.iter().any(|f| f.contains("include_wasm_writes_source_locations")), "host frames:\n{text}");
}
