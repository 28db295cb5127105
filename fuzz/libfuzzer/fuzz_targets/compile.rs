//! The input as wasm, compiled for the target its first byte picks: Ok or an error.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&pick, wasm)) = data.split_first() else { return };
    let target = usize::from(pick) % kiln_fuzz::compile::TARGETS.len();
    kiln_fuzz::runner::fail_on_finding(kiln_fuzz::compile::check(wasm.to_vec(), target));
});
