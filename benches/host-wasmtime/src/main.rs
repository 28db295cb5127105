//! The smallest Wasmtime host doing what `host-kiln` does: the kernels,
//! precompiled (by the benchmark runner, which passes the file in
//! `KILN_BENCH_CWASM`) and embedded, deserialized, instantiated, one call.

static KERNELS: &[u8] = include_bytes!(env!("KILN_BENCH_CWASM"));

fn main() {
    let engine = wasmtime::Engine::default();
    // SAFETY: the bytes were written by Engine::precompile_module of the
    // same Wasmtime version and configuration.
    let module = unsafe { wasmtime::Module::deserialize(&engine, KERNELS) }.unwrap();
    let mut store = wasmtime::Store::new(&engine, ());
    let instance = wasmtime::Linker::new(&engine).instantiate(&mut store, &module).unwrap();
    let fib = instance.get_typed_func::<u32, u32>(&mut store, "fib").unwrap();
    println!("{}", fib.call(&mut store, 20).unwrap());
}
