//! Compression: Snappy (snap) over 4 MiB of text, both ways.
use common::{check, digest};

common::program!(Vec<u8>, || common::text(4 << 20, 4).into_bytes(), |input: &Vec<u8>| {
    let packed = snap::raw::Encoder::new().compress_vec(input).unwrap();
    let out = snap::raw::Decoder::new().decompress_vec(&packed).unwrap();
    check(out == *input, "decompress(compress(x)) == x");
    digest(&packed)
});
