//! `translate_operator`: the one match from wasm operators to Cranelift IR.
//! Find any instruction here; arms are grouped by category under banners,
//! 32- and 64-bit variants share an arm where Cranelift's instruction is
//! polymorphic, and anything beyond numbers and locals is a one-line
//! delegation to the file that owns it. The last arm returns
//! `ErrorKind::Unsupported` naming the instruction — never a panic.
//!
//! Cranelift semantics this file relies on (they match wasm):
//!
//! * `sdiv` traps on a zero divisor (`INTEGER_DIVISION_BY_ZERO`) and on
//!   `MIN / -1` (`INTEGER_OVERFLOW`); `udiv`/`urem` trap on zero; `srem`
//!   traps on zero only and yields 0 for `MIN % -1`.
//! * `ishl`/`sshr`/`ushr`/`rotl`/`rotr` take the shift amount modulo the
//!   type's width.
//! * `fcvt_to_sint`/`fcvt_to_uint` trap with `BAD_CONVERSION_TO_INTEGER` on
//!   NaN and `INTEGER_OVERFLOW` out of range; the `_sat` forms saturate.
//! * `fmin`/`fmax` propagate NaN and order -0 < +0; `nearest` rounds ties to
//!   even; `fcopysign` copies the sign bit.

use super::atomics;
use super::calls::{self, CallKind};
use super::control;
use super::env::FuncEnv;
use super::exceptions;
use super::func_translator::FuncState;
use super::globals;
use super::memory::{self, Load, Store};
use super::simd;
use super::tables;
use super::traps::to_ir;
use crate::error::{Error, Result};
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::immediates::{Ieee32, Ieee64};
use cranelift_codegen::ir::types::{F32, F64, I128, I16, I32, I64, I8};
use cranelift_codegen::ir::{InstBuilder, MemFlagsData, Value};
use cranelift_frontend::FunctionBuilder;
use kiln_artifact::builtins::BuiltinIndex;
use kiln_artifact::index::FuncIndex;
use kiln_artifact::traps::TrapCode;
use wasmparser::Operator as Op;

/// Translate `op`, at byte `offset` of the wasm binary, in reachable code.
pub(crate) fn translate_operator(
    op: &Op<'_>,
    offset: usize,
    state: &mut FuncState,
    builder: &mut FunctionBuilder<'_>,
    env: &mut FuncEnv<'_>,
) -> Result<()> {
    // `x op y` with a Cranelift instruction of the same name shape.
    macro_rules! unary {
        ($inst:ident) => {{
            let x = state.pop()?;
            let v = builder.ins().$inst(x);
            state.push(v);
        }};
    }
    macro_rules! binary {
        ($inst:ident) => {{
            let (x, y) = state.pop2()?;
            let v = builder.ins().$inst(x, y);
            state.push(v);
        }};
    }
    macro_rules! convert {
        ($inst:ident, $ty:expr) => {{
            let x = state.pop()?;
            let v = builder.ins().$inst($ty, x);
            state.push(v);
        }};
    }
    // Comparisons give an i8 in Cranelift, an i32 in wasm.
    macro_rules! icmp {
        ($cc:ident) => {{
            let (x, y) = state.pop2()?;
            let b = builder.ins().icmp(IntCC::$cc, x, y);
            let v = builder.ins().uextend(I32, b);
            state.push(v);
        }};
    }
    macro_rules! fcmp {
        ($cc:ident) => {{
            let (x, y) = state.pop2()?;
            let b = builder.ins().fcmp(FloatCC::$cc, x, y);
            let v = builder.ins().uextend(I32, b);
            state.push(v);
        }};
    }
    // Sign-extend the low bits: reduce to `$narrow`, extend back to `$ty`.
    macro_rules! extend_low {
        ($narrow:expr, $ty:expr) => {{
            let x = state.pop()?;
            let low = builder.ins().ireduce($narrow, x);
            let v = builder.ins().sextend($ty, low);
            state.push(v);
        }};
    }
    macro_rules! bitcast {
        ($ty:expr) => {{
            let x = state.pop()?;
            let v = builder.ins().bitcast($ty, MemFlagsData::new(), x);
            state.push(v);
        }};
    }

    match op {
        // ================================================================
        // Control
        // ================================================================
        Op::Nop => {}
        Op::Unreachable => {
            // A block that only traps is folded into the branches leading
            // to it, as conditional traps that carry the branch's wasm
            // offset. The sequence point (no machine code) keeps the trap
            // where it is, so it reports this instruction's offset.
            builder.ins().sequence_point();
            builder.ins().trap(to_ir(TrapCode::UnreachableCodeReached));
            state.reachable = false;
        }
        Op::Block { blockty } => control::block(state, builder, env, *blockty, offset)?,
        Op::Loop { blockty } => control::loop_(state, builder, env, *blockty, offset)?,
        Op::If { blockty } => control::if_(state, builder, env, *blockty, offset)?,
        Op::Else => control::else_(state, builder)?,
        Op::End => super::unreachable::end(state, builder, env)?,
        Op::Br { relative_depth } => control::br(state, builder, env, *relative_depth)?,
        Op::BrIf { relative_depth } => control::br_if(state, builder, *relative_depth)?,
        Op::BrTable { targets } => control::br_table(state, builder, targets, env.cx.lowering.landing_pads)?,
        Op::Return => control::return_(state, builder, env)?,

        // ================================================================
        // Calls
        // ================================================================
        Op::Call { function_index } => calls::call(state, builder, env, *function_index, CallKind::Normal, offset)?,
        Op::CallIndirect { type_index, table_index } => {
            calls::call_indirect(state, builder, env, *type_index, *table_index, CallKind::Normal, offset)?
        }
        Op::ReturnCall { function_index } => calls::call(state, builder, env, *function_index, CallKind::Tail, offset)?,
        Op::ReturnCallIndirect { type_index, table_index } => {
            calls::call_indirect(state, builder, env, *type_index, *table_index, CallKind::Tail, offset)?
        }
        Op::CallRef { type_index } => calls::call_ref(state, builder, env, *type_index, CallKind::Normal, offset)?,
        Op::ReturnCallRef { type_index } => calls::call_ref(state, builder, env, *type_index, CallKind::Tail, offset)?,

        // ================================================================
        // Parametric
        // ================================================================
        Op::Drop => {
            state.pop()?;
        }
        Op::Select | Op::TypedSelect { .. } => {
            let (x, y, condition) = state.pop3()?;
            let v = builder.ins().select(condition, x, y);
            state.push(v);
        }

        // ================================================================
        // Locals and globals
        // ================================================================
        Op::LocalGet { local_index } => {
            let var = state.local(*local_index)?;
            let v =
                builder.try_use_var(var).map_err(|e| Error::codegen(format!("reading local {local_index}: {e}")))?;
            state.push(v);
        }
        Op::LocalSet { local_index } => {
            let v = state.pop()?;
            set_local(state, builder, *local_index, v)?;
        }
        Op::LocalTee { local_index } => {
            let v = state.peek()?;
            set_local(state, builder, *local_index, v)?;
        }
        Op::GlobalGet { global_index } => globals::get(state, builder, env, *global_index, offset)?,
        Op::GlobalSet { global_index } => globals::set(state, builder, env, *global_index, offset)?,

        // ================================================================
        // Constants
        // ================================================================
        Op::I32Const { value } => state.push(builder.ins().iconst(I32, i64::from(*value as u32))),
        Op::I64Const { value } => state.push(builder.ins().iconst(I64, *value)),
        Op::F32Const { value } => state.push(builder.ins().f32const(Ieee32::with_bits(value.bits()))),
        Op::F64Const { value } => state.push(builder.ins().f64const(Ieee64::with_bits(value.bits()))),

        // ================================================================
        // Integer arithmetic (i32 and i64 share every arm)
        // ================================================================
        Op::I32Add | Op::I64Add => binary!(iadd),
        Op::I32Sub | Op::I64Sub => binary!(isub),
        Op::I32Mul | Op::I64Mul => binary!(imul),
        Op::I32DivS | Op::I64DivS => binary!(sdiv),
        Op::I32DivU | Op::I64DivU => binary!(udiv),
        Op::I32RemS | Op::I64RemS => binary!(srem),
        Op::I32RemU | Op::I64RemU => binary!(urem),
        Op::I32And | Op::I64And => binary!(band),
        Op::I32Or | Op::I64Or => binary!(bor),
        Op::I32Xor | Op::I64Xor => binary!(bxor),
        Op::I32Shl | Op::I64Shl => binary!(ishl),
        Op::I32ShrS | Op::I64ShrS => binary!(sshr),
        Op::I32ShrU | Op::I64ShrU => binary!(ushr),
        Op::I32Rotl | Op::I64Rotl => binary!(rotl),
        Op::I32Rotr | Op::I64Rotr => binary!(rotr),
        Op::I32Clz | Op::I64Clz => unary!(clz),
        Op::I32Ctz | Op::I64Ctz => unary!(ctz),
        Op::I32Popcnt | Op::I64Popcnt => unary!(popcnt),

        // ================================================================
        // Integer comparisons
        // ================================================================
        Op::I32Eqz | Op::I64Eqz => {
            let x = state.pop()?;
            let b = builder.ins().icmp_imm_u(IntCC::Equal, x, 0);
            state.push(builder.ins().uextend(I32, b));
        }
        Op::I32Eq | Op::I64Eq => icmp!(Equal),
        Op::I32Ne | Op::I64Ne => icmp!(NotEqual),
        Op::I32LtS | Op::I64LtS => icmp!(SignedLessThan),
        Op::I32LtU | Op::I64LtU => icmp!(UnsignedLessThan),
        Op::I32GtS | Op::I64GtS => icmp!(SignedGreaterThan),
        Op::I32GtU | Op::I64GtU => icmp!(UnsignedGreaterThan),
        Op::I32LeS | Op::I64LeS => icmp!(SignedLessThanOrEqual),
        Op::I32LeU | Op::I64LeU => icmp!(UnsignedLessThanOrEqual),
        Op::I32GeS | Op::I64GeS => icmp!(SignedGreaterThanOrEqual),
        Op::I32GeU | Op::I64GeU => icmp!(UnsignedGreaterThanOrEqual),

        // ================================================================
        // Float arithmetic (f32 and f64 share every arm)
        // ================================================================
        Op::F32Add | Op::F64Add => binary!(fadd),
        Op::F32Sub | Op::F64Sub => binary!(fsub),
        Op::F32Mul | Op::F64Mul => binary!(fmul),
        Op::F32Div | Op::F64Div => binary!(fdiv),
        Op::F32Min | Op::F64Min => binary!(fmin),
        Op::F32Max | Op::F64Max => binary!(fmax),
        Op::F32Copysign | Op::F64Copysign => binary!(fcopysign),
        Op::F32Abs | Op::F64Abs => unary!(fabs),
        Op::F32Neg | Op::F64Neg => unary!(fneg),
        Op::F32Sqrt | Op::F64Sqrt => unary!(sqrt),
        Op::F32Ceil | Op::F64Ceil => round(state, builder, env, Rounding::Ceil)?,
        Op::F32Floor | Op::F64Floor => round(state, builder, env, Rounding::Floor)?,
        Op::F32Trunc | Op::F64Trunc => round(state, builder, env, Rounding::Trunc)?,
        Op::F32Nearest | Op::F64Nearest => round(state, builder, env, Rounding::Nearest)?,

        // ================================================================
        // Float comparisons
        // ================================================================
        Op::F32Eq | Op::F64Eq => fcmp!(Equal),
        Op::F32Ne | Op::F64Ne => fcmp!(NotEqual),
        Op::F32Lt | Op::F64Lt => fcmp!(LessThan),
        Op::F32Gt | Op::F64Gt => fcmp!(GreaterThan),
        Op::F32Le | Op::F64Le => fcmp!(LessThanOrEqual),
        Op::F32Ge | Op::F64Ge => fcmp!(GreaterThanOrEqual),

        // ================================================================
        // Conversions
        // ================================================================
        Op::I32WrapI64 => convert!(ireduce, I32),
        Op::I64ExtendI32S => convert!(sextend, I64),
        Op::I64ExtendI32U => convert!(uextend, I64),
        Op::I32Extend8S => extend_low!(I8, I32),
        Op::I32Extend16S => extend_low!(I16, I32),
        Op::I64Extend8S => extend_low!(I8, I64),
        Op::I64Extend16S => extend_low!(I16, I64),
        Op::I64Extend32S => extend_low!(I32, I64),
        Op::I32TruncF32S | Op::I32TruncF64S => convert!(fcvt_to_sint, I32),
        Op::I32TruncF32U | Op::I32TruncF64U => convert!(fcvt_to_uint, I32),
        Op::I64TruncF32S | Op::I64TruncF64S => convert!(fcvt_to_sint, I64),
        Op::I64TruncF32U | Op::I64TruncF64U => convert!(fcvt_to_uint, I64),
        Op::I32TruncSatF32S | Op::I32TruncSatF64S => convert!(fcvt_to_sint_sat, I32),
        Op::I32TruncSatF32U | Op::I32TruncSatF64U => convert!(fcvt_to_uint_sat, I32),
        Op::I64TruncSatF32S | Op::I64TruncSatF64S => convert!(fcvt_to_sint_sat, I64),
        Op::I64TruncSatF32U | Op::I64TruncSatF64U => convert!(fcvt_to_uint_sat, I64),
        Op::F32ConvertI32S | Op::F32ConvertI64S => convert!(fcvt_from_sint, F32),
        Op::F32ConvertI32U | Op::F32ConvertI64U => convert!(fcvt_from_uint, F32),
        Op::F64ConvertI32S | Op::F64ConvertI64S => convert!(fcvt_from_sint, F64),
        Op::F64ConvertI32U | Op::F64ConvertI64U => convert!(fcvt_from_uint, F64),
        Op::F32DemoteF64 => convert!(fdemote, F32),
        Op::F64PromoteF32 => convert!(fpromote, F64),
        Op::I32ReinterpretF32 => bitcast!(I32),
        Op::I64ReinterpretF64 => bitcast!(I64),
        Op::F32ReinterpretI32 => bitcast!(F32),
        Op::F64ReinterpretI64 => bitcast!(F64),

        // ================================================================
        // Memory: loads and stores (memory.rs → bounds.rs)
        // ================================================================
        Op::I32Load { memarg } => memory::load(state, builder, env, memarg, Load::Plain(I32), offset)?,
        Op::I64Load { memarg } => memory::load(state, builder, env, memarg, Load::Plain(I64), offset)?,
        Op::F32Load { memarg } => memory::load(state, builder, env, memarg, Load::Plain(F32), offset)?,
        Op::F64Load { memarg } => memory::load(state, builder, env, memarg, Load::Plain(F64), offset)?,
        Op::I32Load8S { memarg } => memory::load(state, builder, env, memarg, Load::S8(I32), offset)?,
        Op::I32Load8U { memarg } => memory::load(state, builder, env, memarg, Load::U8(I32), offset)?,
        Op::I32Load16S { memarg } => memory::load(state, builder, env, memarg, Load::S16(I32), offset)?,
        Op::I32Load16U { memarg } => memory::load(state, builder, env, memarg, Load::U16(I32), offset)?,
        Op::I64Load8S { memarg } => memory::load(state, builder, env, memarg, Load::S8(I64), offset)?,
        Op::I64Load8U { memarg } => memory::load(state, builder, env, memarg, Load::U8(I64), offset)?,
        Op::I64Load16S { memarg } => memory::load(state, builder, env, memarg, Load::S16(I64), offset)?,
        Op::I64Load16U { memarg } => memory::load(state, builder, env, memarg, Load::U16(I64), offset)?,
        Op::I64Load32S { memarg } => memory::load(state, builder, env, memarg, Load::S32, offset)?,
        Op::I64Load32U { memarg } => memory::load(state, builder, env, memarg, Load::U32, offset)?,
        Op::I32Store { memarg } | Op::I64Store { memarg } | Op::F32Store { memarg } | Op::F64Store { memarg } => {
            memory::store(state, builder, env, memarg, Store::Plain, offset)?
        }
        Op::I32Store8 { memarg } | Op::I64Store8 { memarg } => {
            memory::store(state, builder, env, memarg, Store::Low8, offset)?
        }
        Op::I32Store16 { memarg } | Op::I64Store16 { memarg } => {
            memory::store(state, builder, env, memarg, Store::Low16, offset)?
        }
        Op::I64Store32 { memarg } => memory::store(state, builder, env, memarg, Store::Low32, offset)?,

        // ================================================================
        // Memory: size, grow and bulk operations (memory.rs)
        // ================================================================
        Op::MemorySize { mem } => memory::size(state, builder, env, *mem)?,
        Op::MemoryGrow { mem } => memory::grow(state, builder, env, *mem)?,
        Op::MemoryCopy { dst_mem, src_mem } => memory::copy(state, builder, env, *dst_mem, *src_mem)?,
        Op::MemoryFill { mem } => memory::fill(state, builder, env, *mem)?,
        Op::MemoryInit { data_index, mem } => memory::init(state, builder, env, *data_index, *mem)?,
        Op::DataDrop { data_index } => memory::data_drop(builder, env, *data_index)?,

        // ================================================================
        // References
        // ================================================================
        Op::RefNull { .. } => state.push(builder.ins().iconst(env.ptr, 0)),
        Op::RefIsNull => {
            let x = state.pop()?;
            let b = builder.ins().icmp_imm_u(IntCC::Equal, x, 0);
            state.push(builder.ins().uextend(I32, b));
        }
        Op::RefFunc { function_index } => {
            let v = env.func_ref_address(builder, FuncIndex(*function_index))?;
            state.push(v);
        }
        Op::RefAsNonNull => {
            let x = state.peek()?;
            builder.ins().trapz(x, to_ir(TrapCode::NullReference));
        }
        Op::BrOnNull { relative_depth } => control::br_on_null(state, builder, *relative_depth)?,
        Op::BrOnNonNull { relative_depth } => control::br_on_non_null(state, builder, *relative_depth)?,

        // ================================================================
        // Tables (tables.rs)
        // ================================================================
        Op::TableGet { table } => tables::get(state, builder, env, *table)?,
        Op::TableSet { table } => tables::set(state, builder, env, *table)?,
        Op::TableSize { table } => tables::size(state, builder, env, *table)?,
        Op::TableGrow { table } => tables::grow(state, builder, env, *table)?,
        Op::TableFill { table } => tables::fill(state, builder, env, *table)?,
        Op::TableCopy { dst_table, src_table } => tables::copy(state, builder, env, *dst_table, *src_table)?,
        Op::TableInit { elem_index, table } => tables::init(state, builder, env, *elem_index, *table)?,
        Op::ElemDrop { elem_index } => tables::elem_drop(builder, env, *elem_index)?,

        // ================================================================
        // Wide arithmetic: 128-bit values as (low, high) pairs of i64
        // ================================================================
        Op::I64Add128 | Op::I64Sub128 => {
            let (b_lo, b_hi) = state.pop2()?;
            let (a_lo, a_hi) = state.pop2()?;
            let (a, b) = (builder.ins().iconcat(a_lo, a_hi), builder.ins().iconcat(b_lo, b_hi));
            let r = if matches!(op, Op::I64Add128) { builder.ins().iadd(a, b) } else { builder.ins().isub(a, b) };
            let (lo, hi) = builder.ins().isplit(r);
            state.push(lo);
            state.push(hi);
        }
        Op::I64MulWideS | Op::I64MulWideU => {
            let (a, b) = state.pop2()?;
            let (a, b) = if matches!(op, Op::I64MulWideS) {
                (builder.ins().sextend(I128, a), builder.ins().sextend(I128, b))
            } else {
                (builder.ins().uextend(I128, a), builder.ins().uextend(I128, b))
            };
            let product = builder.ins().imul(a, b);
            let (lo, hi) = builder.ins().isplit(product);
            state.push(lo);
            state.push(hi);
        }

        // ================================================================
        // Exceptions (exceptions.rs)
        // ================================================================
        Op::Throw { tag_index } => exceptions::throw(state, builder, env, *tag_index)?,
        Op::ThrowRef => exceptions::throw_ref(state, builder, env)?,
        Op::TryTable { try_table } => exceptions::try_table(state, builder, env, try_table, offset)?,
        Op::Try { blockty } => exceptions::try_(state, builder, env, *blockty, offset)?,
        Op::Catch { tag_index } => exceptions::catch(state, builder, env, Some(*tag_index))?,
        Op::CatchAll => exceptions::catch(state, builder, env, None)?,
        Op::Delegate { relative_depth } => exceptions::delegate(state, builder, env, *relative_depth)?,
        Op::Rethrow { relative_depth } => exceptions::rethrow(state, builder, env, *relative_depth)?,

        // ================================================================
        // SIMD and relaxed SIMD (simd.rs), atomics (atomics.rs); everything
        // else (GC, stack switching…) is unsupported
        // ================================================================
        other => {
            if !simd::translate(other, offset, state, builder, env)?
                && !atomics::translate(other, state, builder, env, offset)?
            {
                return Err(Error::unsupported(operator_name(other), offset));
            }
        }
    }
    Ok(())
}

fn set_local(state: &mut FuncState, builder: &mut FunctionBuilder<'_>, index: u32, value: Value) -> Result<()> {
    let var = state.local(index)?;
    builder.try_def_var(var, value).map_err(|e| Error::codegen(format!("writing local {index}: {e}")))
}

#[derive(Clone, Copy)]
pub(crate) enum Rounding {
    Ceil,
    Floor,
    Trunc,
    Nearest,
}

fn round(state: &mut FuncState, builder: &mut FunctionBuilder<'_>, env: &mut FuncEnv<'_>, r: Rounding) -> Result<()> {
    let x = state.pop()?;
    let v = round_value(builder, env, x, r)?;
    state.push(v);
    Ok(())
}

/// `ceil`/`floor`/`trunc`/`nearest` of a float or float vector: Cranelift's
/// instruction where the ISA has one, else the builtin (per lane for
/// vectors) — Cranelift would emit a libcall, and kiln code must not
/// contain any.
pub(crate) fn round_value(
    builder: &mut FunctionBuilder<'_>,
    env: &mut FuncEnv<'_>,
    x: Value,
    r: Rounding,
) -> Result<Value> {
    if env.cx.lowering.native_rounding {
        let ins = builder.ins();
        return Ok(match r {
            Rounding::Ceil => ins.ceil(x),
            Rounding::Floor => ins.floor(x),
            Rounding::Trunc => ins.trunc(x),
            Rounding::Nearest => ins.nearest(x),
        });
    }
    let ty = builder.func.dfg.value_type(x);
    let b = match (r, ty.lane_type() == F64) {
        (Rounding::Ceil, false) => BuiltinIndex::ceil_f32,
        (Rounding::Ceil, true) => BuiltinIndex::ceil_f64,
        (Rounding::Floor, false) => BuiltinIndex::floor_f32,
        (Rounding::Floor, true) => BuiltinIndex::floor_f64,
        (Rounding::Trunc, false) => BuiltinIndex::trunc_f32,
        (Rounding::Trunc, true) => BuiltinIndex::trunc_f64,
        (Rounding::Nearest, false) => BuiltinIndex::nearest_f32,
        (Rounding::Nearest, true) => BuiltinIndex::nearest_f64,
    };
    if ty.is_vector() {
        simd::per_lane(builder, env, b, &[x])
    } else {
        env.call_builtin_value(builder, b, &[x])
    }
}

/// The text-format name of an operator and the proposal it belongs to, for
/// error messages: `i32.atomic.rmw8.add_u (threads proposal)`.
#[cold]
pub(crate) fn operator_name(op: &Op<'_>) -> String {
    macro_rules! visit_name {
        ($( @$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*))*) => {
            match op {
                $( Op::$op { .. } => (stringify!($visit), stringify!($proposal)), )*
                #[allow(unreachable_patterns)]
                _ => ("visit_unknown_operator", "unknown"),
            }
        };
    }
    let (visit, proposal) = wasmparser::for_each_operator!(visit_name);
    let name = text_name(visit.trim_start_matches("visit_"));
    if proposal == "mvp" {
        name
    } else {
        format!("{name} ({proposal} proposal)")
    }
}

/// `i32_atomic_rmw8_add_u` → `i32.atomic.rmw8.add_u`.
fn text_name(snake: &str) -> String {
    const PREFIXES: &[&str] = &[
        "i32", "i64", "f32", "f64", "v128", "i8x16", "i16x8", "i32x4", "i64x2", "f32x4", "f64x2", "memory", "table",
        "elem", "data", "local", "global", "ref", "struct", "array", "any", "extern", "i31", "atomic", "cont",
    ];
    let mut name = match snake.split_once('_') {
        Some((head, rest)) if PREFIXES.contains(&head) => format!("{head}.{rest}"),
        _ => snake.to_string(),
    };
    for (from, to) in
        [("atomic_", "atomic."), ("rmw_", "rmw."), ("rmw8_", "rmw8."), ("rmw16_", "rmw16."), ("rmw32_", "rmw32.")]
    {
        name = name.replace(from, to);
    }
    name
}

#[cfg(test)]
mod tests {
    use super::text_name;

    #[test]
    fn text_names() {
        assert_eq!(text_name("i32_atomic_rmw8_add_u"), "i32.atomic.rmw8.add_u");
        assert_eq!(text_name("i64_atomic_rmw_cmpxchg"), "i64.atomic.rmw.cmpxchg");
        assert_eq!(text_name("memory_atomic_notify"), "memory.atomic.notify");
        assert_eq!(text_name("atomic_fence"), "atomic.fence");
        assert_eq!(text_name("i8x16_add"), "i8x16.add");
        assert_eq!(text_name("try_table"), "try_table");
        assert_eq!(text_name("struct_new_default"), "struct.new_default");
        assert_eq!(text_name("ref_as_non_null"), "ref.as_non_null");
    }
}
