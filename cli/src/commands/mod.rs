//! The subcommands of `kiln`, one file each; `main.rs` only dispatches.
//!
//! | file | command |
//! |---|---|
//! | `wast.rs` | `kiln wast FILE...`: run spec scripts through the full pipeline |
//! | `run.rs` | `kiln run PLUGIN.wasm [--dir H::G] [--env K=V] [--fuel N] -- ARGS`: run a WASI command |
//! | `compile.rs` | `kiln compile IN.wasm [-o OUT.kiln] [--target T] [--fuel] [--epoch]`: write an artifact |

mod compile;
mod run;
mod wast;

pub use compile::compile;
pub use run::{parse_run_args, run, RunArgs};
pub use wast::wast;
