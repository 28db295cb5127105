//! NaN canonicalisation after the relaxed-SIMD float instructions.
//!
//! wasm-smith's `canonicalize_nans` follows every float instruction whose
//! NaN result the spec leaves open with code that replaces a NaN by the
//! canonical one, but not `relaxed_min/max/madd/nmadd`. Their NaN payloads
//! are just as open (in deterministic mode `relaxed_min` is `f32x4.min`),
//! and engines differ there: Cranelift's x86 `fmin` without AVX gives the
//! canonical NaN, with AVX (and in both interpreters) the input's payload
//! survives. A payload that reaches an integer (`i8x16.bitmask`) would then
//! look like a miscompilation (seed 5043640 of the differential target).
//! This pass adds the same canonicalisation after those instructions.

use std::convert::Infallible;
use wasm_encoder::reencode::{Error, Reencode};
use wasm_encoder::{CodeSection, Function, Instruction, ValType};
use wasmparser::{FunctionBody, Operator, Parser, Payload};

const NAN32: i128 = 0x7fc0_0000;
const NAN64: i128 = 0x7ff8_0000_0000_0000;

/// `wasm` with every relaxed float result canonicalised, or `wasm` itself
/// when it has none (or does not parse: the engines then report that).
pub fn canonicalize_relaxed_nans(wasm: Vec<u8>) -> Vec<u8> {
    let Some(params) = defined_function_params(&wasm) else { return wasm };
    let mut pass = Pass { params, next: 0 };
    let mut module = wasm_encoder::Module::new();
    match pass.parse_core_module(&mut module, Parser::new(0), &wasm) {
        Ok(()) => module.finish(),
        Err(_) => wasm,
    }
}

/// The parameter count of each defined function, if any relaxed float
/// instruction occurs at all.
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
                    relaxed |= lane_bits(&ops.read().ok()?).is_some();
                }
            }
            _ => {}
        }
    }
    relaxed.then_some(params)
}

/// The lane width of a relaxed float instruction's result.
fn lane_bits(op: &Operator<'_>) -> Option<u32> {
    match op {
        Operator::F32x4RelaxedMin
        | Operator::F32x4RelaxedMax
        | Operator::F32x4RelaxedMadd
        | Operator::F32x4RelaxedNmadd => Some(32),
        Operator::F64x2RelaxedMin
        | Operator::F64x2RelaxedMax
        | Operator::F64x2RelaxedMadd
        | Operator::F64x2RelaxedNmadd => Some(64),
        _ => None,
    }
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
        // One v128 scratch local after all the others.
        let scratch = count;
        locals.push((1, ValType::V128));
        let mut f = Function::new(locals);
        let mut ops = func.get_operators_reader()?;
        while !ops.eof() {
            let op = ops.read()?;
            let bits = lane_bits(&op);
            f.instruction(&self.instruction(op)?);
            if let Some(bits) = bits {
                // x == x per lane keeps x, else the canonical NaN.
                let (nan, eq) = match bits {
                    32 => (NAN32 | NAN32 << 32 | NAN32 << 64 | NAN32 << 96, Instruction::F32x4Eq),
                    _ => (NAN64 | NAN64 << 64, Instruction::F64x2Eq),
                };
                f.instruction(&Instruction::LocalTee(scratch));
                f.instruction(&Instruction::V128Const(nan));
                f.instruction(&Instruction::LocalGet(scratch));
                f.instruction(&Instruction::LocalGet(scratch));
                f.instruction(&eq);
                f.instruction(&Instruction::V128Bitselect);
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
        let out = canonicalize_relaxed_nans(wasm.clone());
        assert_ne!(out, wasm);
        wasmparser::validate(&out).unwrap();
        let text = operators(&out);
        assert!(text.contains("LocalTee { local_index: 2 }"), "{text}");
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

    #[test]
    fn modules_without_relaxed_floats_are_left_alone() {
        let wasm = wat::parse_str(r#"(module (func (result i32) i32.const 1))"#).unwrap();
        assert_eq!(canonicalize_relaxed_nans(wasm.clone()), wasm);
        assert_eq!(canonicalize_relaxed_nans(b"not wasm".to_vec()), b"not wasm".to_vec());
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
