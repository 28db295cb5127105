// A binary module with a reserved opcode in a function body.
static PLUGIN: kiln::Artifact = kiln::include_wasm!("fixtures/invalid_opcode.wasm");

fn main() {
    let _ = PLUGIN;
}
