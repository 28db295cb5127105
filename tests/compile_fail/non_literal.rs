// The path must be a string literal: the macro reads the file while it expands.
const PATH: &str = "fixtures/simd.wat";
static PLUGIN: kiln::Artifact = kiln::include_wasm!(PATH);

fn main() {
    let _ = PLUGIN;
}
