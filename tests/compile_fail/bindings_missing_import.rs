// A host that does not provide every import the module needs cannot
// instantiate it: the missing method is a compile error, not a link error.
kiln::include_wasm!(mod plugin = "fixtures/log.wat");

struct Host;

impl plugin::Imports for Host {}

fn main() {
    let mut store = kiln::Store::new(Host);
    let _ = plugin::Plugin::instantiate(&mut store);
}
