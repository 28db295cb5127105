//! Arbitrary precision: 2048-bit modular exponentiation (RSA-sized) with
//! num-bigint, checked by Fermat's little theorem on a known prime.
use common::{check, Digest};
use num_bigint::BigUint;
use num_traits::One;

common::program!(
    (BigUint, Vec<BigUint>),
    || {
        // 2^2203 - 1 is a Mersenne prime.
        let p = (BigUint::one() << 2203u32) - BigUint::one();
        let mut rng = common::Rng::new(11);
        let bases = (0..4)
            .map(|_| {
                let mut b = vec![0u8; 256];
                rng.fill(&mut b);
                BigUint::from_bytes_le(&b)
            })
            .collect();
        (p, bases)
    },
    |(p, bases): &(BigUint, Vec<BigUint>)| {
        let e = p - BigUint::one();
        let mut d = Digest::default();
        for b in bases {
            check(b.modpow(&e, p).is_one(), "b^(p-1) = 1 mod p");
            d = d.bytes(&b.modpow(&BigUint::from(65537u32), p).to_bytes_le());
        }
        d.finish()
    }
);
