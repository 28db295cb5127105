//! The subcommands of `kiln`, one file each; `main.rs` only dispatches.
//!
//! | file | command |
//! |---|---|
//! | `wast.rs` | `kiln wast [-W F=y\|n] FILE...`: run spec scripts through the full pipeline |
//! | `run.rs` | `kiln run PLUGIN.wasm [-W F=y\|n] [--dir H::G] [--env K=V] [--fuel N] -- ARGS`: run a WASI command |
//! | `compile.rs` | `kiln compile IN.wasm [-o OUT.kiln] [--target T] [-W F=y\|n] [--fuel] [--epoch]`: write an artifact |
//!
//! Every command takes Wasmtime's `-W FEATURE=y|n` switches (see
//! [`kiln_build::features::FEATURES`]).

mod compile;
mod run;
mod wast;

pub use compile::compile;
pub use run::{parse_run_args, run, RunArgs, TRAP_EXIT_CODE};
pub use wast::wast;

/// If `arg` is a feature switch (`-W name=y|n`, or `-Wname=y|n`), its
/// value, taking it from `rest` when separate.
fn feature_switch<'a>(arg: &str, rest: &mut impl Iterator<Item = &'a String>) -> Option<Result<String, String>> {
    match arg.strip_prefix("-W") {
        Some("") => Some(rest.next().cloned().ok_or_else(|| "-W needs FEATURE=y|n".to_string())),
        Some(inline) => Some(Ok(inline.to_string())),
        None => None,
    }
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
