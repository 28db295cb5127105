//! Profilers see plugin functions.
//!
//! Code that runs in place lies in the executable, whose symbol table
//! `include_wasm!` fills with one `kiln.<module>.<function>` symbol per
//! wasm function: `perf report`, gdb and friends name it with no help at
//! run time. Code copied into anonymous memory (`Module::from_bytes`, or
//! an artifact that cannot run in place) is invisible to them, unless a
//! perf map names it: with [`ProfilingStrategy::PerfMap`] (or the
//! environment variable `KILN_PROFILE=perfmap`), every such module's
//! functions are appended to `/tmp/perf-<pid>.map` as it loads, as
//! Wasmtime's `ProfilingStrategy::PerfMap` does.

use crate::module::Module;
use std::io::Write as _;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Mutex;

/// How loaded code is made known to profilers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfilingStrategy {
    /// Nothing beyond the executable's own symbols (the default).
    None,
    /// Append copied code's functions to `/tmp/perf-<pid>.map` (Linux).
    PerfMap,
}

const UNSET: u8 = 0;
const NONE: u8 = 1;
const PERF_MAP: u8 = 2;
static STRATEGY: AtomicU8 = AtomicU8::new(UNSET);

/// Choose the strategy for every module loaded from now on, in this
/// process (overrides `KILN_PROFILE`).
pub fn set_profiling_strategy(strategy: ProfilingStrategy) {
    let v = match strategy {
        ProfilingStrategy::None => NONE,
        ProfilingStrategy::PerfMap => PERF_MAP,
    };
    STRATEGY.store(v, Ordering::Relaxed);
}

/// The strategy in force: set, or from `KILN_PROFILE` on first use.
pub fn profiling_strategy() -> ProfilingStrategy {
    let mut v = STRATEGY.load(Ordering::Relaxed);
    if v == UNSET {
        v = match std::env::var("KILN_PROFILE").as_deref() {
            Ok("perfmap") => PERF_MAP,
            _ => NONE,
        };
        // A concurrent `set_profiling_strategy` wins.
        let _ = STRATEGY.compare_exchange(UNSET, v, Ordering::Relaxed, Ordering::Relaxed);
        v = STRATEGY.load(Ordering::Relaxed);
    }
    if v == PERF_MAP {
        ProfilingStrategy::PerfMap
    } else {
        ProfilingStrategy::None
    }
}

/// After `module` loaded: name its copied code where the strategy says.
/// Failing to write the map never fails the load (profiling is an aid).
pub(crate) fn register(module: &Module) {
    if module.is_in_place() || profiling_strategy() != ProfilingStrategy::PerfMap {
        return;
    }
    let Some(path) = crate::vm::sys::perf_map_path() else { return };
    let mut lines = String::new();
    for (start, len, name) in module.function_symbols() {
        lines.push_str(&format!("{start:x} {len:x} {name}\n"));
    }
    // One writer at a time, so lines of two modules never interleave.
    static WRITER: Mutex<()> = Mutex::new(());
    let _guard = WRITER.lock().unwrap_or_else(|e| e.into_inner());
    if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
        let _ = f.write_all(lines.as_bytes());
    }
}
