//! `kiln compile IN.wasm [-o OUT.kiln] [--target TRIPLE] [-W F=y|n] [--fuel] [--epoch]`:
//! produce an artifact outside cargo, loadable with `Module::from_bytes`.

use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `kiln compile`.
#[derive(Debug, Args)]
pub struct CompileArgs {
    /// The module: .wasm or .wat.
    pub input: PathBuf,
    /// Where to write the artifact (default: the input with `.kiln`).
    #[arg(short, long, value_name = "OUT.kiln")]
    pub output: Option<PathBuf>,
    /// Compile for this target triple instead of this machine (any
    /// target kiln supports; no machine of that kind is needed).
    #[arg(long, value_name = "TRIPLE")]
    pub target: Option<String>,
    /// Switch a WebAssembly feature on or off (repeatable; see `kiln --help`).
    #[arg(short = 'W', value_name = "FEATURE=y|n")]
    pub features: Vec<String>,
    /// Meter fuel (the store's fuel budget stops the guest).
    #[arg(long)]
    pub fuel: bool,
    /// Check epoch deadlines (another thread can interrupt the guest).
    #[arg(long)]
    pub epoch: bool,
}

/// Compile a module to an artifact file.
pub fn compile(args: &CompileArgs) -> ExitCode {
    match compile_inner(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kiln compile: {e}");
            ExitCode::from(1)
        }
    }
}

fn compile_inner(args: &CompileArgs) -> Result<(), String> {
    let mut config = match &args.target {
        Some(t) => kiln_build::Config::for_target(t).map_err(|e| e.to_string())?,
        None => kiln_build::Config::host(),
    };
    config.consume_fuel(args.fuel).epoch_interruption(args.epoch);
    super::apply_feature_switches(&mut config, &args.features)?;
    let input = &args.input;
    let output = args.output.clone().unwrap_or_else(|| input.with_extension("kiln"));
    let wasm = kiln_build::read_module(input).map_err(|e| e.to_string())?;
    let artifact = kiln_build::compile(&wasm, &config).map_err(|e| format!("{}: {e}", input.display()))?;
    std::fs::write(&output, &artifact).map_err(|e| format!("{}: {e}", output.display()))?;
    println!("{} -> {} ({} bytes, {})", input.display(), output.display(), artifact.len(), config.triple());
    Ok(())
}
