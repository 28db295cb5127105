//! The subcommands of `kiln`, one file each, and the argument grammar
//! (clap) that `main.rs` parses with.
//!
//! | file | command |
//! |---|---|
//! | `run.rs` | `kiln run [-W F=y\|n] [--dir H::G] [--env K=V] [--fuel N] [--invoke NAME] MODULE ARGS…`: run a WASI command or one export |
//! | `compile.rs` | `kiln compile IN.wasm [-o OUT.kiln] [--target T] [-W F=y\|n] [--fuel] [--epoch]`: write an artifact |
//! | `wast.rs` | `kiln wast [-W F=y\|n] PATH…`: run spec scripts through the full pipeline |
//! | `inspect.rs` | `kiln inspect FILE [--disas FUNC]`: what an artifact (or the artifact of a .wasm) holds |
//!
//! Every command that compiles takes Wasmtime's `-W FEATURE=y|n` switches
//! (see [`kiln_build::features::FEATURES`]).

mod compile;
mod inspect;
mod run;
mod wast;

pub use compile::CompileArgs;
pub use inspect::InspectArgs;
pub use run::{RunArgs, TRAP_EXIT_CODE};
pub use wast::WastArgs;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// The `kiln` command line.
#[derive(Debug, Parser)]
#[command(
    name = "kiln",
    version,
    about = "WebAssembly compiled ahead of time with Cranelift, run in place",
    after_help = features_help(),
    propagate_version = true
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// One subcommand.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Compile a module for this CPU (through the artifact cache), load the
    /// artifact and run it: a WASI command's `_start`, or the export given
    /// with `--invoke`. Exits with the guest's exit code; on a trap prints
    /// the wasm backtrace and exits with 128 + SIGABRT (134; 3 on Windows).
    Run(RunArgs),
    /// Write the artifact of a module (.wasm or .wat), for this machine or
    /// any target kiln compiles for.
    Compile(CompileArgs),
    /// Run WebAssembly spec scripts (files or directories) through the
    /// full pipeline: compile, write the artifact, load it, run.
    Wast(WastArgs),
    /// Show what an artifact holds: engine header, sections, functions,
    /// imports and exports, segments, trap sites; a .wasm is compiled for
    /// this machine first.
    Inspect(InspectArgs),
}

impl Cli {
    /// Run the parsed command; its exit code.
    pub fn run(self) -> ExitCode {
        match self.command {
            Command::Run(a) => run::run(&a),
            Command::Compile(a) => compile::compile(&a),
            Command::Wast(a) => wast::wast(&a),
            Command::Inspect(a) => inspect::inspect(&a),
        }
    }
}

/// The list printed after `kiln --help`: every feature, its default and
/// what it is.
fn features_help() -> String {
    let mut out = String::from("WebAssembly features (-W NAME=y|n on run, compile and wast):\n");
    for f in kiln_build::features::FEATURES {
        let state = match (f.supported, f.default) {
            (false, _) => "not supported yet",
            (true, true) => "on by default",
            (true, false) => "off by default",
        };
        out.push_str(&format!("  {:<22}{:<19}{}\n", f.name, state, f.description));
    }
    out
}

/// Apply `-D` switches, in order, to `config`: `debug-info[=y|n]` (source
/// locations from the module's DWARF in backtraces).
fn apply_debug_switches(config: &mut kiln_build::Config, switches: &[String]) -> Result<(), String> {
    for s in switches {
        let (name, value) = s.split_once('=').unwrap_or((s, "y"));
        let on = match value {
            "y" | "yes" | "true" => true,
            "n" | "no" | "false" => false,
            _ => return Err(format!("-D {s}: expected {name}=y or {name}=n")),
        };
        match name {
            "debug-info" => config.debug_info(on),
            _ => return Err(format!("-D {s}: unknown debug option `{name}` (known: debug-info)")),
        };
    }
    Ok(())
}

/// Apply `-W` switches, in order, to `config`.
fn apply_feature_switches(config: &mut kiln_build::Config, switches: &[String]) -> Result<(), String> {
    let mut features = config.features();
    for s in switches {
        features.apply_switch(s).map_err(|e| e.to_string())?;
    }
    config.wasm_features(features);
    Ok(())
}
