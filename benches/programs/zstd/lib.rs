//! Compression: Zstandard, the reference C library (zstd-sys), level 3, over
//! 2 MiB of text, both ways.
use common::{check, digest};

common::program!(Vec<u8>, || common::text(2 << 20, 5).into_bytes(), |input: &Vec<u8>| {
    let packed = zstd::bulk::compress(input, 3).unwrap();
    let out = zstd::bulk::decompress(&packed, input.len()).unwrap();
    check(out == *input, "decompress(compress(x)) == x");
    check(packed.len() < input.len() / 2, "text compresses");
    digest(&packed)
});
