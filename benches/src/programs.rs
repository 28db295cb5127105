//! The real-program corpus (`benches/programs/`): every program timed in
//! kiln, in Wasmtime and natively, in the same run, alternating, each on its
//! steady-state work (`bench_run`, called again and again on one instance
//! whose memory its first call already touched, so that neither engine's
//! linear-memory allocation policy is measured).

use crate::{calibrate, log, median, repo_root, sample, Row};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

pub struct Program {
    pub name: String,
    /// The first line of the program's doc comment.
    pub about: String,
    pub wasm: Vec<u8>,
    /// The same program built natively (`-C target-cpu=native`), a shared
    /// library with the same two exports.
    pub native: PathBuf,
}

fn host_triple() -> String {
    let out = Command::new("rustc").arg("-vV").output().expect("rustc -vV");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .expect("rustc -vV names the host")
        .to_string()
}

fn cargo_build(dir: &Path, target: &str, envs: &[(&str, &str)]) -> Result<(), String> {
    log(&format!("programs: cargo build --release --target {target}"));
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["build", "--release", "--locked", "--target", target])
        .current_dir(dir)
        // The runner's own build settings must not leak into the programs'.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR")
        .envs(envs.iter().copied())
        .status()
        .map_err(|e| format!("cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("building the programs for {target} failed ({status})"))
    }
}

/// Builds the corpus for wasm32-wasip1 and for this machine (cargo does
/// nothing when both are up to date) and collects every program.
pub fn build() -> Result<Vec<Program>, String> {
    let dir = repo_root().join("benches/programs");
    // The programs that bundle C libraries compile them with Debian's clang
    // against wasi-libc (packages clang-19, wasi-libc).
    cargo_build(
        &dir,
        "wasm32-wasip1",
        &[
            ("CC_wasm32_wasip1", "clang-19"),
            ("AR_wasm32_wasip1", "llvm-ar-19"),
            ("CFLAGS_wasm32_wasip1", "-isystem /usr/include/wasm32-wasi"),
        ],
    )?;
    let host = host_triple();
    let rustflags_var = format!("CARGO_TARGET_{}_RUSTFLAGS", host.to_uppercase().replace('-', "_"));
    cargo_build(&dir, &host, &[(&rustflags_var, "-C target-cpu=native")])?;
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("lib.rs").exists() && e.file_name() != "common")
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut programs = Vec::new();
    for name in names {
        let lib = name.replace('-', "_");
        let source = std::fs::read_to_string(dir.join(&name).join("lib.rs")).unwrap_or_default();
        let about = source.lines().map_while(|l| l.strip_prefix("//! ")).collect::<Vec<_>>().join(" ");
        let wasm_path = dir.join(format!("target/wasm32-wasip1/release/{lib}.wasm"));
        let wasm = std::fs::read(&wasm_path).map_err(|e| format!("{}: {e}", wasm_path.display()))?;
        let native = dir.join(format!(
            "target/{host}/release/{}{lib}{}",
            std::env::consts::DLL_PREFIX,
            std::env::consts::DLL_SUFFIX
        ));
        programs.push(Program { name, about, wasm, native });
    }
    Ok(programs)
}

/// The WASI functions Rust's standard library imports, implemented the same
/// way for both engines: output to this process's stderr (a failed
/// self-check prints there), a fixed `random_get` stream, an empty
/// environment, a clock. Anything else returns ENOSYS. `$caller` is the
/// engine's `Caller` type, `$fail` makes the engine's error.
macro_rules! wasi_stubs {
    ($linker:expr, $others:expr, $($caller:ident)::+, $val:expr, $fail:expr) => {{
        let linker = $linker;
        const M: &str = "wasi_snapshot_preview1";
        const EFAULT: i32 = 21;
        fn memory<'a>(c: &'a mut $($caller)::+<'_, ()>) -> Option<&'a mut [u8]> {
            let mem = c.get_export("memory")?.into_memory()?;
            Some(mem.data_mut(c))
        }
        fn put_u32(mem: &mut [u8], at: i32, v: u32) -> bool {
            match mem.get_mut(at as u32 as usize..).and_then(|m| m.get_mut(..4)) {
                Some(dst) => {
                    dst.copy_from_slice(&v.to_le_bytes());
                    true
                }
                None => false,
            }
        }
        fn get_u32(mem: &[u8], at: usize) -> Option<u32> {
            Some(u32::from_le_bytes(mem.get(at..at.checked_add(4)?)?.try_into().ok()?))
        }
        let defined = ["fd_write", "random_get", "environ_sizes_get", "environ_get", "args_sizes_get", "args_get", "clock_time_get", "proc_exit"];
        linker.func_wrap(M, "fd_write", |mut c: $($caller)::+<'_, ()>, fd: i32, iovs: i32, n: i32, written: i32| -> i32 {
            let Some(mem) = memory(&mut c) else { return EFAULT };
            let mut out = Vec::new();
            for i in 0..n as u32 as usize {
                let at = iovs as u32 as usize + i * 8;
                let (Some(ptr), Some(len)) = (get_u32(mem, at), get_u32(mem, at + 4)) else { return EFAULT };
                let Some(bytes) = mem.get(ptr as usize..ptr as usize + len as usize) else { return EFAULT };
                out.extend_from_slice(bytes);
            }
            if fd == 1 || fd == 2 {
                use std::io::Write;
                let _ = std::io::stderr().write_all(&out);
            }
            if put_u32(mem, written, out.len() as u32) { 0 } else { EFAULT }
        })?;
        linker.func_wrap(M, "random_get", |mut c: $($caller)::+<'_, ()>, ptr: i32, len: i32| -> i32 {
            let Some(mem) = memory(&mut c) else { return EFAULT };
            let Some(buf) = mem.get_mut(ptr as u32 as usize..).and_then(|m| m.get_mut(..len as u32 as usize)) else { return EFAULT };
            let mut x = 0x2545_F491_4F6C_DD1Du64;
            for b in buf {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *b = x as u8;
            }
            0
        })?;
        for name in ["environ_sizes_get", "args_sizes_get"] {
            linker.func_wrap(M, name, |mut c: $($caller)::+<'_, ()>, count: i32, size: i32| -> i32 {
                let Some(mem) = memory(&mut c) else { return EFAULT };
                if put_u32(mem, count, 0) && put_u32(mem, size, 0) { 0 } else { EFAULT }
            })?;
        }
        for name in ["environ_get", "args_get"] {
            linker.func_wrap(M, name, |_: $($caller)::+<'_, ()>, _: i32, _: i32| -> i32 { 0 })?;
        }
        linker.func_wrap(M, "clock_time_get", |mut c: $($caller)::+<'_, ()>, _id: i32, _precision: i64, at: i32| -> i32 {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
            let Some(mem) = memory(&mut c) else { return EFAULT };
            match mem.get_mut(at as u32 as usize..).and_then(|m| m.get_mut(..8)) {
                Some(dst) => {
                    dst.copy_from_slice(&now.to_le_bytes());
                    0
                }
                None => EFAULT,
            }
        })?;
        linker.func_wrap(M, "proc_exit", |_: $($caller)::+<'_, ()>, code: i32| -> Result<(), _> { Err($fail(format!("proc_exit({code})"))) })?;
        // Any other WASI function the program imports answers ENOSYS.
        for (name, ty) in $others {
            if !defined.contains(&name.as_str()) {
                linker.func_new(M, &name, ty, |_, _, results| {
                    results[0] = $val(52);
                    Ok(())
                })?;
            }
        }
    }};
}

const WASI: &str = "wasi_snapshot_preview1";

/// Instantiate a program, run its initialisers (`_initialize`, if a
/// reactor) and `bench_setup`, and return its `bench_run` as a [`Runner`]:
/// the same body for both engines, whose APIs have the same shape.
macro_rules! start_program {
    ($linker:expr, $store:expr, $module:expr, $err:expr) => {{
        let (linker, mut store, err) = ($linker, $store, $err);
        let inst = linker.instantiate(&mut store, &$module).map_err(err)?;
        if let Ok(init) = inst.get_typed_func::<(), ()>(&mut store, "_initialize") {
            init.call(&mut store, ()).map_err(err)?;
        }
        inst.get_typed_func::<(), ()>(&mut store, "bench_setup").and_then(|f| f.call(&mut store, ())).map_err(err)?;
        let run = inst.get_typed_func::<(), i64>(&mut store, "bench_run").map_err(err)?;
        Ok(Box::new(move || run.call(&mut store, ()).map(|d| d as u64).map_err(err)))
    }};
}

/// One call of a program's `bench_run`, returning its digest.
type Runner = Box<dyn FnMut() -> Result<u64, String>>;

/// kiln: compiled here for every feature of this CPU that Cranelift uses
/// (what Wasmtime's default configuration compiles for), loaded from the
/// artifact's bytes.
fn kiln_runner(wasm: &[u8]) -> Result<Runner, String> {
    let err = |e: kiln::Error| e.to_string();
    let artifact = kiln_build::compile(wasm, &kiln_build::Config::native()).map_err(|e| e.to_string())?;
    // SAFETY: kiln_build wrote these bytes in this run.
    let module = unsafe { kiln::Module::from_bytes(&artifact) }.map_err(err)?;
    let others: Vec<(String, kiln::FuncType)> = module
        .imports()
        .filter(|i| i.module == WASI)
        .filter_map(|i| match i.ty {
            kiln::ExternType::Func(f) => Some((i.name.to_string(), f)),
            _ => None,
        })
        .collect();
    let mut linker = kiln::Linker::<()>::new();
    (|| -> kiln::Result<()> {
        wasi_stubs!(&mut linker, others, kiln::Caller, kiln::Val::I32, kiln::Error::msg);
        Ok(())
    })()
    .map_err(err)?;
    let store = kiln::Store::new(());
    start_program!(linker, store, module, err)
}

/// Wasmtime with its default configuration (this CPU's features).
fn wasmtime_runner(engine: &wasmtime::Engine, wasm: &[u8]) -> Result<Runner, String> {
    let err = |e: wasmtime::Error| format!("{e:#}");
    let module = wasmtime::Module::new(engine, wasm).map_err(err)?;
    let others: Vec<(String, wasmtime::FuncType)> = module
        .imports()
        .filter(|i| i.module() == WASI)
        .filter_map(|i| Some((i.name().to_string(), i.ty().func()?.clone())))
        .collect();
    let mut linker = wasmtime::Linker::<()>::new(engine);
    (|| -> wasmtime::Result<()> {
        wasi_stubs!(&mut linker, others, wasmtime::Caller, wasmtime::Val::I32, wasmtime::Error::msg);
        Ok(())
    })()
    .map_err(err)?;
    let store = wasmtime::Store::new(engine, ());
    start_program!(linker, store, module, err)
}

/// The program built natively, loaded as a shared library.
fn native_runner(path: &Path) -> Result<Runner, String> {
    // SAFETY: the library is the corpus's own build of the program, whose
    // initialisers do nothing but set up Rust's runtime.
    let lib = unsafe { libloading::Library::new(path) }.map_err(|e| format!("{}: {e}", path.display()))?;
    // SAFETY: `common::program!` defines both symbols with these types; the
    // function pointers are used only while `lib` (moved into the runner)
    // stays loaded.
    let (setup, run) = unsafe {
        let setup: extern "C" fn() = *lib.get(b"bench_setup\0").map_err(|e| e.to_string())?;
        let run: extern "C" fn() -> u64 = *lib.get(b"bench_run\0").map_err(|e| e.to_string())?;
        (setup, run)
    };
    setup();
    Ok(Box::new(move || {
        let _loaded = &lib;
        Ok(run())
    }))
}

/// Times every program of the corpus: one row each, with the native figure.
pub fn measure(quick: bool, engine: &wasmtime::Engine, rows: &mut Vec<Row>) {
    let programs = match build() {
        Ok(p) => p,
        Err(e) => {
            log(&format!("programs: not measured: {e}"));
            return;
        }
    };
    // KILN_BENCH_PROGRAMS=a,b times only those programs (to profile one).
    let chosen = std::env::var("KILN_BENCH_PROGRAMS").ok();
    let programs: Vec<&Program> =
        programs.iter().filter(|p| chosen.as_deref().is_none_or(|c| c.split(',').any(|n| n == p.name))).collect();
    let target = Duration::from_millis(if quick { 40 } else { 200 });
    let rounds = if quick { 3 } else { 15 };
    for p in programs {
        log(&format!("programs: {} ({} KB wasm)", p.name, p.wasm.len() / 1024));
        let wasmtime = match wasmtime_runner(engine, &p.wasm) {
            Ok(r) => r,
            Err(e) => {
                log(&format!("programs: {}: Wasmtime: {e}", p.name));
                continue;
            }
        };
        let native = native_runner(&p.native);
        let mut runners: Vec<(&str, Option<Runner>)> =
            vec![("kiln", None), ("wasmtime", Some(wasmtime)), ("native", None)];
        let mut note = String::new();
        match kiln_runner(&p.wasm) {
            Ok(r) => runners[0].1 = Some(r),
            Err(e) => note = format!("kiln failed: {e}"),
        }
        match native {
            Ok(r) => runners[2].1 = Some(r),
            Err(e) => log(&format!("programs: {}: native: {e}", p.name)),
        }
        // Every engine's first call: kiln's digest must be Wasmtime's (the
        // same wasm). The native build is the same source for another
        // target, whose output may differ where the program depends on the
        // pointer width (lz4_flex matches a word at a time): its own check
        // passed, so it is timed all the same, and the difference noted.
        let (mut expected, mut native_expected) = (None, None);
        for (engine_name, runner) in runners.iter_mut() {
            let Some(run) = runner else { continue };
            match run() {
                Ok(d) if expected.is_none() || expected == Some(d) => expected = Some(d),
                Ok(d) if *engine_name == "native" => {
                    native_expected = Some(d);
                    log(&format!("programs: {}: the native digest {d:#x} differs from the wasm one", p.name));
                }
                Ok(d) => {
                    note = format!("{engine_name}'s digest {d:#x} differs from {:#x}", expected.unwrap());
                    *runner = None;
                }
                Err(e) => {
                    note = format!("{engine_name}: {e}");
                    *runner = None;
                }
            }
        }
        if runners[1].1.is_none() {
            log(&format!("programs: {}: Wasmtime: {note}", p.name));
            continue;
        }
        let wasm_expected = expected.unwrap();
        let expect = |i: usize| if i == 2 { native_expected.unwrap_or(wasm_expected) } else { wasm_expected };
        let mut iters = Vec::new();
        for (i, (_, runner)) in runners.iter_mut().enumerate() {
            iters.push(runner.as_mut().map(|run| {
                calibrate(&mut || assert_eq!(run().unwrap(), expect(i), "{}: the digest changed", p.name), target)
            }));
        }
        let mut samples = vec![Vec::new(); 3];
        for _ in 0..rounds {
            for (i, (_, runner)) in runners.iter_mut().enumerate() {
                if let (Some(run), Some(n)) = (runner.as_mut(), iters[i]) {
                    samples[i].push(sample(
                        &mut || assert_eq!(run().unwrap(), expect(i), "{}: the digest changed", p.name),
                        n,
                    ));
                }
            }
        }
        let ms = |v: &Vec<f64>| (!v.is_empty()).then(|| median(v.clone()) / 1e6);
        let mut row = Row::new("programs", p.name.clone(), 0.0, ms(&samples[1]).unwrap(), "ms")
            .note(if note.is_empty() { p.about.clone() } else { format!("{} **{note}**", p.about) });
        row.kiln = ms(&samples[0]);
        row.native = ms(&samples[2]);
        log(&format!(
            "programs: {}: kiln {:?} ms, wasmtime {:.3} ms, native {:?} ms",
            p.name, row.kiln, row.wasmtime, row.native
        ));
        rows.push(row);
    }
}
