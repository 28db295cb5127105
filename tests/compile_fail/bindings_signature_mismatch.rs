// The module imports `host`::`log` as (func (param i32 i32)): a host whose
// method takes an i64 does not match it, and that is a compile error.
kiln::include_wasm!(mod plugin = "fixtures/log.wat");

struct Host;

impl plugin::Imports for Host {
    fn log(_caller: kiln::Caller<'_, Self>, ptr: i64, len: i32) -> kiln::Result<()> {
        let _ = (ptr, len);
        Ok(())
    }
}

fn main() {
    let mut store = kiln::Store::new(Host);
    let _ = plugin::Plugin::instantiate(&mut store);
}
