//! kiln: compile → artifact bytes here; load → instantiate → call in
//! [`run`], which the replayer shares.

pub use kiln_fuzz_replay::run::run;

/// The compiler configuration of a differential case: every feature the
/// generator may use, deterministic relaxed SIMD (the oracles implement
/// the proposal's deterministic results), and either the baseline CPU or
/// all features of this one, so both lowerings of each instruction are
/// exercised.
pub fn config(native_cpu: bool) -> kiln_build::Config {
    let mut config = if native_cpu { kiln_build::Config::native() } else { kiln_build::Config::host() };
    settings(&mut config);
    config
}

/// The settings every differential case compiles with, whatever the
/// target.
pub fn settings(config: &mut kiln_build::Config) {
    config.wasm_wide_arithmetic(true).wasm_custom_page_sizes(true).relaxed_simd_deterministic(true);
}

/// Compile `wasm` to artifact bytes.
pub fn compile(wasm: &[u8], native_cpu: bool) -> Result<Vec<u8>, String> {
    kiln_build::compile(wasm, &config(native_cpu)).map_err(|e| e.to_string())
}
