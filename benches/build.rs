// Embeds the benchmark modules in place with kiln, as an application would:
// the kernels, the instantiation and call modules, and the generated large
// module (written to OUT_DIR first; see src/gen.rs).
include!("src/gen.rs");

fn main() {
    let out = std::path::PathBuf::from(std::env::var_os("OUT_DIR").unwrap());
    let large = out.join("large.wasm");
    let bytes = large_module();
    if std::fs::read(&large).ok().as_deref() != Some(&bytes[..]) {
        std::fs::write(&large, &bytes).unwrap();
    }
    println!("cargo:rerun-if-changed=src/gen.rs");
    kiln_build::Plugins::from_files([
        std::path::PathBuf::from("wasm/kernels.wasm"),
        "wasm/instantiate.wat".into(),
        "wasm/calls.wat".into(),
        large,
    ])
    .static_name("MODULES")
    .write_table("modules.rs")
    .unwrap_or_else(|e| panic!("{e}"));
}
