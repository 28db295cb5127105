//! Cryptography: SHA3-256 (Keccak-f[1600], 64-bit lanes) of 2 MiB.
use common::{check, digest};
use sha3::{Digest, Sha3_256};

common::program!(
    Vec<u8>,
    || {
        // The FIPS 202 test vector for "abc".
        let kat = Sha3_256::digest(b"abc");
        check(
            kat[..4] == [0x3a, 0x98, 0x5d, 0xa7] && kat[28..] == [0x11, 0x43, 0x15, 0x32],
            "SHA3-256(\"abc\") known answer",
        );
        let mut v = vec![0; 2 << 20];
        common::Rng::new(7).fill(&mut v);
        v
    },
    |input: &Vec<u8>| digest(&Sha3_256::digest(input))
);
