//! The smallest kiln application: one plugin compiled at build time and
//! embedded in this binary; a string goes into its memory, the plugin calls
//! back into the host with a greeting, and the host prints what it returns.

use anyhow::{anyhow, Result};
use kiln::{Artifact, Caller, Linker, Module, Store};

/// Compiled by `cargo build` (see build.rs); no compiler runs at run time.
static GREET: Artifact = kiln::include_wasm!("plugins/greet.wat");

/// What the host remembers of the plugin's calls.
#[derive(Default)]
struct Host {
    lines: Vec<String>,
}

fn main() -> Result<()> {
    let module = Module::new(&GREET)?;
    let mut store = Store::new(Host::default());
    let mut linker = Linker::new();
    linker.func_wrap("host", "log", |mut caller: Caller<'_, Host>, ptr: i32, len: i32| -> Result<(), kiln::Error> {
        let memory = caller
            .get_export("memory")
            .and_then(|e| e.into_memory())
            .ok_or_else(|| kiln::Error::msg("plugin exports no memory"))?;
        let mut bytes = vec![0; len as u32 as usize];
        // A bad pointer from the plugin is an error here, never a crash.
        memory.read(&mut caller, ptr as u32 as usize, &mut bytes)?;
        let line = String::from_utf8_lossy(&bytes).into_owned();
        println!("plugin says: {line}");
        caller.data_mut().lines.push(line);
        Ok(())
    })?;
    let instance = linker.instantiate(&mut store, &module)?;

    let name = std::env::args().nth(1).unwrap_or_else(|| "kiln".to_string());
    let alloc = instance.get_typed_func::<i32, i32>(&mut store, "alloc")?;
    let greet = instance.get_typed_func::<(i32, i32), i32>(&mut store, "greet")?;
    let memory = instance.get_memory(&mut store, "memory").ok_or_else(|| anyhow!("no memory export"))?;

    let ptr = alloc.call(&mut store, name.len() as i32)?;
    memory.write(&mut store, ptr as u32 as usize, name.as_bytes())?;
    let len = greet.call(&mut store, (ptr, name.len() as i32))?;
    println!("greet returned {len} (code ran in place: {})", module.is_in_place());
    Ok(())
}
