//! SIMD: every `v128` instruction of wasm 2.0 and of relaxed SIMD.
//!
//! A v128 is an `I8X16` wherever it is stored or passed: on the operand
//! stack, in locals, block parameters, globals and signatures. Each
//! instruction bitcasts its operands to the lane type it works on and its
//! result back; vector-to-vector bitcasts are free in every backend. Those
//! bitcasts name little-endian lane order, wasm's, which is what makes lane
//! numbers mean the same on s390x.
//!
//! Cranelift lowers a few vector instructions with helper calls on x86_64
//! CPUs that lack SSSE3 / SSE4.1 / FMA (rounding, `pshufb`, fused
//! multiply-add). Artifacts contain no calls outside their own text, so
//! there this file emits sequences that need none: builtin calls per lane
//! for rounding and fused multiply-add, byte loops through a stack slot for
//! the byte permutations Cranelift would hand to `pshufb`.
//!
//! Relaxed SIMD follows [`Lowering::relaxed`]: the deterministic profile
//! (the same results on every target), or x86's own instructions.

use super::env::FuncEnv;
use super::func_translator::FuncState;
use super::memory::{self, Store};
use super::operators::{operator_name, round_value, Rounding};
use super::Lowering;
use crate::error::{Error, Result};
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::types::{F32X4, F64X2, I16X8, I32, I32X4, I64, I64X2, I8X16};
use cranelift_codegen::ir::{
    ConstantData, Endianness, InstBuilder, MemFlagsData, StackSlotData, StackSlotKind, Type, Value,
};
use cranelift_frontend::FunctionBuilder;
use kiln_artifact::builtins::BuiltinIndex;
use kiln_artifact::engine::RelaxedSimd;
use wasmparser::{MemArg, Operator as Op};

/// Translate `op` if it is a SIMD instruction; `Ok(false)` if it is not.
pub(crate) fn translate(
    op: &Op<'_>,
    offset: usize,
    state: &mut FuncState,
    builder: &mut FunctionBuilder<'_>,
    env: &mut FuncEnv<'_>,
) -> Result<bool> {
    let lowering = env.cx.lowering;
    // `lanes op` → result, with the operands as `$ty`.
    macro_rules! unary {
        ($ty:expr, $inst:ident) => {{
            let x = pop_as(state, builder, $ty)?;
            let v = builder.ins().$inst(x);
            push_v(state, builder, v);
        }};
    }
    macro_rules! binary {
        ($ty:expr, $inst:ident) => {{
            let (x, y) = pop2_as(state, builder, $ty)?;
            let v = builder.ins().$inst(x, y);
            push_v(state, builder, v);
        }};
    }
    macro_rules! icmp {
        ($ty:expr, $cc:ident) => {{
            let (x, y) = pop2_as(state, builder, $ty)?;
            let v = builder.ins().icmp(IntCC::$cc, x, y);
            push_v(state, builder, v);
        }};
    }
    macro_rules! fcmp {
        ($ty:expr, $cc:ident) => {{
            let (x, y) = pop2_as(state, builder, $ty)?;
            let v = builder.ins().fcmp(FloatCC::$cc, x, y);
            push_v(state, builder, v);
        }};
    }
    // Shift amounts are an i32, taken modulo the lane width by Cranelift as
    // by wasm.
    macro_rules! shift {
        ($ty:expr, $inst:ident) => {{
            let amount = state.pop()?;
            let x = pop_as(state, builder, $ty)?;
            let v = builder.ins().$inst(x, amount);
            push_v(state, builder, v);
        }};
    }
    // `convert` from one lane shape to another.
    macro_rules! convert {
        ($from:expr, $inst:ident, $to:expr) => {{
            let x = pop_as(state, builder, $from)?;
            let v = builder.ins().$inst($to, x);
            push_v(state, builder, v);
        }};
    }
    // Widen both halves with `$widen`, then `$inst` them pairwise.
    macro_rules! ext_mul {
        ($ty:expr, $widen:ident) => {{
            let (x, y) = pop2_as(state, builder, $ty)?;
            let x = builder.ins().$widen(x);
            let y = builder.ins().$widen(y);
            let v = builder.ins().imul(x, y);
            push_v(state, builder, v);
        }};
    }
    macro_rules! ext_add_pairwise {
        ($ty:expr, $low:ident, $high:ident) => {{
            let x = pop_as(state, builder, $ty)?;
            let low = builder.ins().$low(x);
            let high = builder.ins().$high(x);
            let v = builder.ins().iadd_pairwise(low, high);
            push_v(state, builder, v);
        }};
    }
    macro_rules! splat {
        ($ty:expr) => {{
            let x = state.pop()?;
            let lane = $ty.lane_type();
            let x = if builder.func.dfg.value_type(x) == lane { x } else { builder.ins().ireduce(lane, x) };
            let v = builder.ins().splat($ty, x);
            push_v(state, builder, v);
        }};
    }
    macro_rules! extract {
        ($ty:expr, $lane:expr) => {{
            let x = pop_as(state, builder, $ty)?;
            let v = builder.ins().extractlane(x, *$lane);
            state.push(v);
        }};
        ($ty:expr, $lane:expr, $extend:ident) => {{
            let x = pop_as(state, builder, $ty)?;
            let v = builder.ins().extractlane(x, *$lane);
            let v = builder.ins().$extend(I32, v);
            state.push(v);
        }};
    }
    macro_rules! replace {
        ($ty:expr, $lane:expr) => {{
            let x = state.pop()?;
            let v = pop_as(state, builder, $ty)?;
            let lane = $ty.lane_type();
            let x = if builder.func.dfg.value_type(x) == lane { x } else { builder.ins().ireduce(lane, x) };
            let v = builder.ins().insertlane(v, x, *$lane);
            push_v(state, builder, v);
        }};
    }

    match op {
        // ================================================================
        // Constants, loads and stores
        // ================================================================
        Op::V128Const { value } => {
            let v = vconst(builder, I8X16, *value.bytes());
            state.push(v);
        }
        Op::V128Load { memarg } => {
            let (flags, addr, imm) = address(state, builder, env, memarg, 16, offset)?;
            let v = builder.ins().load(I8X16, flags, addr, imm);
            state.push(v);
        }
        Op::V128Load8x8S { memarg } => load_extend(state, builder, env, memarg, offset, Extend::S8x8)?,
        Op::V128Load8x8U { memarg } => load_extend(state, builder, env, memarg, offset, Extend::U8x8)?,
        Op::V128Load16x4S { memarg } => load_extend(state, builder, env, memarg, offset, Extend::S16x4)?,
        Op::V128Load16x4U { memarg } => load_extend(state, builder, env, memarg, offset, Extend::U16x4)?,
        Op::V128Load32x2S { memarg } => load_extend(state, builder, env, memarg, offset, Extend::S32x2)?,
        Op::V128Load32x2U { memarg } => load_extend(state, builder, env, memarg, offset, Extend::U32x2)?,
        Op::V128Load8Splat { memarg } => load_scalar(state, builder, env, memarg, offset, I8X16, Fill::Splat)?,
        Op::V128Load16Splat { memarg } => load_scalar(state, builder, env, memarg, offset, I16X8, Fill::Splat)?,
        Op::V128Load32Splat { memarg } => load_scalar(state, builder, env, memarg, offset, I32X4, Fill::Splat)?,
        Op::V128Load64Splat { memarg } => load_scalar(state, builder, env, memarg, offset, I64X2, Fill::Splat)?,
        Op::V128Load32Zero { memarg } => load_scalar(state, builder, env, memarg, offset, I32X4, Fill::Zero)?,
        Op::V128Load64Zero { memarg } => load_scalar(state, builder, env, memarg, offset, I64X2, Fill::Zero)?,
        Op::V128Store { memarg } => memory::store(state, builder, env, memarg, Store::Plain, offset)?,
        Op::V128Load8Lane { memarg, lane } => {
            load_scalar(state, builder, env, memarg, offset, I8X16, Fill::Lane(*lane))?
        }
        Op::V128Load16Lane { memarg, lane } => {
            load_scalar(state, builder, env, memarg, offset, I16X8, Fill::Lane(*lane))?
        }
        Op::V128Load32Lane { memarg, lane } => {
            load_scalar(state, builder, env, memarg, offset, I32X4, Fill::Lane(*lane))?
        }
        Op::V128Load64Lane { memarg, lane } => {
            load_scalar(state, builder, env, memarg, offset, I64X2, Fill::Lane(*lane))?
        }
        Op::V128Store8Lane { memarg, lane } => store_lane(state, builder, env, memarg, offset, I8X16, *lane)?,
        Op::V128Store16Lane { memarg, lane } => store_lane(state, builder, env, memarg, offset, I16X8, *lane)?,
        Op::V128Store32Lane { memarg, lane } => store_lane(state, builder, env, memarg, offset, I32X4, *lane)?,
        Op::V128Store64Lane { memarg, lane } => store_lane(state, builder, env, memarg, offset, I64X2, *lane)?,

        // ================================================================
        // Lanes: splat, extract, replace, shuffle, swizzle
        // ================================================================
        Op::I8x16Splat => splat!(I8X16),
        Op::I16x8Splat => splat!(I16X8),
        Op::I32x4Splat => splat!(I32X4),
        Op::I64x2Splat => splat!(I64X2),
        Op::F32x4Splat => splat!(F32X4),
        Op::F64x2Splat => splat!(F64X2),
        Op::I8x16ExtractLaneS { lane } => extract!(I8X16, lane, sextend),
        Op::I8x16ExtractLaneU { lane } => extract!(I8X16, lane, uextend),
        Op::I16x8ExtractLaneS { lane } => extract!(I16X8, lane, sextend),
        Op::I16x8ExtractLaneU { lane } => extract!(I16X8, lane, uextend),
        Op::I32x4ExtractLane { lane } => extract!(I32X4, lane),
        Op::I64x2ExtractLane { lane } => extract!(I64X2, lane),
        Op::F32x4ExtractLane { lane } => extract!(F32X4, lane),
        Op::F64x2ExtractLane { lane } => extract!(F64X2, lane),
        Op::I8x16ReplaceLane { lane } => replace!(I8X16, lane),
        Op::I16x8ReplaceLane { lane } => replace!(I16X8, lane),
        Op::I32x4ReplaceLane { lane } => replace!(I32X4, lane),
        Op::I64x2ReplaceLane { lane } => replace!(I64X2, lane),
        Op::F32x4ReplaceLane { lane } => replace!(F32X4, lane),
        Op::F64x2ReplaceLane { lane } => replace!(F64X2, lane),
        Op::I8x16Shuffle { lanes } => {
            let (a, b) = pop2_as(state, builder, I8X16)?;
            let v = shuffle(builder, env, a, b, *lanes);
            state.push(v);
        }
        Op::I8x16Swizzle => {
            let (a, s) = pop2_as(state, builder, I8X16)?;
            let v = swizzle(builder, env, a, s);
            state.push(v);
        }

        // ================================================================
        // Bitwise and boolean
        // ================================================================
        Op::V128Not => unary!(I8X16, bnot),
        Op::V128And => binary!(I8X16, band),
        Op::V128AndNot => binary!(I8X16, band_not),
        Op::V128Or => binary!(I8X16, bor),
        Op::V128Xor => binary!(I8X16, bxor),
        Op::V128Bitselect => {
            let (a, b, mask) = pop3_as(state, builder, I8X16)?;
            let v = builder.ins().bitselect(mask, a, b);
            state.push(v);
        }
        Op::V128AnyTrue => {
            let x = pop_as(state, builder, I8X16)?;
            let b = builder.ins().vany_true(x);
            state.push(builder.ins().uextend(I32, b));
        }
        Op::I8x16AllTrue => all_true(state, builder, I8X16)?,
        Op::I16x8AllTrue => all_true(state, builder, I16X8)?,
        Op::I32x4AllTrue => all_true(state, builder, I32X4)?,
        Op::I64x2AllTrue => all_true(state, builder, I64X2)?,
        Op::I8x16Bitmask => bitmask(state, builder, I8X16)?,
        Op::I16x8Bitmask => bitmask(state, builder, I16X8)?,
        Op::I32x4Bitmask => bitmask(state, builder, I32X4)?,
        Op::I64x2Bitmask => bitmask(state, builder, I64X2)?,

        // ================================================================
        // Integer comparisons (all-ones lanes for true)
        // ================================================================
        Op::I8x16Eq => icmp!(I8X16, Equal),
        Op::I8x16Ne => icmp!(I8X16, NotEqual),
        Op::I8x16LtS => icmp!(I8X16, SignedLessThan),
        Op::I8x16LtU => icmp!(I8X16, UnsignedLessThan),
        Op::I8x16GtS => icmp!(I8X16, SignedGreaterThan),
        Op::I8x16GtU => icmp!(I8X16, UnsignedGreaterThan),
        Op::I8x16LeS => icmp!(I8X16, SignedLessThanOrEqual),
        Op::I8x16LeU => icmp!(I8X16, UnsignedLessThanOrEqual),
        Op::I8x16GeS => icmp!(I8X16, SignedGreaterThanOrEqual),
        Op::I8x16GeU => icmp!(I8X16, UnsignedGreaterThanOrEqual),
        Op::I16x8Eq => icmp!(I16X8, Equal),
        Op::I16x8Ne => icmp!(I16X8, NotEqual),
        Op::I16x8LtS => icmp!(I16X8, SignedLessThan),
        Op::I16x8LtU => icmp!(I16X8, UnsignedLessThan),
        Op::I16x8GtS => icmp!(I16X8, SignedGreaterThan),
        Op::I16x8GtU => icmp!(I16X8, UnsignedGreaterThan),
        Op::I16x8LeS => icmp!(I16X8, SignedLessThanOrEqual),
        Op::I16x8LeU => icmp!(I16X8, UnsignedLessThanOrEqual),
        Op::I16x8GeS => icmp!(I16X8, SignedGreaterThanOrEqual),
        Op::I16x8GeU => icmp!(I16X8, UnsignedGreaterThanOrEqual),
        Op::I32x4Eq => icmp!(I32X4, Equal),
        Op::I32x4Ne => icmp!(I32X4, NotEqual),
        Op::I32x4LtS => icmp!(I32X4, SignedLessThan),
        Op::I32x4LtU => icmp!(I32X4, UnsignedLessThan),
        Op::I32x4GtS => icmp!(I32X4, SignedGreaterThan),
        Op::I32x4GtU => icmp!(I32X4, UnsignedGreaterThan),
        Op::I32x4LeS => icmp!(I32X4, SignedLessThanOrEqual),
        Op::I32x4LeU => icmp!(I32X4, UnsignedLessThanOrEqual),
        Op::I32x4GeS => icmp!(I32X4, SignedGreaterThanOrEqual),
        Op::I32x4GeU => icmp!(I32X4, UnsignedGreaterThanOrEqual),
        Op::I64x2Eq => icmp!(I64X2, Equal),
        Op::I64x2Ne => icmp!(I64X2, NotEqual),
        Op::I64x2LtS => icmp!(I64X2, SignedLessThan),
        Op::I64x2GtS => icmp!(I64X2, SignedGreaterThan),
        Op::I64x2LeS => icmp!(I64X2, SignedLessThanOrEqual),
        Op::I64x2GeS => icmp!(I64X2, SignedGreaterThanOrEqual),

        // ================================================================
        // Float comparisons
        // ================================================================
        Op::F32x4Eq => fcmp!(F32X4, Equal),
        Op::F32x4Ne => fcmp!(F32X4, NotEqual),
        Op::F32x4Lt => fcmp!(F32X4, LessThan),
        Op::F32x4Gt => fcmp!(F32X4, GreaterThan),
        Op::F32x4Le => fcmp!(F32X4, LessThanOrEqual),
        Op::F32x4Ge => fcmp!(F32X4, GreaterThanOrEqual),
        Op::F64x2Eq => fcmp!(F64X2, Equal),
        Op::F64x2Ne => fcmp!(F64X2, NotEqual),
        Op::F64x2Lt => fcmp!(F64X2, LessThan),
        Op::F64x2Gt => fcmp!(F64X2, GreaterThan),
        Op::F64x2Le => fcmp!(F64X2, LessThanOrEqual),
        Op::F64x2Ge => fcmp!(F64X2, GreaterThanOrEqual),

        // ================================================================
        // Integer arithmetic
        // ================================================================
        Op::I8x16Abs => unary!(I8X16, iabs),
        Op::I16x8Abs => unary!(I16X8, iabs),
        Op::I32x4Abs => unary!(I32X4, iabs),
        Op::I64x2Abs => unary!(I64X2, iabs),
        Op::I8x16Neg => unary!(I8X16, ineg),
        Op::I16x8Neg => unary!(I16X8, ineg),
        Op::I32x4Neg => unary!(I32X4, ineg),
        Op::I64x2Neg => unary!(I64X2, ineg),
        Op::I8x16Popcnt => unary!(I8X16, popcnt),
        Op::I8x16Add => binary!(I8X16, iadd),
        Op::I16x8Add => binary!(I16X8, iadd),
        Op::I32x4Add => binary!(I32X4, iadd),
        Op::I64x2Add => binary!(I64X2, iadd),
        Op::I8x16Sub => binary!(I8X16, isub),
        Op::I16x8Sub => binary!(I16X8, isub),
        Op::I32x4Sub => binary!(I32X4, isub),
        Op::I64x2Sub => binary!(I64X2, isub),
        Op::I16x8Mul => binary!(I16X8, imul),
        Op::I32x4Mul => binary!(I32X4, imul),
        Op::I64x2Mul => binary!(I64X2, imul),
        Op::I8x16AddSatS => binary!(I8X16, sadd_sat),
        Op::I8x16AddSatU => binary!(I8X16, uadd_sat),
        Op::I8x16SubSatS => binary!(I8X16, ssub_sat),
        Op::I8x16SubSatU => binary!(I8X16, usub_sat),
        Op::I16x8AddSatS => binary!(I16X8, sadd_sat),
        Op::I16x8AddSatU => binary!(I16X8, uadd_sat),
        Op::I16x8SubSatS => binary!(I16X8, ssub_sat),
        Op::I16x8SubSatU => binary!(I16X8, usub_sat),
        Op::I8x16MinS => binary!(I8X16, smin),
        Op::I8x16MinU => binary!(I8X16, umin),
        Op::I8x16MaxS => binary!(I8X16, smax),
        Op::I8x16MaxU => binary!(I8X16, umax),
        Op::I16x8MinS => binary!(I16X8, smin),
        Op::I16x8MinU => binary!(I16X8, umin),
        Op::I16x8MaxS => binary!(I16X8, smax),
        Op::I16x8MaxU => binary!(I16X8, umax),
        Op::I32x4MinS => binary!(I32X4, smin),
        Op::I32x4MinU => binary!(I32X4, umin),
        Op::I32x4MaxS => binary!(I32X4, smax),
        Op::I32x4MaxU => binary!(I32X4, umax),
        Op::I8x16AvgrU => binary!(I8X16, avg_round),
        Op::I16x8AvgrU => binary!(I16X8, avg_round),
        Op::I16x8Q15MulrSatS => binary!(I16X8, sqmul_round_sat),
        Op::I16x8ExtAddPairwiseI8x16S => ext_add_pairwise!(I8X16, swiden_low, swiden_high),
        Op::I16x8ExtAddPairwiseI8x16U => ext_add_pairwise!(I8X16, uwiden_low, uwiden_high),
        Op::I32x4ExtAddPairwiseI16x8S => ext_add_pairwise!(I16X8, swiden_low, swiden_high),
        Op::I32x4ExtAddPairwiseI16x8U => ext_add_pairwise!(I16X8, uwiden_low, uwiden_high),
        Op::I16x8ExtMulLowI8x16S => ext_mul!(I8X16, swiden_low),
        Op::I16x8ExtMulHighI8x16S => ext_mul!(I8X16, swiden_high),
        Op::I16x8ExtMulLowI8x16U => ext_mul!(I8X16, uwiden_low),
        Op::I16x8ExtMulHighI8x16U => ext_mul!(I8X16, uwiden_high),
        Op::I32x4ExtMulLowI16x8S => ext_mul!(I16X8, swiden_low),
        Op::I32x4ExtMulHighI16x8S => ext_mul!(I16X8, swiden_high),
        Op::I32x4ExtMulLowI16x8U => ext_mul!(I16X8, uwiden_low),
        Op::I32x4ExtMulHighI16x8U => ext_mul!(I16X8, uwiden_high),
        Op::I64x2ExtMulLowI32x4S => ext_mul!(I32X4, swiden_low),
        Op::I64x2ExtMulHighI32x4S => ext_mul!(I32X4, swiden_high),
        Op::I64x2ExtMulLowI32x4U => ext_mul!(I32X4, uwiden_low),
        Op::I64x2ExtMulHighI32x4U => ext_mul!(I32X4, uwiden_high),
        Op::I32x4DotI16x8S => {
            let (x, y) = pop2_as(state, builder, I16X8)?;
            let v = widening_dot(builder, x, y);
            push_v(state, builder, v);
        }

        // ================================================================
        // Shifts
        // ================================================================
        Op::I8x16Shl => shift!(I8X16, ishl),
        Op::I8x16ShrS => shift!(I8X16, sshr),
        Op::I8x16ShrU => shift!(I8X16, ushr),
        Op::I16x8Shl => shift!(I16X8, ishl),
        Op::I16x8ShrS => shift!(I16X8, sshr),
        Op::I16x8ShrU => shift!(I16X8, ushr),
        Op::I32x4Shl => shift!(I32X4, ishl),
        Op::I32x4ShrS => shift!(I32X4, sshr),
        Op::I32x4ShrU => shift!(I32X4, ushr),
        Op::I64x2Shl => shift!(I64X2, ishl),
        Op::I64x2ShrS => shift!(I64X2, sshr),
        Op::I64x2ShrU => shift!(I64X2, ushr),

        // ================================================================
        // Float arithmetic
        // ================================================================
        Op::F32x4Abs => unary!(F32X4, fabs),
        Op::F64x2Abs => unary!(F64X2, fabs),
        Op::F32x4Neg => unary!(F32X4, fneg),
        Op::F64x2Neg => unary!(F64X2, fneg),
        Op::F32x4Sqrt => unary!(F32X4, sqrt),
        Op::F64x2Sqrt => unary!(F64X2, sqrt),
        Op::F32x4Add => binary!(F32X4, fadd),
        Op::F64x2Add => binary!(F64X2, fadd),
        Op::F32x4Sub => binary!(F32X4, fsub),
        Op::F64x2Sub => binary!(F64X2, fsub),
        Op::F32x4Mul => binary!(F32X4, fmul),
        Op::F64x2Mul => binary!(F64X2, fmul),
        Op::F32x4Div => binary!(F32X4, fdiv),
        Op::F64x2Div => binary!(F64X2, fdiv),
        Op::F32x4Min => binary!(F32X4, fmin),
        Op::F64x2Min => binary!(F64X2, fmin),
        Op::F32x4Max => binary!(F32X4, fmax),
        Op::F64x2Max => binary!(F64X2, fmax),
        Op::F32x4PMin => pseudo_min_max(state, builder, F32X4, MinMax::Min)?,
        Op::F64x2PMin => pseudo_min_max(state, builder, F64X2, MinMax::Min)?,
        Op::F32x4PMax => pseudo_min_max(state, builder, F32X4, MinMax::Max)?,
        Op::F64x2PMax => pseudo_min_max(state, builder, F64X2, MinMax::Max)?,
        Op::F32x4Ceil => round(state, builder, env, F32X4, Rounding::Ceil)?,
        Op::F64x2Ceil => round(state, builder, env, F64X2, Rounding::Ceil)?,
        Op::F32x4Floor => round(state, builder, env, F32X4, Rounding::Floor)?,
        Op::F64x2Floor => round(state, builder, env, F64X2, Rounding::Floor)?,
        Op::F32x4Trunc => round(state, builder, env, F32X4, Rounding::Trunc)?,
        Op::F64x2Trunc => round(state, builder, env, F64X2, Rounding::Trunc)?,
        Op::F32x4Nearest => round(state, builder, env, F32X4, Rounding::Nearest)?,
        Op::F64x2Nearest => round(state, builder, env, F64X2, Rounding::Nearest)?,

        // ================================================================
        // Conversions: narrow, extend, int ↔ float, demote, promote
        // ================================================================
        Op::I8x16NarrowI16x8S => binary!(I16X8, snarrow),
        Op::I8x16NarrowI16x8U => binary!(I16X8, unarrow),
        Op::I16x8NarrowI32x4S => binary!(I32X4, snarrow),
        Op::I16x8NarrowI32x4U => binary!(I32X4, unarrow),
        Op::I16x8ExtendLowI8x16S => unary!(I8X16, swiden_low),
        Op::I16x8ExtendHighI8x16S => unary!(I8X16, swiden_high),
        Op::I16x8ExtendLowI8x16U => unary!(I8X16, uwiden_low),
        Op::I16x8ExtendHighI8x16U => unary!(I8X16, uwiden_high),
        Op::I32x4ExtendLowI16x8S => unary!(I16X8, swiden_low),
        Op::I32x4ExtendHighI16x8S => unary!(I16X8, swiden_high),
        Op::I32x4ExtendLowI16x8U => unary!(I16X8, uwiden_low),
        Op::I32x4ExtendHighI16x8U => unary!(I16X8, uwiden_high),
        Op::I64x2ExtendLowI32x4S => unary!(I32X4, swiden_low),
        Op::I64x2ExtendHighI32x4S => unary!(I32X4, swiden_high),
        Op::I64x2ExtendLowI32x4U => unary!(I32X4, uwiden_low),
        Op::I64x2ExtendHighI32x4U => unary!(I32X4, uwiden_high),
        Op::I32x4TruncSatF32x4S => convert!(F32X4, fcvt_to_sint_sat, I32X4),
        Op::I32x4TruncSatF32x4U => convert!(F32X4, fcvt_to_uint_sat, I32X4),
        Op::I32x4TruncSatF64x2SZero => {
            let x = pop_as(state, builder, F64X2)?;
            let v = trunc_sat_f64x2_zero(builder, lowering, x, true);
            push_v(state, builder, v);
        }
        Op::I32x4TruncSatF64x2UZero => {
            let x = pop_as(state, builder, F64X2)?;
            let v = trunc_sat_f64x2_zero(builder, lowering, x, false);
            push_v(state, builder, v);
        }
        Op::F32x4ConvertI32x4S => convert!(I32X4, fcvt_from_sint, F32X4),
        Op::F32x4ConvertI32x4U => convert!(I32X4, fcvt_from_uint, F32X4),
        Op::F64x2ConvertLowI32x4S => {
            let x = pop_as(state, builder, I32X4)?;
            let wide = builder.ins().swiden_low(x);
            let v = builder.ins().fcvt_from_sint(F64X2, wide);
            push_v(state, builder, v);
        }
        Op::F64x2ConvertLowI32x4U => {
            let x = pop_as(state, builder, I32X4)?;
            let wide = builder.ins().uwiden_low(x);
            let v = builder.ins().fcvt_from_uint(F64X2, wide);
            push_v(state, builder, v);
        }
        Op::F32x4DemoteF64x2Zero => unary!(F64X2, fvdemote),
        Op::F64x2PromoteLowF32x4 => unary!(F32X4, fvpromote_low),

        // ================================================================
        // Relaxed SIMD
        // ================================================================
        Op::I8x16RelaxedSwizzle => {
            let (a, s) = pop2_as(state, builder, I8X16)?;
            // pshufb: an index with its top bit set gives 0, any other
            // selects by its low four bits — one of the allowed results.
            let v = if lowering.relaxed == RelaxedSimd::X86 && lowering.pshufb {
                builder.ins().x86_pshufb(a, s)
            } else {
                swizzle(builder, env, a, s)
            };
            state.push(v);
        }
        Op::I32x4RelaxedTruncF32x4S => {
            let x = pop_as(state, builder, F32X4)?;
            // cvttps2dq: INT_MIN for NaN and out-of-range lanes.
            let v = if lowering.relaxed == RelaxedSimd::X86 {
                builder.ins().x86_cvtt2dq(I32X4, x)
            } else {
                builder.ins().fcvt_to_sint_sat(I32X4, x)
            };
            push_v(state, builder, v);
        }
        Op::I32x4RelaxedTruncF32x4U => convert!(F32X4, fcvt_to_uint_sat, I32X4),
        Op::I32x4RelaxedTruncF64x2SZero => {
            let x = pop_as(state, builder, F64X2)?;
            let v = if lowering.relaxed == RelaxedSimd::X86 {
                // cvttpd2dq, in the shape Cranelift matches for it.
                let wide = builder.ins().x86_cvtt2dq(I64X2, x);
                let zero = vconst(builder, I64X2, [0; 16]);
                builder.ins().snarrow(wide, zero)
            } else {
                trunc_sat_f64x2_zero(builder, lowering, x, true)
            };
            push_v(state, builder, v);
        }
        Op::I32x4RelaxedTruncF64x2UZero => {
            let x = pop_as(state, builder, F64X2)?;
            let v = trunc_sat_f64x2_zero(builder, lowering, x, false);
            push_v(state, builder, v);
        }
        Op::F32x4RelaxedMadd => multiply_add(state, builder, env, F32X4, false)?,
        Op::F32x4RelaxedNmadd => multiply_add(state, builder, env, F32X4, true)?,
        Op::F64x2RelaxedMadd => multiply_add(state, builder, env, F64X2, false)?,
        Op::F64x2RelaxedNmadd => multiply_add(state, builder, env, F64X2, true)?,
        Op::I8x16RelaxedLaneselect => laneselect(state, builder, env, I8X16)?,
        Op::I16x8RelaxedLaneselect => laneselect(state, builder, env, I16X8)?,
        Op::I32x4RelaxedLaneselect => laneselect(state, builder, env, I32X4)?,
        Op::I64x2RelaxedLaneselect => laneselect(state, builder, env, I64X2)?,
        Op::F32x4RelaxedMin => relaxed_min_max(state, builder, lowering, F32X4, MinMax::Min)?,
        Op::F32x4RelaxedMax => relaxed_min_max(state, builder, lowering, F32X4, MinMax::Max)?,
        Op::F64x2RelaxedMin => relaxed_min_max(state, builder, lowering, F64X2, MinMax::Min)?,
        Op::F64x2RelaxedMax => relaxed_min_max(state, builder, lowering, F64X2, MinMax::Max)?,
        Op::I16x8RelaxedQ15mulrS => {
            let (x, y) = pop2_as(state, builder, I16X8)?;
            // pmulhrsw: 0x8000 × 0x8000 wraps to 0x8000 instead of
            // saturating — one of the allowed results.
            let v = if lowering.relaxed == RelaxedSimd::X86 && env.cx.isa.has_x86_pmulhrsw_lowering() {
                builder.ins().x86_pmulhrsw(x, y)
            } else {
                builder.ins().sqmul_round_sat(x, y)
            };
            push_v(state, builder, v);
        }
        Op::I16x8RelaxedDotI8x16I7x16S => {
            let (x, y) = pop2_as(state, builder, I8X16)?;
            let v = relaxed_dot_i8x16(builder, env, x, y);
            push_v(state, builder, v);
        }
        Op::I32x4RelaxedDotI8x16I7x16AddS => {
            let (x, y, acc) = pop3_as(state, builder, I8X16)?;
            let dot = relaxed_dot_i8x16(builder, env, x, y);
            let low = builder.ins().swiden_low(dot);
            let high = builder.ins().swiden_high(dot);
            let sums = builder.ins().iadd_pairwise(low, high);
            let acc = cast(builder, acc, I32X4);
            let v = builder.ins().iadd(sums, acc);
            push_v(state, builder, v);
        }

        _ => return Ok(false),
    }
    if !lowering.simd {
        return Err(Error::unsupported(
            format_args!("{} (the target has no vector registers: riscv64 needs the V extension)", operator_name(op)),
            offset,
        ));
    }
    Ok(true)
}

// ------------------------------------------------------------------ values

/// Bitcasts between vector shapes name wasm's lane order.
fn lane_order() -> MemFlagsData {
    MemFlagsData::new().with_endianness(Endianness::Little)
}

/// `v` as the vector type `ty` (a no-op if it already is).
fn cast(builder: &mut FunctionBuilder<'_>, v: Value, ty: Type) -> Value {
    if builder.func.dfg.value_type(v) == ty {
        v
    } else {
        builder.ins().bitcast(ty, lane_order(), v)
    }
}

fn pop_as(state: &mut FuncState, builder: &mut FunctionBuilder<'_>, ty: Type) -> Result<Value> {
    let v = state.pop()?;
    Ok(cast(builder, v, ty))
}

fn pop2_as(state: &mut FuncState, builder: &mut FunctionBuilder<'_>, ty: Type) -> Result<(Value, Value)> {
    let (x, y) = state.pop2()?;
    Ok((cast(builder, x, ty), cast(builder, y, ty)))
}

fn pop3_as(state: &mut FuncState, builder: &mut FunctionBuilder<'_>, ty: Type) -> Result<(Value, Value, Value)> {
    let (x, y, z) = state.pop3()?;
    Ok((cast(builder, x, ty), cast(builder, y, ty), cast(builder, z, ty)))
}

/// Push a vector result in the canonical `I8X16` form.
fn push_v(state: &mut FuncState, builder: &mut FunctionBuilder<'_>, v: Value) {
    let v = cast(builder, v, I8X16);
    state.push(v);
}

fn vconst(builder: &mut FunctionBuilder<'_>, ty: Type, bytes: [u8; 16]) -> Value {
    let c = builder.func.dfg.constants.insert(ConstantData::from(&bytes[..]));
    builder.ins().vconst(ty, c)
}

// ------------------------------------------------------------------ memory

/// Pop the index and compute the address of a `size`-byte access.
fn address(
    state: &mut FuncState,
    builder: &mut FunctionBuilder<'_>,
    env: &mut FuncEnv<'_>,
    memarg: &MemArg,
    size: u8,
    offset: usize,
) -> Result<(MemFlagsData, Value, i32)> {
    let index = state.pop()?;
    let at = memory::address(builder, env, memarg, index, size, offset)?;
    Ok((env.heap_flags(), at.addr, at.offset))
}

#[derive(Clone, Copy)]
enum Extend {
    S8x8,
    U8x8,
    S16x4,
    U16x4,
    S32x2,
    U32x2,
}

/// `v128.load8x8_s` and friends: 8 bytes, each lane widened.
fn load_extend(
    state: &mut FuncState,
    builder: &mut FunctionBuilder<'_>,
    env: &mut FuncEnv<'_>,
    memarg: &MemArg,
    offset: usize,
    kind: Extend,
) -> Result<()> {
    let (flags, addr, imm) = address(state, builder, env, memarg, 8, offset)?;
    let ins = builder.ins();
    let v = match kind {
        Extend::S8x8 => ins.sload8x8(flags, addr, imm),
        Extend::U8x8 => ins.uload8x8(flags, addr, imm),
        Extend::S16x4 => ins.sload16x4(flags, addr, imm),
        Extend::U16x4 => ins.uload16x4(flags, addr, imm),
        Extend::S32x2 => ins.sload32x2(flags, addr, imm),
        Extend::U32x2 => ins.uload32x2(flags, addr, imm),
    };
    push_v(state, builder, v);
    Ok(())
}

#[derive(Clone, Copy)]
enum Fill {
    /// `v128.loadN_splat`: the scalar in every lane.
    Splat,
    /// `v128.load32_zero` / `v128.load64_zero`: the scalar in lane 0,
    /// zeros above.
    Zero,
    /// `v128.loadN_lane`: the scalar into this lane of the vector popped
    /// before the index.
    Lane(u8),
}

/// Load one scalar of `ty`'s lane type and make a vector of it.
fn load_scalar(
    state: &mut FuncState,
    builder: &mut FunctionBuilder<'_>,
    env: &mut FuncEnv<'_>,
    memarg: &MemArg,
    offset: usize,
    ty: Type,
    fill: Fill,
) -> Result<()> {
    let into = match fill {
        Fill::Lane(_) => Some(pop_as(state, builder, ty)?),
        Fill::Splat | Fill::Zero => None,
    };
    let lane = ty.lane_type();
    let (flags, addr, imm) = address(state, builder, env, memarg, lane.bytes() as u8, offset)?;
    let x = builder.ins().load(lane, flags, addr, imm);
    let v = match (fill, into) {
        (Fill::Lane(n), Some(v)) => builder.ins().insertlane(v, x, n),
        (Fill::Zero, _) => builder.ins().scalar_to_vector(ty, x),
        _ => builder.ins().splat(ty, x),
    };
    push_v(state, builder, v);
    Ok(())
}

/// `v128.storeN_lane`: pops the vector, then the index.
fn store_lane(
    state: &mut FuncState,
    builder: &mut FunctionBuilder<'_>,
    env: &mut FuncEnv<'_>,
    memarg: &MemArg,
    offset: usize,
    ty: Type,
    lane: u8,
) -> Result<()> {
    let v = pop_as(state, builder, ty)?;
    let scalar = ty.lane_type();
    let (flags, addr, imm) = address(state, builder, env, memarg, scalar.bytes() as u8, offset)?;
    let x = builder.ins().extractlane(v, lane);
    builder.ins().store(flags, x, addr, imm);
    Ok(())
}

// ------------------------------------------------------------------ lanes

fn all_true(state: &mut FuncState, builder: &mut FunctionBuilder<'_>, ty: Type) -> Result<()> {
    let x = pop_as(state, builder, ty)?;
    let b = builder.ins().vall_true(x);
    state.push(builder.ins().uextend(I32, b));
    Ok(())
}

fn bitmask(state: &mut FuncState, builder: &mut FunctionBuilder<'_>, ty: Type) -> Result<()> {
    let x = pop_as(state, builder, ty)?;
    let v = builder.ins().vhigh_bits(I32, x);
    state.push(v);
    Ok(())
}

/// `i8x16.shuffle` with constant lane indices (0–31 over `a` then `b`).
fn shuffle(builder: &mut FunctionBuilder<'_>, env: &FuncEnv<'_>, a: Value, b: Value, mut lanes: [u8; 16]) -> Value {
    let lowering = env.cx.lowering;
    // The same value twice (`local.get 0` twice): select from one operand,
    // which is what the single-register lowerings recognise.
    if a == b {
        for l in &mut lanes {
            *l %= 16;
        }
    }
    if lowering.pshufb || !lowering.x86 || sse2_shuffle(&lanes) {
        let mask = builder.func.dfg.immediates.push(ConstantData::from(&lanes[..]));
        return builder.ins().shuffle(a, b, mask);
    }
    // x86_64 without SSSE3: bytes one by one through a frame slot holding
    // `a`, `b`, then the result.
    let (slot, flags) = byte_slot(builder, env, 48);
    builder.ins().store(flags, a, slot, 0);
    builder.ins().store(flags, b, slot, 16);
    for (i, &lane) in lanes.iter().enumerate() {
        let byte = builder.ins().uload8(I32, flags, slot, i32::from(lane));
        builder.ins().istore8(flags, byte, slot, 32 + i as i32);
    }
    builder.ins().load(I8X16, flags, slot, 32)
}

/// Whether Cranelift's x86_64 backend lowers the shuffle `lanes` with SSE2
/// alone (`pshufd`, `shufps`, `pshuflw`/`pshufhw`, the `punpck` family);
/// for any other mask it would call a `pshufb` helper.
fn sse2_shuffle(lanes: &[u8; 16]) -> bool {
    // Whole 32-bit lanes: pshufd (one operand) or shufps (low half from one
    // operand, high half from one).
    let dwords: Option<Vec<u8>> = lanes
        .chunks(4)
        .map(|c| (c[0] % 4 == 0 && c[1] == c[0] + 1 && c[2] == c[0] + 2 && c[3] == c[0] + 3).then_some(c[0] / 4))
        .collect();
    if let Some(d) = dwords {
        let from_b = |l: u8| l >= 4;
        if from_b(d[0]) == from_b(d[1]) && from_b(d[2]) == from_b(d[3]) {
            return true;
        }
    }
    // Interleavings of the low or high halves at every lane width.
    const UNPACK: [u128; 8] = [
        0x1f0f_1e0e_1d0d_1c0c_1b0b_1a0a_1909_1808,
        0x1707_1606_1505_1404_1303_1202_1101_1000,
        0x1f1e_0f0e_1d1c_0d0c_1b1a_0b0a_1918_0908,
        0x1716_0706_1514_0504_1312_0302_1110_0100,
        0x1f1e1d1c_0f0e0d0c_1b1a1918_0b0a0908,
        0x17161514_07060504_13121110_03020100,
        0x1f1e1d1c1b1a1918_0f0e0d0c0b0a0908,
        0x1716151413121110_0706050403020100,
    ];
    if UNPACK.contains(&u128::from_le_bytes(*lanes)) {
        return true;
    }
    // 16-bit lanes of one operand, one half kept: pshuflw / pshufhw.
    let words: Option<Vec<u8>> =
        lanes.chunks(2).map(|c| (c[0] % 2 == 0 && c[1] == c[0] + 1).then_some(c[0] / 2)).collect();
    if let Some(w) = words {
        let operand = w[0] / 8;
        if w.iter().all(|&x| x / 8 == operand) {
            let local: Vec<u8> = w.iter().map(|x| x % 8).collect();
            let low_shuffled = local[4..] == [4, 5, 6, 7] && local[..4].iter().all(|&x| x < 4);
            let high_shuffled = local[..4] == [0, 1, 2, 3] && local[4..].iter().all(|&x| x >= 4);
            return low_shuffled || high_shuffled;
        }
    }
    false
}

/// `i8x16.swizzle`: lane `i` is `a[s[i]]`, or 0 where `s[i] >= 16`.
fn swizzle(builder: &mut FunctionBuilder<'_>, env: &FuncEnv<'_>, a: Value, s: Value) -> Value {
    let lowering = env.cx.lowering;
    if lowering.pshufb || !lowering.x86 {
        return builder.ins().swizzle(a, s);
    }
    // x86_64 without SSSE3: `a`, 16 zero bytes (where indices clamped to
    // 16 land), the indices, then the result, in a frame slot.
    let (slot, flags) = byte_slot(builder, env, 64);
    let zero = vconst(builder, I8X16, [0; 16]);
    builder.ins().store(flags, a, slot, 0);
    builder.ins().store(flags, zero, slot, 16);
    builder.ins().store(flags, s, slot, 32);
    let sixteen = builder.ins().iconst(I64, 16);
    for i in 0..16 {
        let index = builder.ins().uload8(I64, flags, slot, 32 + i);
        let index = builder.ins().umin(index, sixteen);
        let at = builder.ins().iadd(slot, index);
        let byte = builder.ins().uload8(I32, flags, at, 0);
        builder.ins().istore8(flags, byte, slot, 48 + i);
    }
    builder.ins().load(I8X16, flags, slot, 48)
}

/// A 16-byte-aligned frame slot of `size` bytes: its address and the flags
/// to access it with.
fn byte_slot(builder: &mut FunctionBuilder<'_>, env: &FuncEnv<'_>, size: u32) -> (Value, MemFlagsData) {
    let slot = builder.create_sized_stack_slot(StackSlotData::new(StackSlotKind::ExplicitSlot, size, 4));
    let addr = builder.ins().stack_addr(env.ptr, slot, 0);
    (addr, MemFlagsData::trusted().with_endianness(Endianness::Little))
}

// ------------------------------------------------------------------ arithmetic

/// Products of the lanes widened to twice their width, added pairwise:
/// `i32x4.dot_i16x8_s` (the shape Cranelift lowers to `pmaddwd` on x86_64)
/// and the deterministic `i16x8.relaxed_dot_i8x16_i7x16_s`.
fn widening_dot(builder: &mut FunctionBuilder<'_>, x: Value, y: Value) -> Value {
    let xl = builder.ins().swiden_low(x);
    let yl = builder.ins().swiden_low(y);
    let low = builder.ins().imul(xl, yl);
    let xh = builder.ins().swiden_high(x);
    let yh = builder.ins().swiden_high(y);
    let high = builder.ins().imul(xh, yh);
    builder.ins().iadd_pairwise(low, high)
}

/// `i32x4.trunc_sat_f64x2_{s,u}_zero`: two saturated lanes, two zeros.
fn trunc_sat_f64x2_zero(builder: &mut FunctionBuilder<'_>, lowering: Lowering, x: Value, signed: bool) -> Value {
    if !signed && !lowering.native_rounding {
        // Cranelift's unsigned sequence rounds with SSE4.1 (a helper call
        // without it); two scalar conversions need neither.
        let mut v = vconst(builder, I32X4, [0; 16]);
        for lane in 0..2 {
            let f = builder.ins().extractlane(x, lane);
            let i = builder.ins().fcvt_to_uint_sat(I32, f);
            v = builder.ins().insertlane(v, i, lane);
        }
        return v;
    }
    let zero = vconst(builder, I64X2, [0; 16]);
    if signed {
        let wide = builder.ins().fcvt_to_sint_sat(I64X2, x);
        builder.ins().snarrow(wide, zero)
    } else {
        let wide = builder.ins().fcvt_to_uint_sat(I64X2, x);
        builder.ins().uunarrow(wide, zero)
    }
}

#[derive(Clone, Copy, PartialEq)]
enum MinMax {
    Min,
    Max,
}

/// `pmin(a, b)` is `b < a ? b : a`; `pmax(a, b)` is `a < b ? b : a`. Written
/// as the bitselect-of-fcmp shape Cranelift lowers to `minps`/`maxps`.
fn pseudo_min_max(state: &mut FuncState, builder: &mut FunctionBuilder<'_>, ty: Type, which: MinMax) -> Result<()> {
    let (a, b) = pop2_as(state, builder, ty)?;
    let v = pseudo(builder, ty, which, a, b);
    push_v(state, builder, v);
    Ok(())
}

fn pseudo(builder: &mut FunctionBuilder<'_>, ty: Type, which: MinMax, a: Value, b: Value) -> Value {
    let mask = match which {
        MinMax::Min => builder.ins().fcmp(FloatCC::LessThan, b, a),
        MinMax::Max => builder.ins().fcmp(FloatCC::LessThan, a, b),
    };
    let mask = builder.ins().bitcast(ty, lane_order(), mask);
    builder.ins().bitselect(mask, b, a)
}

/// `relaxed_min`/`relaxed_max`: wasm's `min`/`max` when deterministic; on
/// x86 `minps`/`maxps` (`a < b ? a : b`, the second operand on NaN or equal
/// zeros), one of the allowed results.
fn relaxed_min_max(
    state: &mut FuncState,
    builder: &mut FunctionBuilder<'_>,
    lowering: Lowering,
    ty: Type,
    which: MinMax,
) -> Result<()> {
    let (a, b) = pop2_as(state, builder, ty)?;
    let v = match (lowering.relaxed, which) {
        (RelaxedSimd::X86, MinMax::Min) => pseudo(builder, ty, MinMax::Min, b, a),
        (RelaxedSimd::X86, MinMax::Max) => pseudo(builder, ty, MinMax::Max, b, a),
        (RelaxedSimd::Deterministic, MinMax::Min) => builder.ins().fmin(a, b),
        (RelaxedSimd::Deterministic, MinMax::Max) => builder.ins().fmax(a, b),
    };
    push_v(state, builder, v);
    Ok(())
}

/// Lane-wise `ceil`/`floor`/`trunc`/`nearest` (see `round_value`).
fn round(
    state: &mut FuncState,
    builder: &mut FunctionBuilder<'_>,
    env: &mut FuncEnv<'_>,
    ty: Type,
    r: Rounding,
) -> Result<()> {
    let x = pop_as(state, builder, ty)?;
    let v = round_value(builder, env, x, r)?;
    push_v(state, builder, v);
    Ok(())
}

/// Apply the scalar builtin `b` to each lane of `args` (all of one float
/// vector type).
pub(crate) fn per_lane(
    builder: &mut FunctionBuilder<'_>,
    env: &mut FuncEnv<'_>,
    b: BuiltinIndex,
    args: &[Value],
) -> Result<Value> {
    let mut result = args[0];
    let lanes = builder.func.dfg.value_type(result).lane_count();
    for lane in 0..lanes as u8 {
        let scalars: Vec<Value> = args.iter().map(|&v| builder.ins().extractlane(v, lane)).collect();
        let r = env.call_builtin_value(builder, b, &scalars)?;
        result = builder.ins().insertlane(result, r, lane);
    }
    Ok(result)
}

/// `relaxed_madd` (`a * b + c`) and `relaxed_nmadd` (`-(a * b) + c`): fused
/// where the ISA has FMA; otherwise fused through the builtin when
/// deterministic, or a separate multiply and add on x86 (allowed).
fn multiply_add(
    state: &mut FuncState,
    builder: &mut FunctionBuilder<'_>,
    env: &mut FuncEnv<'_>,
    ty: Type,
    negate: bool,
) -> Result<()> {
    let (a, b, c) = pop3_as(state, builder, ty)?;
    let a = if negate { builder.ins().fneg(a) } else { a };
    let lowering = env.cx.lowering;
    let v = if lowering.native_fma {
        builder.ins().fma(a, b, c)
    } else if lowering.relaxed == RelaxedSimd::X86 {
        let product = builder.ins().fmul(a, b);
        builder.ins().fadd(product, c)
    } else {
        let builtin = if ty == F32X4 { BuiltinIndex::fma_f32 } else { BuiltinIndex::fma_f64 };
        per_lane(builder, env, builtin, &[a, b, c])?
    };
    push_v(state, builder, v);
    Ok(())
}

/// `relaxed_laneselect(a, b, m)`: `bitselect` when deterministic; on x86
/// `blendv` where it exists for the lane width (it reads only each mask
/// lane's top bit, which agrees with `bitselect` on all-ones/all-zeros
/// lanes).
fn laneselect(state: &mut FuncState, builder: &mut FunctionBuilder<'_>, env: &FuncEnv<'_>, ty: Type) -> Result<()> {
    let (a, b, mask) = pop3_as(state, builder, ty)?;
    let v = if env.cx.lowering.relaxed == RelaxedSimd::X86 && env.cx.isa.has_blendv_lowering(ty) {
        builder.ins().blendv(mask, a, b)
    } else {
        builder.ins().bitselect(mask, a, b)
    };
    push_v(state, builder, v);
    Ok(())
}

/// `i16x8.relaxed_dot_i8x16_i7x16_s`: on x86 `pmaddubsw` (saturating
/// pairwise sums); deterministically, both operands signed and the pairwise
/// sums wrapping.
fn relaxed_dot_i8x16(builder: &mut FunctionBuilder<'_>, env: &FuncEnv<'_>, x: Value, y: Value) -> Value {
    if env.cx.lowering.relaxed == RelaxedSimd::X86 && env.cx.isa.has_x86_pmaddubsw_lowering() {
        return builder.ins().x86_pmaddubsw(x, y);
    }
    widening_dot(builder, x, y)
}

#[cfg(test)]
mod tests {
    use super::sse2_shuffle;

    #[test]
    fn sse2_shuffles() {
        let identity: [u8; 16] = std::array::from_fn(|i| i as u8);
        assert!(sse2_shuffle(&identity));
        // pshufd: reverse the 32-bit lanes of b.
        let rev_b: [u8; 16] = std::array::from_fn(|i| 16 + (3 - i / 4) as u8 * 4 + (i % 4) as u8);
        assert!(sse2_shuffle(&rev_b));
        // punpcklbw.
        let unpack: [u8; 16] = std::array::from_fn(|i| (i / 2) as u8 + if i % 2 == 1 { 16 } else { 0 });
        assert!(sse2_shuffle(&unpack));
        // pshuflw: swap the low 16-bit lanes 0 and 1 of a.
        let mut lw = identity;
        lw[..4].copy_from_slice(&[2, 3, 0, 1]);
        assert!(sse2_shuffle(&lw));
        // Reversing bytes needs pshufb.
        let rev: [u8; 16] = std::array::from_fn(|i| 15 - i as u8);
        assert!(!sse2_shuffle(&rev));
        // 32-bit lanes alternating between operands: neither pshufd nor shufps.
        let alt: [u8; 16] = std::array::from_fn(|i| (i as u8) + if (i / 4) % 2 == 1 { 16 } else { 0 });
        assert!(!sse2_shuffle(&alt));
    }
}
