//! The threads proposal's instructions: atomic loads, stores,
//! read-modify-writes and compare-exchanges, `memory.atomic.wait32/64`,
//! `memory.atomic.notify` and `atomic.fence`.
//!
//! Every atomic access is naturally aligned or traps ("unaligned atomic")
//! before it is bounds-checked, on shared and unshared memories alike.
//! Narrow forms (`i64.atomic.rmw8.add_u`, …) operate on the narrow type and
//! zero-extend the old value. Waiting on an unshared memory traps; notifying
//! one wakes nobody: both are known when compiling.

use super::bounds::{self, HeapAddr};
use super::env::{index_to_i64, FuncEnv};
use super::func_translator::FuncState;
use super::traps::to_ir;
use crate::error::{Error, Result};
use cranelift_codegen::ir::{types, AtomicRmwOp, InstBuilder, Type, Value};
use cranelift_frontend::FunctionBuilder;
use kiln_artifact::builtins::BuiltinIndex;
use kiln_artifact::index::MemoryIndex;
use kiln_artifact::traps::TrapCode;
use wasmparser::{MemArg, MemArgTarget, Operator as Op};

/// An atomic access: the wasm value type, and the type of memory it reads
/// or writes (narrower for the `8`/`16`/`32` forms).
#[derive(Clone, Copy)]
struct Access {
    value: Type,
    memory: Type,
}

impl Access {
    const fn new(value: Type, memory: Type) -> Access {
        Access { value, memory }
    }

    fn size(self) -> u8 {
        self.memory.bytes() as u8
    }
}

const I32: Access = Access::new(types::I32, types::I32);
const I64: Access = Access::new(types::I64, types::I64);
const I32_8: Access = Access::new(types::I32, types::I8);
const I32_16: Access = Access::new(types::I32, types::I16);
const I64_8: Access = Access::new(types::I64, types::I8);
const I64_16: Access = Access::new(types::I64, types::I16);
const I64_32: Access = Access::new(types::I64, types::I32);

/// Translate `op` if it is an atomic instruction; `Ok(false)` if it is not.
pub(crate) fn translate(
    op: &Op<'_>,
    state: &mut FuncState,
    builder: &mut FunctionBuilder<'_>,
    env: &mut FuncEnv<'_>,
    offset: usize,
) -> Result<bool> {
    use AtomicRmwOp as R;
    macro_rules! rmw {
        ($m:expr, $a:expr, $op:expr) => {
            rmw(state, builder, env, $m, $a, $op, offset)?
        };
    }
    match op {
        Op::AtomicFence { .. } => {
            builder.ins().fence();
        }
        Op::I32AtomicLoad { memarg } => load(state, builder, env, memarg, I32, offset)?,
        Op::I64AtomicLoad { memarg } => load(state, builder, env, memarg, I64, offset)?,
        Op::I32AtomicLoad8U { memarg } => load(state, builder, env, memarg, I32_8, offset)?,
        Op::I32AtomicLoad16U { memarg } => load(state, builder, env, memarg, I32_16, offset)?,
        Op::I64AtomicLoad8U { memarg } => load(state, builder, env, memarg, I64_8, offset)?,
        Op::I64AtomicLoad16U { memarg } => load(state, builder, env, memarg, I64_16, offset)?,
        Op::I64AtomicLoad32U { memarg } => load(state, builder, env, memarg, I64_32, offset)?,
        Op::I32AtomicStore { memarg } => store(state, builder, env, memarg, I32, offset)?,
        Op::I64AtomicStore { memarg } => store(state, builder, env, memarg, I64, offset)?,
        Op::I32AtomicStore8 { memarg } => store(state, builder, env, memarg, I32_8, offset)?,
        Op::I32AtomicStore16 { memarg } => store(state, builder, env, memarg, I32_16, offset)?,
        Op::I64AtomicStore8 { memarg } => store(state, builder, env, memarg, I64_8, offset)?,
        Op::I64AtomicStore16 { memarg } => store(state, builder, env, memarg, I64_16, offset)?,
        Op::I64AtomicStore32 { memarg } => store(state, builder, env, memarg, I64_32, offset)?,

        Op::I32AtomicRmwAdd { memarg } => rmw!(memarg, I32, R::Add),
        Op::I64AtomicRmwAdd { memarg } => rmw!(memarg, I64, R::Add),
        Op::I32AtomicRmw8AddU { memarg } => rmw!(memarg, I32_8, R::Add),
        Op::I32AtomicRmw16AddU { memarg } => rmw!(memarg, I32_16, R::Add),
        Op::I64AtomicRmw8AddU { memarg } => rmw!(memarg, I64_8, R::Add),
        Op::I64AtomicRmw16AddU { memarg } => rmw!(memarg, I64_16, R::Add),
        Op::I64AtomicRmw32AddU { memarg } => rmw!(memarg, I64_32, R::Add),
        Op::I32AtomicRmwSub { memarg } => rmw!(memarg, I32, R::Sub),
        Op::I64AtomicRmwSub { memarg } => rmw!(memarg, I64, R::Sub),
        Op::I32AtomicRmw8SubU { memarg } => rmw!(memarg, I32_8, R::Sub),
        Op::I32AtomicRmw16SubU { memarg } => rmw!(memarg, I32_16, R::Sub),
        Op::I64AtomicRmw8SubU { memarg } => rmw!(memarg, I64_8, R::Sub),
        Op::I64AtomicRmw16SubU { memarg } => rmw!(memarg, I64_16, R::Sub),
        Op::I64AtomicRmw32SubU { memarg } => rmw!(memarg, I64_32, R::Sub),
        Op::I32AtomicRmwAnd { memarg } => rmw!(memarg, I32, R::And),
        Op::I64AtomicRmwAnd { memarg } => rmw!(memarg, I64, R::And),
        Op::I32AtomicRmw8AndU { memarg } => rmw!(memarg, I32_8, R::And),
        Op::I32AtomicRmw16AndU { memarg } => rmw!(memarg, I32_16, R::And),
        Op::I64AtomicRmw8AndU { memarg } => rmw!(memarg, I64_8, R::And),
        Op::I64AtomicRmw16AndU { memarg } => rmw!(memarg, I64_16, R::And),
        Op::I64AtomicRmw32AndU { memarg } => rmw!(memarg, I64_32, R::And),
        Op::I32AtomicRmwOr { memarg } => rmw!(memarg, I32, R::Or),
        Op::I64AtomicRmwOr { memarg } => rmw!(memarg, I64, R::Or),
        Op::I32AtomicRmw8OrU { memarg } => rmw!(memarg, I32_8, R::Or),
        Op::I32AtomicRmw16OrU { memarg } => rmw!(memarg, I32_16, R::Or),
        Op::I64AtomicRmw8OrU { memarg } => rmw!(memarg, I64_8, R::Or),
        Op::I64AtomicRmw16OrU { memarg } => rmw!(memarg, I64_16, R::Or),
        Op::I64AtomicRmw32OrU { memarg } => rmw!(memarg, I64_32, R::Or),
        Op::I32AtomicRmwXor { memarg } => rmw!(memarg, I32, R::Xor),
        Op::I64AtomicRmwXor { memarg } => rmw!(memarg, I64, R::Xor),
        Op::I32AtomicRmw8XorU { memarg } => rmw!(memarg, I32_8, R::Xor),
        Op::I32AtomicRmw16XorU { memarg } => rmw!(memarg, I32_16, R::Xor),
        Op::I64AtomicRmw8XorU { memarg } => rmw!(memarg, I64_8, R::Xor),
        Op::I64AtomicRmw16XorU { memarg } => rmw!(memarg, I64_16, R::Xor),
        Op::I64AtomicRmw32XorU { memarg } => rmw!(memarg, I64_32, R::Xor),
        Op::I32AtomicRmwXchg { memarg } => rmw!(memarg, I32, R::Xchg),
        Op::I64AtomicRmwXchg { memarg } => rmw!(memarg, I64, R::Xchg),
        Op::I32AtomicRmw8XchgU { memarg } => rmw!(memarg, I32_8, R::Xchg),
        Op::I32AtomicRmw16XchgU { memarg } => rmw!(memarg, I32_16, R::Xchg),
        Op::I64AtomicRmw8XchgU { memarg } => rmw!(memarg, I64_8, R::Xchg),
        Op::I64AtomicRmw16XchgU { memarg } => rmw!(memarg, I64_16, R::Xchg),
        Op::I64AtomicRmw32XchgU { memarg } => rmw!(memarg, I64_32, R::Xchg),

        Op::I32AtomicRmwCmpxchg { memarg } => cmpxchg(state, builder, env, memarg, I32, offset)?,
        Op::I64AtomicRmwCmpxchg { memarg } => cmpxchg(state, builder, env, memarg, I64, offset)?,
        Op::I32AtomicRmw8CmpxchgU { memarg } => cmpxchg(state, builder, env, memarg, I32_8, offset)?,
        Op::I32AtomicRmw16CmpxchgU { memarg } => cmpxchg(state, builder, env, memarg, I32_16, offset)?,
        Op::I64AtomicRmw8CmpxchgU { memarg } => cmpxchg(state, builder, env, memarg, I64_8, offset)?,
        Op::I64AtomicRmw16CmpxchgU { memarg } => cmpxchg(state, builder, env, memarg, I64_16, offset)?,
        Op::I64AtomicRmw32CmpxchgU { memarg } => cmpxchg(state, builder, env, memarg, I64_32, offset)?,

        Op::MemoryAtomicWait32 { memarg } => wait(state, builder, env, memarg, I32, offset)?,
        Op::MemoryAtomicWait64 { memarg } => wait(state, builder, env, memarg, I64, offset)?,
        Op::MemoryAtomicNotify { memarg } => notify(state, builder, env, memarg, offset)?,
        _ => return Ok(false),
    }
    Ok(true)
}

/// The host address of an atomic access of `size` bytes at `index` plus
/// the memarg's offset: alignment checked first, then bounds.
fn address(
    builder: &mut FunctionBuilder<'_>,
    env: &mut FuncEnv<'_>,
    memarg: &MemArg,
    index: Value,
    size: u8,
    offset: usize,
) -> Result<(MemoryIndex, Value)> {
    let mem = match memarg.target {
        MemArgTarget::Memory(m) => MemoryIndex(m),
        MemArgTarget::Array(_) => return Err(Error::unsupported("atomic access to a GC array", offset)),
    };
    if memarg.ordering.is_some() {
        return Err(Error::unsupported("atomic access with an explicit ordering", offset));
    }
    if size > 1 {
        // The effective address's low bits: the offset's plus the index's
        // (wrapping is harmless, the bounds check below refuses it).
        let index64 = index_to_i64(builder, index);
        let ea = builder.ins().iadd_imm_u(index64, memarg.offset as i64);
        let misaligned = builder.ins().band_imm_u(ea, i64::from(size - 1));
        builder.ins().trapnz(misaligned, to_ir(TrapCode::HeapMisaligned));
    }
    let HeapAddr { addr, offset: imm } = bounds::heap_addr(builder, env, mem, index, memarg.offset, size)?;
    // Atomic instructions take no offset: fold it in.
    let addr = if imm == 0 { addr } else { builder.ins().iadd_imm_s(addr, i64::from(imm)) };
    Ok((mem, addr))
}

fn load(
    state: &mut FuncState,
    builder: &mut FunctionBuilder<'_>,
    env: &mut FuncEnv<'_>,
    memarg: &MemArg,
    a: Access,
    offset: usize,
) -> Result<()> {
    let index = state.pop()?;
    let (_, addr) = address(builder, env, memarg, index, a.size(), offset)?;
    let flags = env.heap_flags();
    let v = builder.ins().atomic_load(a.memory, flags, addr);
    state.push(widen(builder, v, a));
    Ok(())
}

fn store(
    state: &mut FuncState,
    builder: &mut FunctionBuilder<'_>,
    env: &mut FuncEnv<'_>,
    memarg: &MemArg,
    a: Access,
    offset: usize,
) -> Result<()> {
    let (index, value) = state.pop2()?;
    let (_, addr) = address(builder, env, memarg, index, a.size(), offset)?;
    let value = narrow(builder, value, a);
    let flags = env.heap_flags();
    builder.ins().atomic_store(flags, value, addr);
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn rmw(
    state: &mut FuncState,
    builder: &mut FunctionBuilder<'_>,
    env: &mut FuncEnv<'_>,
    memarg: &MemArg,
    a: Access,
    op: AtomicRmwOp,
    offset: usize,
) -> Result<()> {
    let (index, value) = state.pop2()?;
    let (_, addr) = address(builder, env, memarg, index, a.size(), offset)?;
    let value = narrow(builder, value, a);
    let flags = env.heap_flags();
    let old = builder.ins().atomic_rmw(a.memory, flags, op, addr, value);
    state.push(widen(builder, old, a));
    Ok(())
}

fn cmpxchg(
    state: &mut FuncState,
    builder: &mut FunctionBuilder<'_>,
    env: &mut FuncEnv<'_>,
    memarg: &MemArg,
    a: Access,
    offset: usize,
) -> Result<()> {
    let (index, expected, replacement) = state.pop3()?;
    let (_, addr) = address(builder, env, memarg, index, a.size(), offset)?;
    let expected = narrow(builder, expected, a);
    let replacement = narrow(builder, replacement, a);
    let flags = env.heap_flags();
    let old = builder.ins().atomic_cas(flags, addr, expected, replacement);
    state.push(widen(builder, old, a));
    Ok(())
}

/// `memory.atomic.wait32/64`: 0 woken, 1 the value differed, 2 timed out.
fn wait(
    state: &mut FuncState,
    builder: &mut FunctionBuilder<'_>,
    env: &mut FuncEnv<'_>,
    memarg: &MemArg,
    a: Access,
    offset: usize,
) -> Result<()> {
    let (index, expected, timeout) = state.pop3()?;
    let (mem, addr) = address(builder, env, memarg, index, a.size(), offset)?;
    if !env.memory_type(mem)?.shared {
        // A wait no notify could end: the proposal makes it a trap.
        builder.ins().trap(to_ir(TrapCode::AtomicWaitNonShared));
        state.reachable = false;
        return Ok(());
    }
    let b = if a.value == types::I32 { BuiltinIndex::memory_atomic_wait32 } else { BuiltinIndex::memory_atomic_wait64 };
    let result = env.call_builtin_value(builder, b, &[addr, expected, timeout])?;
    state.push(result);
    Ok(())
}

/// `memory.atomic.notify`: how many waiters were woken.
fn notify(
    state: &mut FuncState,
    builder: &mut FunctionBuilder<'_>,
    env: &mut FuncEnv<'_>,
    memarg: &MemArg,
    offset: usize,
) -> Result<()> {
    let (index, count) = state.pop2()?;
    let (mem, addr) = address(builder, env, memarg, index, 4, offset)?;
    let woken = if env.memory_type(mem)?.shared {
        env.call_builtin_value(builder, BuiltinIndex::memory_atomic_notify, &[addr, count])?
    } else {
        // Nobody can wait on an unshared memory.
        builder.ins().iconst(types::I32, 0)
    };
    state.push(woken);
    Ok(())
}

fn narrow(builder: &mut FunctionBuilder<'_>, value: Value, a: Access) -> Value {
    if a.memory == a.value {
        value
    } else {
        builder.ins().ireduce(a.memory, value)
    }
}

fn widen(builder: &mut FunctionBuilder<'_>, value: Value, a: Access) -> Value {
    if a.memory == a.value {
        value
    } else {
        builder.ins().uextend(a.value, value)
    }
}
