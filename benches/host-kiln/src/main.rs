//! The smallest kiln host: one embedded plugin (the benchmark kernels),
//! loaded in place, instantiated, one call. Measured for size and for time
//! from process start to the first call's result.

static KERNELS: kiln::Artifact = kiln::include_wasm!("../wasm/kernels.wasm");

fn main() {
    let module = kiln::Module::new(&KERNELS).unwrap();
    let mut store = kiln::Store::new(());
    let instance = kiln::Linker::new().instantiate(&mut store, &module).unwrap();
    let fib = instance.get_typed_func::<u32, u32>(&mut store, "fib").unwrap();
    println!("{}", fib.call(&mut store, 20).unwrap());
}
