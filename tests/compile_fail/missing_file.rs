// A path that does not exist: the error names it as written.
static PLUGIN: kiln::Artifact = kiln::include_wasm!("fixtures/does_not_exist.wasm");

fn main() {
    let _ = PLUGIN;
}
