//! kiln's fuzzers, as a library: generators, the engines and oracles, and
//! one module per target. `main.rs` runs the targets as a plain binary: a
//! deterministic loop over seeds, for CI and long runs; `libfuzzer/` holds
//! cargo-fuzz targets over the same checks.
//!
//! | target | what it proves |
//! |---|---|
//! | [`differential`] | kiln computes what two independent interpreters compute |
//! | [`cross`] | the same, on another architecture: recorded here, replayed there by `kiln-fuzz-replay` |
//! | [`compile`] | the compiler returns `Ok` or a message for any input, for every target |
//! | [`artifacts`] | a damaged artifact is refused or loads harmlessly; the process never dies |
//! | [`wasi`] | WASI calls never reach outside the preopen, and always return an errno |
//! | [`host_api`] | the embedding API answers as its model does, and refuses misuse |

pub mod artifacts;
pub mod canon;
pub mod compile;
pub mod cross;
pub mod differential;
pub mod engines;
pub mod generate;
pub mod host_api;
pub mod rng;
pub mod runner;
pub mod supervise;
pub mod wasi;

pub use kiln_artifact;
/// What a case observes, shared with the replayer.
pub use kiln_fuzz_replay::outcome;
