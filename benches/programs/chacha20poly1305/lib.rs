//! Cryptography: ChaCha20-Poly1305 sealing and opening 1 MiB.
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use common::{check, digest};

common::program!(
    Vec<u8>,
    || {
        let mut v = vec![0; 1 << 20];
        common::Rng::new(9).fill(&mut v);
        v
    },
    |input: &Vec<u8>| {
        let cipher = ChaCha20Poly1305::new(Key::from_slice(&[7; 32]));
        let nonce = Nonce::from_slice(&[3; 12]);
        let sealed = cipher.encrypt(nonce, input.as_slice()).unwrap();
        let opened = cipher.decrypt(nonce, sealed.as_slice()).unwrap();
        check(opened == *input, "open(seal(x)) == x");
        let mut forged = sealed.clone();
        forged[100] ^= 1;
        check(cipher.decrypt(nonce, forged.as_slice()).is_err(), "a forged message is refused");
        digest(&sealed)
    }
);
