//! Compression: bzip2, the reference C library (bzip2-sys), block size 9,
//! over 512 KiB of text, both ways.
use common::{check, digest};
use std::io::{Read, Write};

common::program!(Vec<u8>, || common::text(512 << 10, 6).into_bytes(), |input: &Vec<u8>| {
    let mut enc = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::best());
    enc.write_all(input).unwrap();
    let packed = enc.finish().unwrap();
    let mut out = Vec::with_capacity(input.len());
    bzip2::read::BzDecoder::new(&packed[..]).read_to_end(&mut out).unwrap();
    check(out == *input, "decompress(compress(x)) == x");
    digest(&packed)
});
