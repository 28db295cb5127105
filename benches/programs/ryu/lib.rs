//! Numbers: shortest round-trip formatting of 200,000 doubles (Ryū) and
//! parsing them back with the standard library.
use common::{check, Digest, Rng};

common::program!(
    Vec<f64>,
    || {
        let mut rng = Rng::new(21);
        (0..200_000)
            .map(|i| match i % 3 {
                0 => f64::from_bits(rng.next_u64() & !(0x7ff << 52) | ((rng.below(2046) + 1) << 52)),
                1 => rng.below(1_000_000_000) as f64 / 1000.0,
                _ => (rng.below(1 << 53) as f64) * 1e-300,
            })
            .collect()
    },
    |xs: &Vec<f64>| {
        let mut buf = ryu::Buffer::new();
        let mut d = Digest::default();
        for &x in xs {
            let s = buf.format_finite(x);
            let back: f64 = s.parse().unwrap();
            check(back.to_bits() == x.to_bits(), "parse(format(x)) == x");
            d = d.bytes(s.as_bytes());
        }
        d.finish()
    }
);
