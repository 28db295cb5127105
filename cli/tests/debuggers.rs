//! gdb sees the code `kiln run` copies into memory: the runtime registers
//! each module compiled with debug info through the GDB JIT interface, with
//! a symbol per function and the line table translated from the module's
//! DWARF. A Rust plugin built in the debug profile: a breakpoint on one of
//! its source lines stops there, and `bt` shows its frames with their
//! source names, files and lines, then the trampoline by its symbol, then
//! the host's frames.

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
#[test]
fn gdb_breaks_on_a_plugin_source_line_in_copied_code() {
    let plugin = format!("{}/../examples/plugins/wasm/records-debug.wasm", env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new("gdb")
        .args(["-batch", "-nx", "-ex", "set breakpoint pending on", "-ex", "break lib.rs:18", "-ex", "run"])
        .args(["-ex", "bt", "-ex", "info line *$pc", "-ex", "kill", "--args"])
        .arg(env!("CARGO_BIN_EXE_kiln"))
        .args(["run", "--invoke", "order_total", &plugin, "7", "1"])
        .output()
        .expect("this test runs gdb (Debian: apt install gdb)");
    let text = String::from_utf8_lossy(&out.stdout);
    let frames: Vec<&str> = text.lines().filter(|l| l.starts_with('#')).collect();
    assert!(
        text.contains("Breakpoint 1, records::price () at examples/plugins/records/src/lib.rs:18"),
        "gdb did not stop at the plugin's line:\n{text}"
    );
    let expect = [
        ("records::price ()", "examples/plugins/records/src/lib.rs:18"),
        ("records::line_total ()", "examples/plugins/records/src/lib.rs:23"),
        ("order_total ()", "examples/plugins/records/src/lib.rs:29"),
    ];
    for (i, (function, line)) in expect.iter().enumerate() {
        let frame = frames.get(i).copied().unwrap_or_default();
        assert!(frame.contains(function) && frame.contains(line), "frame {i} is not {function} at {line}:\n{text}");
    }
    assert!(frames.iter().any(|f| f.contains("kiln.records.order_total.array_entry")), "{text}");
    assert!(frames.iter().any(|f| f.contains("kiln::main")), "the host's frames are missing:\n{text}");
    assert!(text.contains("Line 18 of \"examples/plugins/records/src/lib.rs\""), "{text}");
}
