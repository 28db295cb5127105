//! The host functions a differential module may import: every engine
//! defines the same ones, whose results are a function of everything
//! called so far, and keeps a digest of every host call made (which
//! function, with which arguments, in which order). So a wrong argument, a
//! lost or repeated call, or a result dropped on the way back shows as a
//! difference between engines, as a wrong result does.

use crate::outcome::Value;
use serde::{Deserialize, Serialize};

/// The import module's name.
pub const MODULE: &str = "host";

/// A parameter or result type of a host function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    I32,
    I64,
    F32,
    F64,
}

use Ty::*;

/// The functions of [`MODULE`]: name, parameters, results. Some take more
/// arguments than any ABI passes in registers, some return several values.
pub const FUNCTIONS: &[(&str, &[Ty], &[Ty])] = &[
    ("nop", &[], &[]),
    ("i32", &[I32], &[I32]),
    ("i64_i32", &[I64, I32], &[I64]),
    ("floats", &[F32, F64], &[F64]),
    ("demote", &[F64], &[F32]),
    ("mixed", &[I32, I64, F32, F64], &[I32, F64, I64]),
    ("pair", &[I32, I32], &[I32, I32]),
    ("wide", &[I64, I64, I64, I64, I64, I64, I64, I64, I32, I32, F64, F64, F64, F64, F64, F64, F64, F64, F32], &[I64]),
    ("four", &[], &[F32, I32, F64, I64]),
];

/// What one engine's host functions saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostLog {
    pub calls: u64,
    /// An FNV-1a-style hash of every call's function and arguments, in
    /// order.
    pub digest: u64,
}

/// A host function refusing its call: every engine must then report an
/// error, which the comparison matches as "some error".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostTrap;

impl std::fmt::Display for HostTrap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the host function failed, as it does in about one call in 32")
    }
}

impl std::error::Error for HostTrap {}

impl HostLog {
    /// Host function `index` of [`FUNCTIONS`] called with `args`: its
    /// results, or a failure.
    pub fn call(&mut self, index: usize, args: &[Value]) -> Result<Vec<Value>, HostTrap> {
        self.calls += 1;
        self.mix(index as u64);
        for arg in args {
            // NaN payloads of arguments are the engines' business (and
            // canonicalized where the spec leaves them open); that a NaN
            // arrived is what counts.
            let bits = match *arg {
                Value::I32(x) => u64::from(x as u32),
                Value::I64(x) => x as u64,
                Value::F32(x) if f32::from_bits(x).is_nan() => 0x7fc0_0000,
                Value::F32(x) => u64::from(x),
                Value::F64(x) if f64::from_bits(x).is_nan() => 0x7ff8_0000_0000_0000,
                Value::F64(x) => x,
                Value::V128(_) | Value::FuncRef { .. } | Value::ExternRef { .. } | Value::ExnRef { .. } => 0,
            };
            self.mix(bits);
        }
        let mut state = self.digest;
        if splitmix(&mut state).is_multiple_of(32) {
            return Err(HostTrap);
        }
        let results = FUNCTIONS.get(index).map_or(&[][..], |f| f.2);
        // Any bits, NaNs with payloads included: a value from the host is
        // passed on as it is.
        Ok(results
            .iter()
            .map(|ty| {
                let r = splitmix(&mut state);
                match ty {
                    I32 => Value::I32(r as i32),
                    I64 => Value::I64(r as i64),
                    F32 => Value::F32(r as u32),
                    F64 => Value::F64(r),
                }
            })
            .collect())
    }

    fn mix(&mut self, word: u64) {
        for b in word.to_le_bytes() {
            self.digest = (self.digest ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_follow_the_calls_and_their_order() {
        let (mut a, mut b) = (HostLog::default(), HostLog::default());
        let x = a.call(1, &[Value::I32(5)]);
        assert_eq!(x, b.call(1, &[Value::I32(5)]));
        assert_eq!(a, b);
        let _ = a.call(1, &[Value::I32(6)]);
        let _ = b.call(1, &[Value::I32(7)]);
        assert_ne!(a, b, "an argument changes the digest");
        // NaN payloads do not.
        let (mut c, mut d) = (HostLog::default(), HostLog::default());
        let _ = c.call(3, &[Value::F32(0x7fc0_0001), Value::F64(1)]);
        let _ = d.call(3, &[Value::F32(0xffc0_0000), Value::F64(1)]);
        assert_eq!(c, d);
        // Results have the function's types, and some calls fail.
        let mut e = HostLog::default();
        let outcomes: Vec<_> =
            (0..1000).map(|i| e.call(5, &[Value::I32(i), Value::I64(0), Value::F32(0), Value::F64(0)])).collect();
        let failed = outcomes.iter().filter(|o| o.is_err()).count();
        assert!((10..70).contains(&failed), "{failed} of 1000 failed");
        let ok = outcomes.iter().find_map(|o| o.as_ref().ok()).unwrap();
        assert!(matches!(ok[..], [Value::I32(_), Value::F64(_), Value::I64(_)]));
    }
}
