//! Compression: Brotli (the brotli crate) of 256 KiB of text at quality 9,
//! then decompressing it.
use common::{check, digest};
use std::io::{Read, Write};

common::program!(Vec<u8>, || common::text(256 << 10, 2).into_bytes(), |input: &Vec<u8>| {
    let mut packed = Vec::new();
    {
        let mut w = brotli::CompressorWriter::new(&mut packed, 4096, 9, 22);
        w.write_all(input).unwrap();
    }
    let mut out = Vec::with_capacity(input.len());
    brotli::Decompressor::new(&packed[..], 4096).read_to_end(&mut out).unwrap();
    check(out == *input, "decompress(compress(x)) == x");
    check(packed.len() < input.len() / 2, "text compresses");
    digest(&packed)
});
