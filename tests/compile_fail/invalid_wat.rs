// A text module that does not parse: the error gives line and column.
static PLUGIN: kiln::Artifact = kiln::include_wasm!("fixtures/invalid.wat");

fn main() {
    let _ = PLUGIN;
}
