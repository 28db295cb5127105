//! The input as artifact bytes, with its checksum recomputed when it has a
//! trailer (so the loader's deeper checks see every mutation).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut bytes = data.to_vec();
    let resealed = kiln_fuzz::kiln_artifact::integrity::reseal(&mut bytes);
    kiln_fuzz::runner::fail_on_finding(kiln_fuzz::artifacts::check(bytes, resealed, "fuzzer input"));
});
