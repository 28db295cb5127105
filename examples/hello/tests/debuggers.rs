//! Native debuggers see the plugin: its functions have symbols in this
//! executable (written by `include_wasm!` next to the embedded bytes), so
//! gdb can break on one by name and walk from it back into the host.

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
#[test]
fn gdb_breaks_in_a_plugin_function_and_shows_it_under_the_host_frames() {
    let out = std::process::Command::new("gdb")
        .args(["-batch", "-nx", "-ex", "break kiln.greet.greet", "-ex", "run", "-ex", "bt", "-ex", "kill"])
        .arg(env!("CARGO_BIN_EXE_hello"))
        .output()
        .expect("this test runs gdb (Debian: apt install gdb)");
    let text = String::from_utf8_lossy(&out.stdout);
    let frames: Vec<&str> = text.lines().filter(|l| l.starts_with('#')).collect();
    assert!(text.contains("Breakpoint 1, "), "gdb did not stop in the plugin:\n{text}");
    assert!(frames.first().is_some_and(|f| f.contains("kiln.greet")), "innermost frame is not the plugin's:\n{text}");
    assert!(frames.iter().any(|f| f.contains("hello::main")), "the host's frames are missing:\n{text}");
}
