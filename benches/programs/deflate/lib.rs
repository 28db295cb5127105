//! Compression: DEFLATE (miniz_oxide through flate2) of 1 MiB of text at
//! level 6, then inflating it back.
use common::{check, digest};
use flate2::{read::DeflateDecoder, write::DeflateEncoder, Compression};
use std::io::{Read, Write};

common::program!(Vec<u8>, || common::text(1 << 20, 1).into_bytes(), |input: &Vec<u8>| {
    let mut enc = DeflateEncoder::new(Vec::new(), Compression::new(6));
    enc.write_all(input).unwrap();
    let packed = enc.finish().unwrap();
    let mut out = Vec::with_capacity(input.len());
    DeflateDecoder::new(&packed[..]).read_to_end(&mut out).unwrap();
    check(out == *input, "inflate(deflate(x)) == x");
    check(packed.len() < input.len() / 2, "text compresses");
    digest(&packed)
});
