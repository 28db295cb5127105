//! A host application embedding several plugins written in Rust:
//!
//! * `greet-wasi` — a WASI command using std: prints (captured here), reads
//!   its args and environment, reads and writes files in a preopened
//!   directory, exits with a code the host receives as a value;
//! * `strings` — a library plugin: strings and byte buffers go both ways
//!   through its linear memory;
//! * `crash` — divides by zero and reads outside its memory: traps, and the
//!   host carries on;
//! * `spin` — never returns: an epoch deadline stops it.
//!
//! All four are compiled at build time and run in place from this binary.

use anyhow::{bail, Context, Result};
use kiln::wasi::{DirPerms, I32Exit, Pipe, WasiCtx, WasiCtxBuilder};
use kiln::{Artifact, Instance, Linker, Module, Store};
use std::time::{Duration, Instant};

static GREET: Artifact = kiln::include_wasm!("../plugins/wasm/greet-wasi.wasm");
static STRINGS: Artifact = kiln::include_wasm!("../plugins/wasm/strings.wasm");
static CRASH: Artifact = kiln::include_wasm!("../plugins/wasm/crash.wasm");
static SPIN: Artifact = kiln::include_wasm!("../plugins/wasm/spin.wasm");

/// Host state of a plugin's store.
struct Host {
    wasi: WasiCtx,
}

/// A store for one plugin: its own WASI context, and an epoch deadline far
/// away unless the caller sets a nearer one.
fn store(wasi: WasiCtx) -> Store<Host> {
    let mut store = Store::new(Host { wasi });
    store.set_epoch_deadline(u64::MAX);
    store
}

fn run_wasi_plugin() -> Result<()> {
    let dir = std::env::temp_dir().join(format!("kiln-plugin-host-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("input.txt"), "baked into the binary")?;
    let stdout = Pipe::new();
    let wasi = WasiCtxBuilder::new()
        .args(["greet-wasi", "plugin-host", "3"])
        .env("MOOD", "cheerful")
        .stdout(stdout.clone())
        .inherit_stderr()
        .preopened_dir(&dir, "/data", DirPerms::ReadWrite)?
        .build();
    let mut store = store(wasi);
    let mut linker = Linker::new();
    kiln::wasi::add_to_linker(&mut linker, |h: &mut Host| &mut h.wasi)?;
    let instance = linker.instantiate(&mut store, &Module::new(&GREET)?)?;
    let start = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
    let code = match start.call(&mut store, ()) {
        Ok(()) => 0,
        Err(e) => match e.downcast_ref::<I32Exit>() {
            Some(exit) => exit.0,
            None => bail!("greet-wasi failed: {}", explain(&e)),
        },
    };
    for line in String::from_utf8_lossy(&stdout.contents()).lines() {
        println!("  [greet-wasi] {line}");
    }
    let written = std::fs::read_to_string(dir.join("output.txt"))?;
    println!("  [greet-wasi] exit code {code}, wrote output.txt: {:?}", written.trim());
    // The store holds the preopened directory open (Windows refuses to
    // remove an open directory): drop it first.
    drop(store);
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

/// Everything kiln says about a failed call: the error, and for a trap its
/// code and every wasm frame.
fn explain(e: &kiln::Error) -> String {
    match e.trap() {
        Some(trap) => format!("{e}\n{trap:?}"),
        None => format!("{e}"),
    }
}

/// Write `bytes` into the plugin's memory through its allocator.
fn lend(store: &mut Store<Host>, instance: Instance, bytes: &[u8]) -> Result<(i32, i32)> {
    let alloc = instance.get_typed_func::<u32, u32>(&mut *store, "alloc")?;
    let memory = instance.get_memory(&mut *store, "memory").context("no memory export")?;
    let ptr = alloc.call(&mut *store, bytes.len() as u32)?;
    memory.write(&mut *store, ptr as usize, bytes)?;
    Ok((ptr as i32, bytes.len() as i32))
}

fn run_strings_plugin() -> Result<()> {
    let mut store = store(WasiCtxBuilder::new().build());
    let instance = Instance::new(&mut store, &Module::new(&STRINGS)?, &[])?;
    let reverse = instance.get_typed_func::<(i32, i32), i64>(&mut store, "reverse")?;
    let checksum = instance.get_typed_func::<(i32, i32), u32>(&mut store, "checksum")?;
    let memory = instance.get_memory(&mut store, "memory").context("no memory export")?;

    let text = "héllo, kiln 🔥";
    let (ptr, len) = lend(&mut store, instance, text.as_bytes())?;
    let packed = reverse.call(&mut store, (ptr, len))?;
    if packed < 0 {
        bail!("plugin rejected the text");
    }
    let mut out = vec![0; (packed & 0xffff_ffff) as usize];
    memory.read(&mut store, (packed >> 32) as usize, &mut out)?;
    println!("  [strings] reverse({text:?}) = {:?}", String::from_utf8(out)?);

    let buffer: Vec<u8> = (0..=255).collect();
    let (ptr, len) = lend(&mut store, instance, &buffer)?;
    println!("  [strings] checksum of 256 bytes = {:#010x}", checksum.call(&mut store, (ptr, len))?);
    Ok(())
}

fn run_crash_plugin() -> Result<()> {
    let mut store = store(WasiCtxBuilder::new().build());
    let instance = Instance::new(&mut store, &Module::new(&CRASH)?, &[])?;
    let divide = instance.get_typed_func::<i32, i32>(&mut store, "divide")?;
    let wild_read = instance.get_typed_func::<u32, u32>(&mut store, "wild_read")?;
    for (what, result) in [
        ("divide(0)", divide.call(&mut store, 0).map(|v| v as u32)),
        ("wild_read(0xfffffff0)", wild_read.call(&mut store, 0xffff_fff0)),
        ("divide(5)", divide.call(&mut store, 5).map(|v| v as u32)),
    ] {
        match result {
            Ok(v) => println!("  [crash] {what} = {v}"),
            Err(e) => println!("  [crash] {what} trapped: {e}"),
        }
    }
    Ok(())
}

fn run_spin_plugin() -> Result<()> {
    let mut store = store(WasiCtxBuilder::new().build());
    let instance = Instance::new(&mut store, &Module::new(&SPIN)?, &[])?;
    let run = instance.get_typed_func::<(), i64>(&mut store, "run")?;
    store.set_epoch_deadline(1);
    let epoch = store.epoch_counter();
    let started = Instant::now();
    let timer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        epoch.increment();
    });
    let result = run.call(&mut store, ());
    timer.join().ok();
    match result {
        Ok(v) => bail!("spin returned {v}?"),
        Err(e) => println!("  [spin] stopped after {:?}: {e}", started.elapsed()),
    }
    Ok(())
}

fn main() -> Result<()> {
    println!("greet-wasi (WASI, std):");
    run_wasi_plugin()?;
    println!("strings (buffers through linear memory):");
    run_strings_plugin()?;
    println!("crash (faults become traps):");
    run_crash_plugin()?;
    println!("spin (an endless loop, stopped by an epoch deadline):");
    run_spin_plugin()?;
    println!("all plugins done; the host finishes normally");
    Ok(())
}
