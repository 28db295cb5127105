// A module with DWARF whose function `sum` holds a reserved opcode: the
// error names the function and the source line of the bad instruction.
static PLUGIN: kiln::Artifact = kiln::include_wasm!("fixtures/dwarf/invalid_dwarf.wasm");

fn main() {
    let _ = PLUGIN;
}
