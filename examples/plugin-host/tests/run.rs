//! The plugin host runs every plugin, survives the crashing one, stops the
//! spinning one, and finishes normally.

#[test]
fn plugin_host_runs_all_plugins() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_plugin-host")).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    for expected in [
        "[greet-wasi] hello, plugin-host!",
        "[greet-wasi] mood: cheerful",
        "[greet-wasi] input.txt has 4 words",
        "[greet-wasi] exit code 3, wrote output.txt: \"BAKED INTO THE BINARY\"",
        "[strings] reverse(\"héllo, kiln 🔥\") = \"🔥 nlik ,olléh\"",
        "[crash] divide(0) trapped: wasm trap: unreachable",
        "[crash] wild_read(0xfffffff0) trapped: wasm trap: out of bounds memory access",
        "[crash] divide(5) = 20",
        "wasm trap: interrupt",
        "all plugins done; the host finishes normally",
    ] {
        assert!(stdout.contains(expected), "missing {expected:?} in\n{stdout}");
    }
}
