//! `kiln run PLUGIN.wasm [-W F=y|n] [--target-cpu native|baseline] [--dir HOST::GUEST] [--env K=V] [--fuel N] -- ARGS…`:
//! compile a WASI command (through the artifact cache) for this CPU's
//! features, load the artifact and run its `_start`, exiting with the
//! guest's exit code. The flags are shaped like Wasmtime's.

use kiln::wasi::{DirPerms, I32Exit, WasiCtx, WasiCtxBuilder};
use kiln::{Linker, Module, Store};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Parsed arguments of `kiln run`.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RunArgs {
    /// The module (`.wasm` or `.wat`).
    pub module: PathBuf,
    /// Preopened directories: (host path, guest path, read-only?).
    pub dirs: Vec<(PathBuf, String, bool)>,
    /// Environment variables for the guest.
    pub env: Vec<(String, String)>,
    /// Fuel budget; compiles the module with fuel metering.
    pub fuel: Option<u64>,
    /// WebAssembly feature switches (`-W name=y|n`), in order.
    pub features: Vec<String>,
    /// Compile for the target's baseline CPU (`--target-cpu baseline`)
    /// rather than for every feature of this one.
    pub baseline_cpu: bool,
    /// Arguments after the module name (the guest's argv[1..]).
    pub args: Vec<String>,
}

/// Parse `kiln run`'s arguments (everything after `run`).
pub fn parse_run_args(args: &[String]) -> Result<RunArgs, String> {
    let mut out = RunArgs::default();
    let mut it = args.iter();
    let mut module = None;
    while let Some(a) = it.next() {
        if module.is_none() {
            if let Some(switch) = super::feature_switch(a, &mut it) {
                out.features.push(switch?);
                continue;
            }
        }
        let mut value = |flag: &str| it.next().cloned().ok_or_else(|| format!("{flag} needs a value"));
        match a.as_str() {
            "--dir" => {
                let v = value("--dir")?;
                let (spec, read_only) = match v.strip_suffix("::ro") {
                    Some(s) => (s.to_string(), true),
                    None => (v.clone(), false),
                };
                let (host, guest) = match spec.split_once("::") {
                    Some((h, g)) => (h.to_string(), g.to_string()),
                    None => (spec.clone(), spec.clone()),
                };
                out.dirs.push((PathBuf::from(host), guest, read_only));
            }
            "--env" => {
                let v = value("--env")?;
                let (k, val) = v.split_once('=').ok_or_else(|| format!("--env {v}: expected KEY=VALUE"))?;
                out.env.push((k.to_string(), val.to_string()));
            }
            "--target-cpu" => match value("--target-cpu")?.as_str() {
                "native" => out.baseline_cpu = false,
                "baseline" => out.baseline_cpu = true,
                other => return Err(format!("--target-cpu {other}: expected `native` or `baseline`")),
            },
            "--fuel" => {
                let v = value("--fuel")?;
                out.fuel = Some(v.parse().map_err(|_| format!("--fuel {v}: expected a number"))?);
            }
            "--" => {
                out.args.extend(it.by_ref().cloned());
            }
            flag if flag.starts_with("--") && module.is_none() => return Err(format!("unknown flag `{flag}`")),
            _ if module.is_none() => module = Some(PathBuf::from(a)),
            _ => {
                // Without `--`, everything after the module goes to the guest.
                out.args.push(a.clone());
                out.args.extend(it.by_ref().cloned());
            }
        }
    }
    out.module = module.ok_or("`kiln run` needs a module")?;
    Ok(out)
}

struct Host {
    wasi: WasiCtx,
}

#[allow(unsafe_code)]
fn load(path: &Path, args: &RunArgs) -> Result<Module, String> {
    // Like `wasmtime run`: the fastest code for this CPU unless asked not to.
    let mut config = if args.baseline_cpu { kiln_build::Config::host() } else { kiln_build::Config::native() };
    config.consume_fuel(args.fuel.is_some());
    super::apply_feature_switches(&mut config, &args.features)?;
    let wasm = kiln_build::read_module(path).map_err(|e| e.to_string())?;
    let artifact = kiln_build::cache::compile_cached(&wasm, &config, &kiln_build::cache::cache_dir())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let bytes = std::fs::read(&artifact).map_err(|e| format!("{}: {e}", artifact.display()))?;
    // SAFETY: the artifact cache holds only what kiln_build wrote (damage
    // is caught by the checksum); like a directory on PATH, it must not be
    // writable by anyone the user does not trust.
    unsafe { Module::from_bytes(&bytes) }.map_err(|e| format!("{}: {e}", path.display()))
}

/// The exit code of a guest that trapped: an abort's, as Wasmtime's
/// (128 + SIGABRT on Unix; what `abort()` returns on Windows).
pub const TRAP_EXIT_CODE: u8 = if cfg!(windows) { 3 } else { 128 + 6 };

/// Run a WASI command; the exit code is the guest's, [`TRAP_EXIT_CODE`]
/// on a trap (whose message and backtrace go to stderr), 1 on any other
/// failure.
pub fn run(args: &[String]) -> ExitCode {
    let args = match parse_run_args(args) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("kiln run: {e}");
            return ExitCode::from(2);
        }
    };
    match run_parsed(&args) {
        Ok(Ok(code)) => ExitCode::from(code.clamp(0, 255) as u8),
        Ok(Err(trap)) => {
            eprintln!("kiln run: {trap}");
            ExitCode::from(TRAP_EXIT_CODE)
        }
        Err(e) => {
            eprintln!("kiln run: {e}");
            ExitCode::from(1)
        }
    }
}

/// `Ok(Ok(exit code))`, `Ok(Err(trap with backtrace))`, or `Err` when the
/// guest could not run.
fn run_parsed(args: &RunArgs) -> Result<Result<i32, String>, String> {
    let module = load(&args.module, args)?;
    let name = args.module.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut builder = WasiCtxBuilder::new().arg(name).args(args.args.iter().cloned()).inherit_stdio();
    for (k, v) in &args.env {
        builder = builder.env(k, v);
    }
    for (host, guest, read_only) in &args.dirs {
        let perms = if *read_only { DirPerms::Read } else { DirPerms::ReadWrite };
        builder =
            builder.preopened_dir(host, guest.clone(), perms).map_err(|e| format!("--dir {}: {e}", host.display()))?;
    }
    let mut store = Store::new(Host { wasi: builder.build() });
    if let Some(fuel) = args.fuel {
        store.set_fuel(fuel);
    }
    let mut linker = Linker::new();
    kiln::wasi::add_to_linker(&mut linker, |h: &mut Host| &mut h.wasi).map_err(|e| e.to_string())?;
    let instance = linker.instantiate(&mut store, &module).map_err(|e| e.to_string())?;
    let start =
        instance.get_typed_func::<(), ()>(&mut store, "_start").map_err(|e| format!("not a WASI command: {e}"))?;
    Ok(match start.call(&mut store, ()) {
        Ok(()) => Ok(0),
        Err(e) => match e.downcast_ref::<I32Exit>() {
            Some(exit) => Ok(exit.0),
            None if e.trap().is_some() => Err(format!("{e:#}")),
            None => return Err(e.to_string()),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_wasmtime_shaped_flags() {
        let a = parse_run_args(&s(&[
            "--dir",
            "host-data::/data",
            "--env",
            "A=b",
            "--fuel",
            "100",
            "p.wasm",
            "--",
            "-v",
            "x",
        ]))
        .unwrap();
        assert_eq!(a.module, PathBuf::from("p.wasm"));
        assert_eq!(a.dirs, vec![(PathBuf::from("host-data"), "/data".to_string(), false)]);
        assert_eq!(a.env, vec![("A".to_string(), "b".to_string())]);
        assert_eq!(a.fuel, Some(100));
        assert_eq!(a.args, s(&["-v", "x"]));
        let a = parse_run_args(&s(&["p.wasm", "one", "--two"])).unwrap();
        assert_eq!(a.args, s(&["one", "--two"]));
        assert!(parse_run_args(&s(&["--env", "novalue", "p.wasm"])).is_err());
        assert!(parse_run_args(&s(&[])).is_err());
    }

    #[test]
    fn parses_cpu_and_feature_switches() {
        let a =
            parse_run_args(&s(&["-W", "threads=n", "-Wsimd=y", "--target-cpu", "baseline", "p.wasm", "-W"])).unwrap();
        assert_eq!(a.features, s(&["threads=n", "simd=y"]));
        assert!(a.baseline_cpu);
        // After the module, `-W` belongs to the guest.
        assert_eq!(a.args, s(&["-W"]));
        assert!(!parse_run_args(&s(&["p.wasm"])).unwrap().baseline_cpu);
        assert!(parse_run_args(&s(&["--target-cpu", "pentium", "p.wasm"])).is_err());
        assert!(parse_run_args(&s(&["-W"])).is_err());
    }
}
