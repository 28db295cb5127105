//! What an engine did with a module, in terms every engine can be mapped
//! to, and how two such records are compared.

use kiln_artifact::traps::TrapCode;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A WebAssembly value. References compare by null-ness only: their
/// identities mean nothing across engines.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub enum Value {
    I32(i32),
    I64(i64),
    F32(u32),
    F64(u64),
    V128(u128),
    FuncRef { null: bool },
    ExternRef { null: bool },
    ExnRef { null: bool },
}

impl PartialEq for Value {
    /// Bitwise, except that any NaN equals any NaN for scalar floats
    /// (vectors are compared bitwise: the generator canonicalizes NaNs).
    fn eq(&self, other: &Value) -> bool {
        use Value::*;
        match (*self, *other) {
            (I32(a), I32(b)) => a == b,
            (I64(a), I64(b)) => a == b,
            (F32(a), F32(b)) => a == b || (f32::from_bits(a).is_nan() && f32::from_bits(b).is_nan()),
            (F64(a), F64(b)) => a == b || (f64::from_bits(a).is_nan() && f64::from_bits(b).is_nan()),
            (V128(a), V128(b)) => a == b,
            (FuncRef { null: a }, FuncRef { null: b })
            | (ExternRef { null: a }, ExternRef { null: b })
            | (ExnRef { null: a }, ExnRef { null: b }) => a == b,
            _ => false,
        }
    }
}

/// Why a call (or the instantiation) did not return normally.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Failure {
    /// A trap, by kind (kiln's names; the oracles' codes are mapped).
    Trap(TrapCode),
    /// Any other error: a message, compared only as "some error".
    Error(String),
}

impl Failure {
    /// Engines exhaust their stacks at different depths: not a divergence.
    pub fn is_stack_exhaustion(&self) -> bool {
        *self == Failure::Trap(TrapCode::StackOverflow)
    }
}

/// Everything one engine did with one module and plan.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Run {
    /// `None` if instantiation (with the start function) succeeded.
    pub instantiation: Option<Failure>,
    pub calls: Vec<Result<Vec<Value>, Failure>>,
    /// The final bytes of each exported memory, in plan order.
    #[serde(with = "crate::case::sparse")]
    pub memories: Vec<Vec<u8>>,
    pub globals: Vec<Value>,
    /// Null-ness of every element of each exported table.
    pub tables: Vec<Vec<bool>>,
    /// Every call of an imported host function.
    pub host: crate::host::HostLog,
}

impl Run {
    /// Whether any step exhausted the stack, which makes the rest of the
    /// run engine-specific.
    pub fn exhausted_stack(&self) -> bool {
        self.instantiation.as_ref().is_some_and(Failure::is_stack_exhaustion)
            || self.calls.iter().any(|c| c.as_ref().is_err_and(Failure::is_stack_exhaustion))
    }
}

/// How two runs of the same case differ: the first difference found.
#[derive(Debug, Clone, PartialEq)]
pub struct Difference(pub String);

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn failure_eq(a: &Failure, b: &Failure) -> bool {
    match (a, b) {
        (Failure::Trap(a), Failure::Trap(b)) => a == b,
        // Instantiation errors that are not traps (a link error cannot
        // happen without imports; resource limits differ by engine).
        (Failure::Error(_), Failure::Error(_)) => true,
        _ => false,
    }
}

/// Compare two runs. `None`: the same. Ignores everything after a stack
/// exhaustion in either run.
pub fn compare(plan_calls: &[crate::plan::Call], a: &Run, b: &Run) -> Option<Difference> {
    let diff = |s: String| Some(Difference(s));
    match (&a.instantiation, &b.instantiation) {
        (None, None) => {}
        // Engines report a failed instantiation differently (a trap, or
        // an error naming the segment): that it failed is what counts.
        (Some(_), Some(_)) => return None,
        (Some(x), _) | (_, Some(x)) if x.is_stack_exhaustion() => return None,
        (x, y) => return diff(format!("instantiation: {x:?} vs {y:?}")),
    }
    for (i, (x, y)) in a.calls.iter().zip(&b.calls).enumerate() {
        let name = plan_calls.get(i).map_or("?", |c| c.export.as_str());
        let x_exhausted = x.as_ref().is_err_and(Failure::is_stack_exhaustion);
        let y_exhausted = y.as_ref().is_err_and(Failure::is_stack_exhaustion);
        if x_exhausted || y_exhausted {
            return None;
        }
        let same = match (x, y) {
            (Ok(x), Ok(y)) => x == y,
            (Err(x), Err(y)) => failure_eq(x, y),
            _ => false,
        };
        if !same {
            return diff(format!("call {i} ({name:?}): {x:?} vs {y:?}"));
        }
    }
    if a.calls.len() != b.calls.len() {
        return diff(format!("{} calls vs {}", a.calls.len(), b.calls.len()));
    }
    if a.host != b.host {
        return diff(format!("host calls: {:?} vs {:?}", a.host, b.host));
    }
    for (i, (x, y)) in a.memories.iter().zip(&b.memories).enumerate() {
        if x != y {
            let at = x.iter().zip(y).position(|(p, q)| p != q);
            return diff(format!("memory {i}: {} vs {} bytes, first difference at {at:?}", x.len(), y.len()));
        }
    }
    for (i, (x, y)) in a.globals.iter().zip(&b.globals).enumerate() {
        if x != y {
            return diff(format!("global {i}: {x:?} vs {y:?}"));
        }
    }
    for (i, (x, y)) in a.tables.iter().zip(&b.tables).enumerate() {
        if x != y {
            return diff(format!("table {i}: {} vs {} elements or null-ness differs", x.len(), y.len()));
        }
    }
    None
}

impl Failure {
    /// A trap of kind `code`, with the distinctions some engines do not
    /// make merged: `table.init`/`table.copy` out of bounds is a table
    /// access out of bounds like any other.
    pub fn trap(code: TrapCode) -> Failure {
        Failure::Trap(match code {
            TrapCode::ElementOutOfBounds => TrapCode::TableOutOfBounds,
            c => c,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(calls: Vec<Result<Vec<Value>, Failure>>) -> Run {
        Run { calls, ..Run::default() }
    }

    #[test]
    fn floats_compare_nan_aware_vectors_bitwise() {
        assert_eq!(Value::F32(0x7fc0_0000), Value::F32(0xffc0_0001));
        assert_ne!(Value::F32(0), Value::F32(0x8000_0000)); // +0 and -0 differ
        assert_eq!(Value::F64(0x7ff8_0000_0000_0000), Value::F64(0x7ff0_0000_0000_0001));
        assert_ne!(Value::V128(0x7fc0_0000), Value::V128(0xffc0_0000));
        assert_ne!(Value::I32(1), Value::I64(1));
    }

    #[test]
    fn a_different_trap_kind_or_value_is_a_difference() {
        let trap = |c| Err(Failure::trap(c));
        let a = run(vec![Ok(vec![Value::I32(1)]), trap(TrapCode::MemoryOutOfBounds)]);
        let b = run(vec![Ok(vec![Value::I32(1)]), trap(TrapCode::IntegerOverflow)]);
        let c = run(vec![Ok(vec![Value::I32(2)]), trap(TrapCode::MemoryOutOfBounds)]);
        assert!(compare(&[], &a, &b).is_some_and(|d| d.0.starts_with("call 1")));
        assert!(compare(&[], &a, &c).is_some_and(|d| d.0.starts_with("call 0")));
        assert_eq!(compare(&[], &a, &a.clone()), None);
        // table.init out of bounds is a table trap like any other.
        let d = run(vec![Ok(vec![Value::I32(1)]), trap(TrapCode::ElementOutOfBounds)]);
        let e = run(vec![Ok(vec![Value::I32(1)]), trap(TrapCode::TableOutOfBounds)]);
        assert_eq!(compare(&[], &d, &e), None);
    }

    #[test]
    fn stack_exhaustion_ends_the_comparison() {
        let a = run(vec![Err(Failure::trap(TrapCode::StackOverflow)), Ok(vec![Value::I32(1)])]);
        let b = run(vec![Ok(vec![Value::I32(7)]), Ok(vec![Value::I32(2)])]);
        assert_eq!(compare(&[], &a, &b), None);
        assert!(a.exhausted_stack() && !b.exhausted_stack());
    }

    #[test]
    fn final_state_is_compared() {
        let a = Run { memories: vec![vec![0, 1, 2]], ..Run::default() };
        let b = Run { memories: vec![vec![0, 1, 3]], ..Run::default() };
        assert!(compare(&[], &a, &b).is_some_and(|d| d.0.contains("first difference at Some(2)")));
        let g = Run { globals: vec![Value::I64(5)], ..Run::default() };
        let h = Run { globals: vec![Value::I64(6)], ..Run::default() };
        assert!(compare(&[], &g, &h).is_some());
        let t = Run { tables: vec![vec![true, false]], ..Run::default() };
        let u = Run { tables: vec![vec![true, true]], ..Run::default() };
        assert!(compare(&[], &t, &u).is_some());
        let failed = Run { instantiation: Some(Failure::trap(TrapCode::MemoryOutOfBounds)), ..Run::default() };
        assert!(compare(&[], &failed, &a).is_some());
    }
}
