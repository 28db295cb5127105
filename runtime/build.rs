//! Builds the small C helper of the runtime's platform seam: the
//! `sigsetjmp`/`siglongjmp` pair behind wasm activations
//! (`src/vm/sys/unix/helpers.c`, used by `src/vm/traphandlers.rs`).

fn main() {
    println!("cargo:rerun-if-changed=src/vm/sys/unix/helpers.c");
    if std::env::var_os("CARGO_CFG_UNIX").is_some() {
        cc::Build::new().file("src/vm/sys/unix/helpers.c").warnings(true).compile("kiln_helpers");
    }
}
