//! Compression: LZ4 block format (lz4_flex) over 4 MiB of text, both ways.
use common::{check, digest};

common::program!(Vec<u8>, || common::text(4 << 20, 3).into_bytes(), |input: &Vec<u8>| {
    let packed = lz4_flex::compress_prepend_size(input);
    let out = lz4_flex::decompress_size_prepended(&packed).unwrap();
    check(out == *input, "decompress(compress(x)) == x");
    digest(&packed)
});
