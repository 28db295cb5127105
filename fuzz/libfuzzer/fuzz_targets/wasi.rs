//! A WASI call sequence drawn from the seed the input encodes.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    kiln_fuzz::runner::fail_on_finding(kiln_fuzz::wasi::case(kiln_fuzz::runner::seed_from_bytes(data)));
});
