//! Cryptography: Ed25519 signing and verifying 64 messages (curve25519
//! field arithmetic in 64-bit limbs).
use common::{check, Digest};
use ed25519_dalek::{Signer, SigningKey, Verifier};

common::program!(
    (SigningKey, Vec<Vec<u8>>),
    || {
        let key = SigningKey::from_bytes(&[42; 32]);
        let mut rng = common::Rng::new(10);
        let msgs = (0..64)
            .map(|i| {
                let mut m = vec![0; 64 + i * 8];
                rng.fill(&mut m);
                m
            })
            .collect();
        (key, msgs)
    },
    |(key, msgs): &(SigningKey, Vec<Vec<u8>>)| {
        let public = key.verifying_key();
        let mut d = Digest::default();
        for m in msgs {
            let sig = key.sign(m);
            check(public.verify(m, &sig).is_ok(), "a signature verifies");
            d = d.bytes(&sig.to_bytes());
        }
        let sig = key.sign(&msgs[0]);
        check(public.verify(&msgs[1], &sig).is_err(), "a signature of another message is refused");
        d.finish()
    }
);
