// A binary module cut off inside its header.
static PLUGIN: kiln::Artifact = kiln::include_wasm!("fixtures/truncated.wasm");

fn main() {
    let _ = PLUGIN;
}
