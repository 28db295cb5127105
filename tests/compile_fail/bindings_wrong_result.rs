// The export `run` returns nothing: using its result as a number does not
// compile.
kiln::include_wasm!(mod plugin = "fixtures/log.wat");

struct Host;

impl plugin::Imports for Host {
    fn log(_caller: kiln::Caller<'_, Self>, _ptr: i32, _len: i32) -> kiln::Result<()> {
        Ok(())
    }
}

fn main() -> kiln::Result<()> {
    let mut store = kiln::Store::new(Host);
    let plugin = plugin::Plugin::instantiate(&mut store)?;
    let n: i32 = plugin.run(&mut store)?;
    let _ = n;
    Ok(())
}
