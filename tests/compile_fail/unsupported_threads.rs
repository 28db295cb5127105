// A module using a proposal kiln does not accept (threads).
static PLUGIN: kiln::Artifact = kiln::include_wasm!("fixtures/threads.wat");

fn main() {
    let _ = PLUGIN;
}
