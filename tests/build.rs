fn main() {
    // Source locations whatever the profile (CI tests in release), so the
    // modules `include_wasm!` embeds here name their source lines.
    kiln_build::Configure::new().debug_info(true).emit();
    // `kiln_cross`: the tests are built for another target than the build
    // machine's (and run under an emulator). The `include_wasm!`
    // diagnostics are a property of the macro, which runs on the build
    // machine only: they are checked by the native run.
    println!("cargo::rustc-check-cfg=cfg(kiln_cross)");
    if std::env::var("TARGET").ok() != std::env::var("HOST").ok() {
        println!("cargo::rustc-cfg=kiln_cross");
    }
    // The plugin table of `all/plugin_table.rs`.
    kiln_build::Plugins::from_dir("plugins").write_table("plugins.rs").unwrap_or_else(|e| panic!("{e}"));
}
