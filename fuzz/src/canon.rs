//! NaN canonicalisation where wasm-smith's leaves NaN payloads open.
//!
//! wasm-smith's `canonicalize_nans` follows the arithmetic float
//! instructions whose NaN result the spec leaves open with code that
//! replaces a NaN by the canonical one, but not these, whose NaN results
//! are just as open:
//!
//! - `relaxed_min/max/madd/nmadd` (in deterministic mode `relaxed_min` is
//!   `f32x4.min`): Cranelift's x86 `fmin` without AVX gives the canonical
//!   NaN; with AVX, and in both interpreters, the input's payload survives.
//!   A payload reaching an integer (`i8x16.bitmask`) then looked like a
//!   miscompilation (seed 5043640 of the differential target).
//! - `f64.promote_f32`, `f32.demote_f64` and their vector forms: x86,
//!   aarch64 and the interpreters keep the payload, RISC-V's `fcvt` gives
//!   the canonical NaN (seed 594 of the cross target on riscv64).
//!
//! This pass adds the same canonicalisation after those instructions.

use std::convert::Infallible;
use wasm_encoder::reencode::{Error, Reencode};
use wasm_encoder::{CodeSection, Function, Instruction, ValType};
use wasmparser::{FunctionBody, Operator, Parser, Payload};

const NAN32: i128 = 0x7fc0_0000;
const NAN64: i128 = 0x7ff8_0000_0000_0000;

/// `wasm` with every such float result canonicalised, or `wasm` itself
/// when it has none (or does not parse: the engines then report that).
pub fn canonicalize_nans(wasm: Vec<u8>) -> Vec<u8> {
    let Some(params) = defined_function_params(&wasm) else { return wasm };
    let mut pass = Pass { params, next: 0 };
    let mut module = wasm_encoder::Module::new();
    match pass.parse_core_module(&mut module, Parser::new(0), &wasm) {
        Ok(()) => module.finish(),
        Err(_) => wasm,
    }
}

/// The parameter count of each defined function, if any instruction to
/// canonicalise occurs at all.
fn defined_function_params(wasm: &[u8]) -> Option<Vec<u32>> {
    let (mut types, mut params, mut relaxed) = (Vec::new(), Vec::new(), false);
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.ok()? {
            Payload::TypeSection(s) => {
                for ty in s.into_iter_err_on_gc_types() {
                    types.push(ty.ok()?.params().len() as u32);
                }
            }
            Payload::FunctionSection(s) => {
                for ty in s {
                    params.push(*types.get(ty.ok()? as usize)?);
                }
            }
            Payload::CodeSectionEntry(body) => {
                let mut ops = body.get_operators_reader().ok()?;
                while !ops.eof() {
                    relaxed |= result(&ops.read().ok()?).is_some();
                }
            }
            _ => {}
        }
    }
    relaxed.then_some(params)
}

/// The float shape of an instruction's result, if it is to be
/// canonicalised.
fn result(op: &Operator<'_>) -> Option<Shape> {
    match op {
        Operator::F32DemoteF64 => Some(Shape::F32),
        Operator::F64PromoteF32 => Some(Shape::F64),
        Operator::F32x4RelaxedMin
        | Operator::F32x4RelaxedMax
        | Operator::F32x4RelaxedMadd
        | Operator::F32x4RelaxedNmadd
        | Operator::F32x4DemoteF64x2Zero => Some(Shape::F32x4),
        Operator::F64x2RelaxedMin
        | Operator::F64x2RelaxedMax
        | Operator::F64x2RelaxedMadd
        | Operator::F64x2RelaxedNmadd
        | Operator::F64x2PromoteLowF32x4 => Some(Shape::F64x2),
        _ => None,
    }
}

#[derive(Clone, Copy)]
enum Shape {
    F32,
    F64,
    F32x4,
    F64x2,
}

struct Pass {
    params: Vec<u32>,
    next: usize,
}

impl Reencode for Pass {
    type Error = Infallible;

    fn parse_function_body(&mut self, code: &mut CodeSection, func: FunctionBody<'_>) -> Result<(), Error> {
        let mut count = self.params.get(self.next).copied().unwrap_or(0);
        self.next += 1;
        let mut locals = Vec::new();
        for pair in func.get_locals_reader()? {
            let (n, ty) = pair?;
            count += n;
            locals.push((n, self.val_type(ty)?));
        }
        // One scratch local of each shape after all the others.
        let (f32_scratch, f64_scratch, v128_scratch) = (count, count + 1, count + 2);
        locals.extend([(1, ValType::F32), (1, ValType::F64), (1, ValType::V128)]);
        let mut f = Function::new(locals);
        let mut ops = func.get_operators_reader()?;
        while !ops.eof() {
            let op = ops.read()?;
            let shape = result(&op);
            f.instruction(&self.instruction(op)?);
            // x == x (per lane) keeps x, else the canonical NaN.
            let (scratch, nan, eq, choose) = match shape {
                None => continue,
                Some(Shape::F32) => {
                    (f32_scratch, Instruction::F32Const(f32::NAN.into()), Instruction::F32Eq, Instruction::Select)
                }
                Some(Shape::F64) => {
                    (f64_scratch, Instruction::F64Const(f64::NAN.into()), Instruction::F64Eq, Instruction::Select)
                }
                Some(Shape::F32x4) => (
                    v128_scratch,
                    Instruction::V128Const(NAN32 | NAN32 << 32 | NAN32 << 64 | NAN32 << 96),
                    Instruction::F32x4Eq,
                    Instruction::V128Bitselect,
                ),
                Some(Shape::F64x2) => (
                    v128_scratch,
                    Instruction::V128Const(NAN64 | NAN64 << 64),
                    Instruction::F64x2Eq,
                    Instruction::V128Bitselect,
                ),
            };
            for i in [
                Instruction::LocalTee(scratch),
                nan,
                Instruction::LocalGet(scratch),
                Instruction::LocalGet(scratch),
                eq,
                choose,
            ] {
                f.instruction(&i);
            }
        }
        code.function(&f);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The case of seed 5043640, reduced: a NaN lane with a payload through
    /// `relaxed_min` into `i8x16.bitmask`. Canonicalised, every engine and
    /// both CPU levels give the same answer.
    #[test]
    fn relaxed_min_nan_payload_is_canonicalised() {
        let wasm = wat::parse_str(
            r#"(module (func (export "f") (param v128) (result i32)
                 (local f32)
                 local.get 0
                 v128.const i32x4 1 2 3 4
                 f32x4.relaxed_min
                 i8x16.bitmask))"#,
        )
        .unwrap();
        let out = canonicalize_nans(wasm.clone());
        assert_ne!(out, wasm);
        wasmparser::validate(&out).unwrap();
        let text = operators(&out);
        // The v128 scratch local follows the f32 and f64 ones.
        assert!(text.contains("LocalTee { local_index: 4 }"), "{text}");
        assert!(text.contains("F32x4Eq") && text.contains("V128Bitselect"), "{text}");
        // With a payload NaN in every lane the result is the canonical
        // NaN's (0x7fc00000) byte signs, 0b0100 per lane, in kiln for both
        // CPU levels.
        for native in [false, true] {
            let artifact = crate::engines::kiln::compile(&out, native).unwrap();
            // SAFETY: kiln_build wrote these bytes just above.
            let module = unsafe { kiln::Module::from_bytes(&artifact) }.unwrap();
            let mut store = kiln::Store::new(());
            let instance = kiln::Instance::new(&mut store, &module, &[]).unwrap();
            let f = instance.get_typed_func::<u128, i32>(&mut store, "f").unwrap();
            assert_eq!(f.call(&mut store, u128::MAX).unwrap(), 0x4444, "native CPU: {native}");
        }
    }

    /// The case of seed 594 on riscv64, reduced: a NaN with a payload
    /// through `f64.promote_f32` into an integer.
    #[test]
    fn promote_and_demote_nan_payloads_are_canonicalised() {
        let wasm = wat::parse_str(
            r#"(module
                 (func (export "promote") (param i32) (result i64)
                   local.get 0 f32.reinterpret_i32 f64.promote_f32 i64.reinterpret_f64)
                 (func (export "demote") (param i64) (result i32)
                   local.get 0 f64.reinterpret_i64 f32.demote_f64 i32.reinterpret_f32)
                 (func (export "promote_low") (param v128) (result v128)
                   local.get 0 f64x2.promote_low_f32x4))"#,
        )
        .unwrap();
        let out = canonicalize_nans(wasm);
        wasmparser::validate(&out).unwrap();
        let artifact = crate::engines::kiln::compile(&out, false).unwrap();
        // SAFETY: kiln_build wrote these bytes just above.
        let module = unsafe { kiln::Module::from_bytes(&artifact) }.unwrap();
        let mut store = kiln::Store::new(());
        let instance = kiln::Instance::new(&mut store, &module, &[]).unwrap();
        let promote = instance.get_typed_func::<u32, u64>(&mut store, "promote").unwrap();
        assert_eq!(promote.call(&mut store, 0xffff_feff).unwrap(), 0x7ff8_0000_0000_0000);
        assert_eq!(promote.call(&mut store, 0x3f80_0000).unwrap(), 1f64.to_bits(), "numbers pass");
        let demote = instance.get_typed_func::<u64, u32>(&mut store, "demote").unwrap();
        assert_eq!(demote.call(&mut store, 0xffff_ffdf_e000_0000).unwrap(), 0x7fc0_0000);
        let low = instance.get_typed_func::<u128, u128>(&mut store, "promote_low").unwrap();
        let lanes = 0x3f80_0000_u128 << 32 | 0xffff_feff;
        assert_eq!(low.call(&mut store, lanes).unwrap(), u128::from(1f64.to_bits()) << 64 | 0x7ff8_0000_0000_0000);
    }

    #[test]
    fn modules_without_open_nans_are_left_alone() {
        let wasm = wat::parse_str(r#"(module (func (result i32) i32.const 1))"#).unwrap();
        assert_eq!(canonicalize_nans(wasm.clone()), wasm);
        assert_eq!(canonicalize_nans(b"not wasm".to_vec()), b"not wasm".to_vec());
    }

    fn operators(wasm: &[u8]) -> String {
        let mut s = String::new();
        for payload in Parser::new(0).parse_all(wasm) {
            if let Ok(Payload::CodeSectionEntry(body)) = payload {
                let mut ops = body.get_operators_reader().unwrap();
                while !ops.eof() {
                    s.push_str(&format!("{:?}\n", ops.read().unwrap()));
                }
            }
        }
        s
    }
}
