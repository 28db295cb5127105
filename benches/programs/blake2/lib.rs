//! Cryptography: BLAKE2b-512 of 8 MiB, in 64 KiB updates.
use blake2::{Blake2b512, Digest};
use common::{check, digest};

common::program!(
    Vec<u8>,
    || {
        // RFC 7693, appendix A: BLAKE2b-512("abc") starts ba 80 a5 3f.
        let kat = Blake2b512::digest(b"abc");
        check(kat[..4] == [0xba, 0x80, 0xa5, 0x3f], "BLAKE2b-512(\"abc\") known answer");
        let mut v = vec![0; 8 << 20];
        common::Rng::new(8).fill(&mut v);
        v
    },
    |input: &Vec<u8>| {
        let mut h = Blake2b512::new();
        for chunk in input.chunks(64 << 10) {
            h.update(chunk);
        }
        digest(&h.finalize())
    }
);
