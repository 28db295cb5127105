// The module form needs `= "path"` after the name.
kiln::include_wasm!(mod plugin "fixtures/log.wat");

fn main() {}
