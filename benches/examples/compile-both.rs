//! Compiles one wasm module with kiln and with Wasmtime, for this machine's
//! CPU features as the benchmarks do, and writes both results, so that the
//! same function can be disassembled side by side when one engine runs it
//! slower:
//!
//! ```sh
//! cargo run --release --manifest-path benches/Cargo.toml --example compile-both -- M.wasm /tmp/m
//! objdump -d /tmp/m.cwasm                      # Wasmtime: symbols wasm[0]::function[N]::name
//! # kiln: the function symbols are in the debugger image (.kiln.gdbjit)
//! ```
//!
//! The kiln artifact is written with debug info, whose debugger image names
//! every function with its offset in `.text`.
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, wasm, out] = &args[..] else {
        eprintln!("usage: compile-both MODULE.wasm OUT (writes OUT.cwasm and OUT.kiln)");
        std::process::exit(2);
    };
    let wasm = std::fs::read(wasm).unwrap_or_else(|e| panic!("{wasm}: {e}"));
    let engine = wasmtime::Engine::new(&wasmtime::Config::new()).expect("wasmtime engine");
    std::fs::write(format!("{out}.cwasm"), engine.precompile_module(&wasm).expect("wasmtime compile")).unwrap();
    let mut config = kiln_build::Config::native();
    config.debug_info(true);
    std::fs::write(format!("{out}.kiln"), kiln_build::compile(&wasm, &config).expect("kiln compile")).unwrap();
}
