//! `kiln compile IN.wasm [-o OUT] [--emit artifact|wasm|clif] [--target TRIPLE] [-W F=y|n] [--fuel] [--epoch]`:
//! produce an artifact outside cargo, loadable with `Module::from_bytes`
//! (or the module's binary, or kiln's Cranelift IR of it). Modules of more
//! than a few hundred functions get a progress bar on a terminal.

use clap::{Args, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

/// What `kiln compile` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Emit {
    /// The artifact (`.kiln`): what `Module::from_bytes` loads.
    Artifact,
    /// The module as binary wasm (`.wasm`; from `.wat` text).
    Wasm,
    /// Each function's Cranelift IR as kiln translates it, before
    /// Cranelift optimises it (`.clif`).
    Clif,
}

impl Emit {
    fn extension(self) -> &'static str {
        match self {
            Emit::Artifact => "kiln",
            Emit::Wasm => "wasm",
            Emit::Clif => "clif",
        }
    }
}

/// Above this many functions, compiling shows a progress bar.
const PROGRESS_FROM: usize = 300;

/// Arguments of `kiln compile`.
#[derive(Debug, Args)]
pub struct CompileArgs {
    /// The module: .wasm or .wat.
    pub input: PathBuf,
    /// Where to write (default: the input with the extension of `--emit`).
    #[arg(short, long, value_name = "OUT")]
    pub output: Option<PathBuf>,
    /// What to write.
    #[arg(long, value_enum, default_value_t = Emit::Artifact)]
    pub emit: Emit,
    /// Compile for this target triple instead of this machine (any
    /// target kiln supports; no machine of that kind is needed).
    #[arg(long, value_name = "TRIPLE")]
    pub target: Option<String>,
    /// Switch a WebAssembly feature on or off (repeatable; see `kiln --help`).
    #[arg(short = 'W', value_name = "FEATURE=y|n")]
    pub features: Vec<String>,
    /// Debug options (repeatable): `debug-info` writes source locations
    /// from the module's DWARF into the artifact, for backtraces.
    #[arg(short = 'D', value_name = "OPTION[=y|n]")]
    pub debug: Vec<String>,
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
    super::apply_debug_switches(&mut config, &args.debug)?;
    let input = &args.input;
    let output = args.output.clone().unwrap_or_else(|| input.with_extension(args.emit.extension()));
    if output == *input {
        return Err(format!("writing {} would overwrite the input: give -o", output.display()));
    }
    let wasm = kiln_build::read_module(input).map_err(|e| e.to_string())?;
    let in_input = |e: kiln_build::Error| format!("{}: {e}", input.display());
    let bytes = match args.emit {
        Emit::Wasm => wasm,
        Emit::Clif => {
            let mut text = String::new();
            for (index, clif) in kiln_build::clif(&wasm, &config).map_err(in_input)? {
                text.push_str(&format!(";; wasm function {index}\n{clif}\n"));
            }
            text.into_bytes()
        }
        Emit::Artifact => {
            let bar = std::sync::OnceLock::new();
            let progress = |done: usize, total: usize| {
                let bar = bar.get_or_init(|| (total > PROGRESS_FROM).then(|| progress_bar(total)));
                if let Some(bar) = bar {
                    bar.set_position(done as u64);
                }
            };
            let artifact = kiln_build::compile_with_progress(&wasm, &config, &progress).map_err(in_input);
            if let Some(Some(bar)) = bar.get() {
                bar.finish_and_clear();
            }
            artifact?
        }
    };
    std::fs::write(&output, &bytes).map_err(|e| format!("{}: {e}", output.display()))?;
    println!("{} -> {} ({} bytes, {})", input.display(), output.display(), bytes.len(), config.triple());
    Ok(())
}

/// A bar on stderr (hidden when stderr is not a terminal).
fn progress_bar(total: usize) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(total as u64);
    let style = indicatif::ProgressStyle::with_template("compiling {bar:40} {pos}/{len} functions ({elapsed})")
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    bar.set_style(style);
    bar
}
