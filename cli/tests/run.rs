//! `kiln run` and `kiln compile` as a user runs them.

use std::process::Command;

fn kiln() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kiln"))
}

fn plugin(name: &str) -> String {
    format!("{}/../examples/plugins/wasm/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn run_a_wasi_command_with_a_preopen_env_and_args() {
    let dir = std::env::temp_dir().join(format!("kiln-cli-run-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("input.txt"), "one two three").unwrap();
    let out = kiln()
        .args(["run", "--dir"])
        .arg(format!("{}::/data", dir.display()))
        .args(["--env", "MOOD=calm", &plugin("greet-wasi.wasm"), "--", "cli", "4"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(4), "the guest's exit code; stderr: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(stdout, "hello, cli!\nmood: calm\ninput.txt has 3 words\n");
    assert_eq!(std::fs::read_to_string(dir.join("output.txt")).unwrap(), "ONE TWO THREE\n");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn run_with_too_little_fuel_stops_the_guest() {
    let out = kiln().args(["run", "--fuel", "1000", &plugin("greet-wasi.wasm")]).output().unwrap();
    assert_eq!(out.status.code(), Some(kiln_cli::commands::TRAP_EXIT_CODE.into()));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("all fuel consumed"), "{stderr}");
}

/// A scratch `.wat` file, removed on drop.
struct Wat(std::path::PathBuf);

impl Wat {
    fn new(name: &str, text: &str) -> Wat {
        let path = std::env::temp_dir().join(format!("kiln-cli-{}-{name}.wat", std::process::id()));
        std::fs::write(&path, text).unwrap();
        Wat(path)
    }
}

impl Drop for Wat {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn a_trap_prints_every_frame_and_exits_as_an_abort() {
    let wat = Wat::new(
        "trap",
        r#"(module $demo
             (memory (export "memory") 1)
             (func $inner (i32.store (i32.const 70000) (i32.const 1)))
             (func $middle (call $inner))
             (func (export "_start") (call $middle)))"#,
    );
    let out = kiln().arg("run").arg(&wat.0).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(kiln_cli::commands::TRAP_EXIT_CODE.into()), "{stderr}");
    assert!(stderr.contains("out of bounds memory access"), "{stderr}");
    let frames: Vec<&str> = stderr.lines().skip_while(|l| *l != "wasm backtrace:").skip(1).collect();
    assert_eq!(frames.len(), 3, "{stderr}");
    for (line, name) in frames.iter().zip(["demo!inner", "demo!middle", "demo!_start"]) {
        assert!(line.ends_with(name), "{stderr}");
    }
}

/// A Rust plugin built in the debug profile: `kiln run` names the source
/// file, line and function of every frame; `-D debug-info=n` leaves them
/// out; an unknown `-D` option is refused by name.
#[test]
fn a_trap_in_a_plugin_with_dwarf_names_its_source_lines() {
    let run = |extra: &[&str]| {
        let mut cmd = kiln();
        cmd.arg("run").args(extra).args(["--invoke", "order_total", &plugin("records-debug.wasm"), "7", "1"]);
        let out = cmd.output().unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (code, stderr) = run(&[]);
    assert_eq!(code, Some(kiln_cli::commands::TRAP_EXIT_CODE.into()), "{stderr}");
    for line in [
        "records.wasm!_ZN7records5price17h26384b803e8a84fdE",
        "at examples/plugins/records/src/lib.rs:18:5 in records::price",
        "at examples/plugins/records/src/lib.rs:23:5 in records::line_total",
        "at examples/plugins/records/src/lib.rs:29:5 in order_total",
    ] {
        assert!(stderr.contains(line), "`{line}` missing from:\n{stderr}");
    }
    let (_, stderr) = run(&["-D", "debug-info=n"]);
    assert!(stderr.contains("records5price") && !stderr.contains("lib.rs"), "{stderr}");
    let (code, stderr) = run(&["-D", "debug-lines"]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("unknown debug option `debug-lines`"), "{stderr}");
}

#[test]
fn feature_switches() {
    let wat = Wat::new(
        "wide",
        r#"(module
             (func (export "_start")
               (drop (drop (i64.add128 (i64.const 1) (i64.const 2) (i64.const 3) (i64.const 4))))))"#,
    );
    // Off by default: refused, naming the feature.
    let out = kiln().arg("run").arg(&wat.0).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("wide arithmetic"), "{stderr}");
    for on in [["-W", "wide-arithmetic=y"].as_slice(), &["-Wwide-arithmetic=y"]] {
        let out = kiln().arg("run").args(on).arg(&wat.0).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{on:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    let out = kiln().args(["run", "-W", "gc=y"]).arg(&wat.0).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("`gc`"));
    let out = kiln().args(["wast", "-W", "no-such=y", "x.wast"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown WebAssembly feature `no-such`"));
}

#[test]
fn run_refuses_a_missing_file_and_bad_flags() {
    let out = kiln().args(["run", "/nonexistent/plugin.wasm"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/plugin.wasm"));
    let out = kiln().args(["run", "--env", "x", "p.wasm"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn compile_writes_a_loadable_artifact() {
    let out_path = std::env::temp_dir().join(format!("kiln-cli-{}.kiln", std::process::id()));
    let status = kiln()
        .args(["compile", &format!("{}/../examples/hello/plugins/greet.wat", env!("CARGO_MANIFEST_DIR")), "-o"])
        .arg(&out_path)
        .status()
        .unwrap();
    assert!(status.success());
    let bytes = std::fs::read(&out_path).unwrap();
    // SAFETY: `kiln compile` wrote the file just above.
    #[allow(unsafe_code)]
    let module = unsafe { kiln::Module::from_bytes(&bytes) }.unwrap();
    assert!(module.exports().any(|e| e.name == "greet"));
    std::fs::remove_file(&out_path).unwrap();
}

#[test]
fn inspect_shows_engine_functions_and_disassembly() {
    let dir = std::env::temp_dir().join(format!("kiln-cli-inspect-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let artifact = dir.join("greet.kiln");
    let greet = format!("{}/../examples/hello/plugins/greet.wat", env!("CARGO_MANIFEST_DIR"));
    // An artifact for another machine is inspected all the same.
    let out = kiln()
        .args(["compile", &greet, "--target", "aarch64-unknown-linux-gnu", "-o"])
        .arg(&artifact)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = kiln().arg("inspect").arg(&artifact).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for expected in [
        "checksum ok",
        "target aarch64-unknown-linux-gnu",
        "functions: 2 defined, 1 imported",
        "greet: (func (param i32 i32) (result i32))",
        "host.log: func",
        "memory: memory 0 (memory 1)",
        "data segments: 1 (1 active, 0 passive), 7 bytes",
        "trap sites: ",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
    // A damaged artifact is reported as such, and what is left is shown.
    let mut bytes = std::fs::read(&artifact).unwrap();
    let last = bytes.len() - 20;
    bytes[last] ^= 1;
    std::fs::write(&artifact, &bytes).unwrap();
    let out = kiln().arg("inspect").arg(&artifact).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("DAMAGED"));
    // Not an artifact at all: an error naming the file.
    std::fs::write(&artifact, b"not elf").unwrap();
    let out = kiln().arg("inspect").arg(&artifact).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("greet.kiln: not a kiln artifact"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn every_command_has_help_and_the_tool_a_version() {
    for command in
        [&["--help"][..], &["run", "--help"], &["compile", "--help"], &["wast", "--help"], &["inspect", "--help"]]
    {
        let out = kiln().args(command).output().unwrap();
        assert!(out.status.success(), "{command:?}");
        assert!(String::from_utf8_lossy(&out.stdout).contains("Usage: kiln"), "{command:?}");
    }
    let out = kiln().arg("--version").output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), format!("kiln {}", env!("CARGO_PKG_VERSION")));
    let out = kiln().args(["run", "--no-such-flag", "x.wasm"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "usage errors exit 2");
}

#[test]
fn compile_emits_an_artifact_the_binary_or_clif() {
    let dir = std::env::temp_dir().join(format!("kiln-cli-emit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let greet = format!("{}/../examples/hello/plugins/greet.wat", env!("CARGO_MANIFEST_DIR"));
    let emit = |what: &str, out: &str| {
        let out = dir.join(out);
        let status = kiln().args(["compile", &greet, "--emit", what, "-o"]).arg(&out).output().unwrap();
        assert!(status.status.success(), "{what}: {}", String::from_utf8_lossy(&status.stderr));
        std::fs::read(out).unwrap()
    };
    assert!(emit("wasm", "g.wasm").starts_with(b"\0asm"));
    let clif = String::from_utf8(emit("clif", "g.clif")).unwrap();
    assert!(clif.contains(";; wasm function 2\nfunction u0:2("), "{clif}");
    assert!(emit("artifact", "g.kiln").starts_with(b"\x7fELF"));
    // Never over the input.
    let wasm = dir.join("g.wasm");
    let out = kiln().args(["compile", "--emit", "wasm"]).arg(&wasm).output().unwrap();
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("would overwrite the input"));
    std::fs::remove_dir_all(&dir).unwrap();
}
