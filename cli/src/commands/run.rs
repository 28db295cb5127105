//! `kiln run [-W F=y|n] [-D debug-info=y|n] [--target-cpu native|baseline] [--dir HOST::GUEST] [--env K=V] [--fuel N] [--invoke NAME] MODULE ARGS…`:
//! compile a module (through the artifact cache) for this CPU's features,
//! load the artifact and run it — a WASI command's `_start`, exiting with
//! the guest's exit code, or one export called with typed arguments. The
//! flags are shaped like Wasmtime's.

use clap::{Args, ValueEnum};
use kiln::wasi::{DirPerms, I32Exit, WasiCtx, WasiCtxBuilder};
use kiln::{Linker, Module, Store, Val, ValType};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `kiln run`.
#[derive(Debug, Default, PartialEq, Eq, Args)]
pub struct RunArgs {
    /// Switch a WebAssembly feature on or off (repeatable; see `kiln --help`).
    #[arg(short = 'W', value_name = "FEATURE=y|n")]
    pub features: Vec<String>,
    /// Debug options (repeatable): `debug-info=n` leaves out the source
    /// locations read from the module's DWARF, which backtraces show by
    /// default.
    #[arg(short = 'D', value_name = "OPTION=y|n")]
    pub debug: Vec<String>,
    /// Compile for every feature of this CPU (native, the default, as
    /// `wasmtime run`) or for the target's baseline.
    #[arg(long, value_enum, default_value_t = TargetCpu::Native)]
    pub target_cpu: TargetCpu,
    /// Preopen a host directory as GUEST (HOST alone: the same name);
    /// `::ro` makes it read-only (repeatable).
    #[arg(long = "dir", value_name = "HOST[::GUEST][::ro]", value_parser = parse_dir)]
    pub dirs: Vec<(PathBuf, String, bool)>,
    /// Set an environment variable for the guest (repeatable).
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = parse_env)]
    pub env: Vec<(String, String)>,
    /// Run with this much fuel (compiles the module with fuel metering).
    #[arg(long, value_name = "N")]
    pub fuel: Option<u64>,
    /// Call this export instead of `_start`, with ARGS as its parameters
    /// (integers, floats; `-0`, `nan`, `inf` too), and print its results,
    /// one per line.
    #[arg(long, value_name = "NAME")]
    pub invoke: Option<String>,
    /// The module (.wasm or .wat), then the guest's arguments (argv[1..])
    /// or the invoked function's. Everything after the module is the
    /// guest's, flags too; a `--` right after it is dropped.
    #[arg(required = true, trailing_var_arg = true, value_name = "MODULE [ARGS]...")]
    pub module_and_args: Vec<String>,
}

impl RunArgs {
    /// The module to run.
    pub fn module(&self) -> PathBuf {
        PathBuf::from(self.module_and_args.first().map_or("", String::as_str))
    }

    /// The arguments after the module.
    pub fn args(&self) -> &[String] {
        let rest = self.module_and_args.get(1..).unwrap_or_default();
        rest.strip_prefix(&["--".to_string()]).unwrap_or(rest)
    }
}

/// Which CPU `kiln run` compiles for.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TargetCpu {
    /// Every feature of the CPU it runs on.
    #[default]
    Native,
    /// The target's baseline (x86-64: SSE2).
    Baseline,
}

fn parse_dir(v: &str) -> Result<(PathBuf, String, bool), String> {
    let (spec, read_only) = match v.strip_suffix("::ro") {
        Some(s) => (s, true),
        None => (v, false),
    };
    let (host, guest) = spec.split_once("::").unwrap_or((spec, spec));
    if host.is_empty() || guest.is_empty() {
        return Err(format!("`{v}`: expected HOST or HOST::GUEST"));
    }
    Ok((PathBuf::from(host), guest.to_string(), read_only))
}

fn parse_env(v: &str) -> Result<(String, String), String> {
    let (k, val) = v.split_once('=').ok_or_else(|| format!("`{v}`: expected KEY=VALUE"))?;
    Ok((k.to_string(), val.to_string()))
}

struct Host {
    wasi: WasiCtx,
}

#[allow(unsafe_code)]
fn load(path: &Path, args: &RunArgs) -> Result<Module, String> {
    // Like `wasmtime run`: the fastest code for this CPU unless asked not to.
    let mut config = match args.target_cpu {
        TargetCpu::Native => kiln_build::Config::native(),
        TargetCpu::Baseline => kiln_build::Config::host(),
    };
    config.consume_fuel(args.fuel.is_some()).debug_info(true);
    super::apply_feature_switches(&mut config, &args.features)?;
    super::apply_debug_switches(&mut config, &args.debug)?;
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

/// Run a WASI command (or `--invoke` an export); the exit code is the
/// guest's, [`TRAP_EXIT_CODE`] on a trap (whose message and backtrace go to
/// stderr), 1 on any other failure.
pub fn run(args: &RunArgs) -> ExitCode {
    match run_parsed(args) {
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
    let module = load(&args.module(), args)?;
    let module_path = args.module();
    let name = module_path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut builder = WasiCtxBuilder::new().arg(name).args(args.args().iter().cloned()).inherit_stdio();
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
    if let Some(name) = &args.invoke {
        return invoke(&mut store, &instance, name, args.args());
    }
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

/// `--invoke NAME ARGS…`: parse the arguments by the export's parameter
/// types, call it, print each result on a line of its own.
fn invoke(
    store: &mut Store<Host>,
    instance: &kiln::Instance,
    name: &str,
    args: &[String],
) -> Result<Result<i32, String>, String> {
    let func = instance.get_func(&mut *store, name).ok_or_else(|| format!("no exported function `{name}`"))?;
    let ty = func.ty(&mut *store);
    if args.len() != ty.params.len() {
        return Err(format!("`{name}` takes {} argument(s) ({ty}), {} given", ty.params.len(), args.len()));
    }
    let params = ty
        .params
        .iter()
        .zip(args)
        .enumerate()
        .map(|(i, (&t, a))| parse_val(t, a).map_err(|e| format!("argument {i} of `{name}`: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let mut results: Vec<Val> = ty.results.iter().map(|&t| Val::default_for(t)).collect();
    match func.call(&mut *store, &params, &mut results) {
        Ok(()) => {}
        Err(e) => match e.downcast_ref::<I32Exit>() {
            Some(exit) => return Ok(Ok(exit.0)),
            None if e.trap().is_some() => return Ok(Err(format!("{e:#}"))),
            None => return Err(e.to_string()),
        },
    }
    for r in &results {
        println!("{}", show_val(r));
    }
    Ok(Ok(0))
}

/// A command-line argument as a value of type `t`.
fn parse_val(t: ValType, s: &str) -> Result<Val, String> {
    let bad = || format!("`{s}` is not a valid {t}");
    // Integers may be written signed or unsigned (`-1` and `4294967295`).
    let int = |bits: u32| -> Result<i128, String> {
        let v: i128 = match s.strip_prefix("0x") {
            Some(hex) => i128::from_str_radix(hex, 16).map_err(|_| bad())?,
            None => s.parse().map_err(|_| bad())?,
        };
        if v < -(1i128 << (bits - 1)) || v >= 1i128 << bits {
            return Err(format!("`{s}` does not fit in {t}"));
        }
        Ok(v)
    };
    Ok(match t {
        ValType::I32 => Val::I32(int(32)? as i32),
        ValType::I64 => Val::I64(int(64)? as i64),
        ValType::F32 => Val::from(s.parse::<f32>().map_err(|_| bad())?),
        ValType::F64 => Val::from(s.parse::<f64>().map_err(|_| bad())?),
        other => return Err(format!("parameters of type {other} cannot be given on the command line")),
    })
}

/// A result as `--invoke` prints it: integers signed, floats as Rust
/// prints them, references as null or not.
fn show_val(v: &Val) -> String {
    match v {
        Val::I32(x) => x.to_string(),
        Val::I64(x) => x.to_string(),
        Val::F32(bits) => f32::from_bits(*bits).to_string(),
        Val::F64(bits) => f64::from_bits(*bits).to_string(),
        Val::V128(x) => format!("{x:#034x}"),
        Val::FuncRef(None) | Val::ExternRef(None) | Val::ExnRef(None) => "null".to_string(),
        Val::FuncRef(Some(_)) => "<funcref>".to_string(),
        Val::ExternRef(Some(_)) => "<externref>".to_string(),
        Val::ExnRef(Some(_)) => "<exnref>".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cmd {
        #[command(flatten)]
        run: RunArgs,
    }

    fn parse(v: &[&str]) -> Result<RunArgs, clap::Error> {
        Cmd::try_parse_from(std::iter::once("run").chain(v.iter().copied())).map(|c| c.run)
    }

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_wasmtime_shaped_flags() {
        let a =
            parse(&["--dir", "host-data::/data", "--env", "A=b", "--fuel", "100", "p.wasm", "--", "-v", "x"]).unwrap();
        assert_eq!(a.module(), PathBuf::from("p.wasm"));
        assert_eq!(a.dirs, vec![(PathBuf::from("host-data"), "/data".to_string(), false)]);
        assert_eq!(a.env, vec![("A".to_string(), "b".to_string())]);
        assert_eq!(a.fuel, Some(100));
        assert_eq!(a.args(), s(&["-v", "x"]));
        let a = parse(&["--dir", "d::ro", "p.wasm", "one", "--two"]).unwrap();
        assert_eq!(a.dirs, vec![(PathBuf::from("d"), "d".to_string(), true)]);
        assert_eq!(a.args(), s(&["one", "--two"]));
        assert!(parse(&["--env", "novalue", "p.wasm"]).is_err());
        assert!(parse(&[]).is_err());
    }

    #[test]
    fn parses_cpu_feature_switches_and_invoke() {
        let a = parse(&["-W", "threads=n", "-Wsimd=y", "--target-cpu", "baseline", "p.wasm", "-W"]).unwrap();
        assert_eq!(a.features, s(&["threads=n", "simd=y"]));
        assert_eq!(a.target_cpu, TargetCpu::Baseline);
        // After the module, `-W` belongs to the guest.
        assert_eq!(a.args(), s(&["-W"]));
        assert_eq!(parse(&["p.wasm"]).unwrap().target_cpu, TargetCpu::Native);
        assert!(parse(&["--target-cpu", "pentium", "p.wasm"]).is_err());
        assert!(parse(&["-W"]).is_err());
        let a = parse(&["--invoke", "add", "p.wasm", "-1", "2"]).unwrap();
        assert_eq!((a.invoke.as_deref(), a.args()), (Some("add"), &s(&["-1", "2"])[..]));
    }

    #[test]
    fn invoke_arguments_follow_the_parameter_types() {
        assert_eq!(parse_val(ValType::I32, "-1").unwrap(), Val::I32(-1));
        assert_eq!(parse_val(ValType::I32, "4294967295").unwrap(), Val::I32(-1));
        assert_eq!(parse_val(ValType::I64, "0x10").unwrap(), Val::I64(16));
        assert!(parse_val(ValType::I32, "4294967296").unwrap_err().contains("does not fit"));
        assert!(parse_val(ValType::I32, "x").unwrap_err().contains("not a valid i32"));
        assert_eq!(show_val(&parse_val(ValType::F64, "-0").unwrap()), "-0");
        assert_eq!(show_val(&parse_val(ValType::F32, "inf").unwrap()), "inf");
    }
}
