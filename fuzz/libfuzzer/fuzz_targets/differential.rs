//! kiln against wasmi 2.x and 1.x on a module wasm-smith reads from the input.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    kiln_fuzz::runner::fail_on_finding(kiln_fuzz::differential::case_from_bytes(data));
});
