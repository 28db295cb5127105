//! Startup figures of the hello plugin: how long `Module::new` (in place
//! and copied) and instantiation take, as medians over many runs.
//!
//! `cargo run --release -p hello --example startup`

use kiln::{Artifact, Linker, Module, Store};
use std::time::Instant;

static GREET: Artifact = kiln::include_wasm!("plugins/greet.wat");

fn median_ns(mut f: impl FnMut()) -> f64 {
    for _ in 0..1000 {
        f();
    }
    let mut samples: Vec<f64> = (0..51)
        .map(|_| {
            let n = 2000;
            let t = Instant::now();
            for _ in 0..n {
                f();
            }
            t.elapsed().as_nanos() as f64 / n as f64
        })
        .collect();
    samples.sort_by(|a, b| a.total_cmp(b));
    samples[samples.len() / 2]
}

fn main() -> kiln::Result<()> {
    let in_place = median_ns(|| drop(Module::new(&GREET).unwrap()));
    let bytes = GREET.bytes().to_vec();
    // SAFETY: the bytes are the artifact include_wasm! embedded.
    let copied = median_ns(|| drop(unsafe { Module::from_bytes(&bytes) }.unwrap()));
    // What the integrity check costs of that.
    let check = median_ns(|| {
        std::hint::black_box(kiln_artifact::integrity::verify(std::hint::black_box(&bytes)).unwrap());
    });

    let module = Module::new(&GREET)?;
    let mut linker = Linker::<()>::new();
    linker.func_wrap("host", "log", |_: i32, _: i32| {})?;
    let instantiate = median_ns(|| {
        let mut store = Store::new(());
        linker.instantiate(&mut store, &module).unwrap();
    });
    let mut store = Store::new(());
    let instance = linker.instantiate(&mut store, &module)?;
    let alloc = instance.get_typed_func::<i32, i32>(&mut store, "alloc")?;
    let call = median_ns(|| {
        alloc.call(&mut store, 0).unwrap();
    });

    println!("artifact: {} bytes", GREET.bytes().len());
    println!("Module::new, in place:      {in_place:>9.0} ns");
    println!("Module::from_bytes, copied: {copied:>9.0} ns (checksum: {check:.0} ns)");
    println!("Store::new + instantiate:   {instantiate:>9.0} ns");
    println!("typed call (i32) -> i32:    {call:>9.0} ns");
    Ok(())
}
