// Valid WebAssembly using an instruction kiln cannot compile.
static PLUGIN: kiln::Artifact = kiln::include_wasm!("fixtures/simd.wat");

fn main() {
    let _ = PLUGIN;
}
