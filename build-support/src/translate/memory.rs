//! Linear memory: loads, stores, `memory.size`, `memory.grow`, and the bulk
//! operations (`memory.copy/fill/init`, `data.drop`), which call builtins
//! (`memory.copy/fill` in one unshared memory after checking bounds here).
//!
//! Addresses and bounds checks come from `bounds.rs` only. Memory indices
//! passed to builtins are in the module's index space (imports first), and
//! every address, length and size argument is widened to i64 whatever the
//! memory's index type.

use super::bounds::{self, HeapAddr};
use super::env::{i64_to_index, index_to_i64, FuncEnv};
use super::func_translator::FuncState;
use super::traps;
use crate::error::{Error, Result};
use cranelift_codegen::ir::{condcodes::IntCC, types, InstBuilder, Type, Value};
use cranelift_frontend::FunctionBuilder;
use kiln_artifact::builtins::BuiltinIndex;
use kiln_artifact::index::MemoryIndex;
use kiln_artifact::traps::TrapCode;
use wasmparser::{MemArg, MemArgTarget};

/// How a load reads memory and widens the value.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Load {
    /// A full-width load of the type.
    Plain(Type),
    /// 8 bits, sign-extended to the type.
    S8(Type),
    /// 8 bits, zero-extended to the type.
    U8(Type),
    /// 16 bits, sign-extended to the type.
    S16(Type),
    /// 16 bits, zero-extended to the type.
    U16(Type),
    /// 32 bits, sign-extended to i64.
    S32,
    /// 32 bits, zero-extended to i64.
    U32,
}

impl Load {
    fn size(self) -> u8 {
        match self {
            Load::Plain(ty) => ty.bytes() as u8,
            Load::S8(_) | Load::U8(_) => 1,
            Load::S16(_) | Load::U16(_) => 2,
            Load::S32 | Load::U32 => 4,
        }
    }
}

/// How many bytes of the value a store writes.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Store {
    /// All of it.
    Plain,
    /// The low 8 bits.
    Low8,
    /// The low 16 bits.
    Low16,
    /// The low 32 bits.
    Low32,
}

fn memory_of(memarg: &MemArg, offset: usize) -> Result<MemoryIndex> {
    match memarg.target {
        MemArgTarget::Memory(m) => Ok(MemoryIndex(m)),
        MemArgTarget::Array(_) => Err(Error::unsupported("memory access to a GC array", offset)),
    }
}

/// The address of a `size`-byte access at `index` + the memarg's offset,
/// with its bounds check.
pub(crate) fn address(
    builder: &mut FunctionBuilder<'_>,
    env: &mut FuncEnv<'_>,
    memarg: &MemArg,
    index: cranelift_codegen::ir::Value,
    size: u8,
    offset: usize,
) -> Result<HeapAddr> {
    if memarg.ordering.is_some() {
        return Err(Error::unsupported("memory access with an ordering", offset));
    }
    let mem = memory_of(memarg, offset)?;
    bounds::heap_addr(builder, env, mem, index, memarg.offset, size)
}

/// `t.load*`: pops the index, pushes the value.
pub(crate) fn load(
    state: &mut FuncState,
    builder: &mut FunctionBuilder<'_>,
    env: &mut FuncEnv<'_>,
    memarg: &MemArg,
    kind: Load,
    offset: usize,
) -> Result<()> {
    let index = state.pop()?;
    let HeapAddr { addr, offset: imm } = address(builder, env, memarg, index, kind.size(), offset)?;
    let flags = env.heap_flags();
    let ins = builder.ins();
    let value = match kind {
        Load::Plain(ty) => ins.load(ty, flags, addr, imm),
        Load::S8(ty) => ins.sload8(ty, flags, addr, imm),
        Load::U8(ty) => ins.uload8(ty, flags, addr, imm),
        Load::S16(ty) => ins.sload16(ty, flags, addr, imm),
        Load::U16(ty) => ins.uload16(ty, flags, addr, imm),
        Load::S32 => ins.sload32(flags, addr, imm),
        Load::U32 => ins.uload32(flags, addr, imm),
    };
    state.push(value);
    Ok(())
}

/// `t.store*`: pops the value and the index.
pub(crate) fn store(
    state: &mut FuncState,
    builder: &mut FunctionBuilder<'_>,
    env: &mut FuncEnv<'_>,
    memarg: &MemArg,
    kind: Store,
    offset: usize,
) -> Result<()> {
    let (index, value) = state.pop2()?;
    let size = match kind {
        Store::Plain => builder.func.dfg.value_type(value).bytes() as u8,
        Store::Low8 => 1,
        Store::Low16 => 2,
        Store::Low32 => 4,
    };
    let HeapAddr { addr, offset: imm } = address(builder, env, memarg, index, size, offset)?;
    let flags = env.heap_flags();
    let ins = builder.ins();
    match kind {
        Store::Plain => ins.store(flags, value, addr, imm),
        Store::Low8 => ins.istore8(flags, value, addr, imm),
        Store::Low16 => ins.istore16(flags, value, addr, imm),
        Store::Low32 => ins.istore32(flags, value, addr, imm),
    };
    Ok(())
}

/// The memory index as the i32 argument of a builtin.
fn memory_arg(builder: &mut FunctionBuilder<'_>, mem: MemoryIndex) -> cranelift_codegen::ir::Value {
    builder.ins().iconst(types::I32, i64::from(mem.0))
}

/// `memory.size`: the length in pages, i32 or i64 by the index type.
pub(crate) fn size(
    state: &mut FuncState,
    builder: &mut FunctionBuilder<'_>,
    env: &mut FuncEnv<'_>,
    mem: u32,
) -> Result<()> {
    let mem = MemoryIndex(mem);
    let ty = env.memory_type(mem)?;
    let (memory64, page_size_log2) = (ty.memory64, ty.page_size_log2);
    let length = env.memory_length(builder, mem)?;
    let pages = builder.ins().ushr_imm_u(length, i64::from(page_size_log2));
    let pages = i64_to_index(builder, pages, memory64);
    state.push(pages);
    Ok(())
}

/// `memory.grow`: the old size in pages, or -1.
pub(crate) fn grow(
    state: &mut FuncState,
    builder: &mut FunctionBuilder<'_>,
    env: &mut FuncEnv<'_>,
    mem: u32,
) -> Result<()> {
    let mem = MemoryIndex(mem);
    let memory64 = env.memory_type(mem)?.memory64;
    let delta = state.pop()?;
    let delta = index_to_i64(builder, delta);
    let mem_arg = memory_arg(builder, mem);
    let old = env.call_builtin_value(builder, BuiltinIndex::memory_grow, &[mem_arg, delta])?;
    let old = i64_to_index(builder, old, memory64);
    state.push(old);
    Ok(())
}

/// `memory.copy`. Within one unshared memory (what compilers emit for
/// every `memcpy` of unknown size, so real programs run it constantly) the
/// compiled code checks both ranges itself and calls `memmove` on host
/// addresses: no instance lookup, no unwinding guard, on the hot path.
/// Across memories, or in a shared one, the runtime's builtin does it all.
pub(crate) fn copy(
    state: &mut FuncState,
    builder: &mut FunctionBuilder<'_>,
    env: &mut FuncEnv<'_>,
    dst_mem: u32,
    src_mem: u32,
) -> Result<()> {
    let (dst_mem, src_mem) = (MemoryIndex(dst_mem), MemoryIndex(src_mem));
    let (dst, src, len) = state.pop3()?;
    let dst = index_to_i64(builder, dst);
    let src = index_to_i64(builder, src);
    let len = index_to_i64(builder, len);
    if dst_mem == src_mem && checks_inline(env, dst_mem)? {
        let bounds = InlineBounds::of(builder, env, dst_mem)?;
        let dst = bounds.checked_host_addr(builder, dst, len);
        let src = bounds.checked_host_addr(builder, src, len);
        env.call_builtin(builder, BuiltinIndex::memmove, &[dst, src, len])?;
        return Ok(());
    }
    let dst_arg = memory_arg(builder, dst_mem);
    let src_arg = memory_arg(builder, src_mem);
    env.call_builtin(builder, BuiltinIndex::memory_copy, &[dst_arg, dst, src_arg, src, len])?;
    Ok(())
}

/// `memory.fill`: in an unshared memory, checked here and done by `memset`
/// (as `memory.copy` is).
pub(crate) fn fill(
    state: &mut FuncState,
    builder: &mut FunctionBuilder<'_>,
    env: &mut FuncEnv<'_>,
    mem: u32,
) -> Result<()> {
    let mem = MemoryIndex(mem);
    let (dst, value, len) = state.pop3()?;
    let dst = index_to_i64(builder, dst);
    let len = index_to_i64(builder, len);
    if checks_inline(env, mem)? {
        let dst = InlineBounds::of(builder, env, mem)?.checked_host_addr(builder, dst, len);
        env.call_builtin(builder, BuiltinIndex::memset, &[dst, value, len])?;
        return Ok(());
    }
    let mem_arg = memory_arg(builder, mem);
    env.call_builtin(builder, BuiltinIndex::memory_fill, &[mem_arg, dst, value, len])?;
    Ok(())
}

/// Whether a bulk operation on `mem` is bounds-checked by compiled code: an
/// unshared memory (a shared one's length may change under the check) on a
/// 64-bit host (addresses and lengths are i64 here).
fn checks_inline(env: &FuncEnv<'_>, mem: MemoryIndex) -> Result<bool> {
    Ok(!env.memory_type(mem)?.shared && env.ptr == types::I64)
}

/// A memory's current length and base, read once per bulk operation
/// (`memory.copy` checks two ranges against them).
struct InlineBounds {
    length: Value,
    base: Value,
}

impl InlineBounds {
    fn of(builder: &mut FunctionBuilder<'_>, env: &mut FuncEnv<'_>, mem: MemoryIndex) -> Result<InlineBounds> {
        Ok(InlineBounds { length: env.memory_length(builder, mem)?, base: env.memory_base(builder, mem)? })
    }

    /// The host address of `[at, at + len)`, after trapping (before
    /// anything is written, as the spec requires) unless the whole range
    /// lies within the current length. `at` and `len` are i64; a sum that
    /// overflows (memory64) traps too.
    fn checked_host_addr(&self, builder: &mut FunctionBuilder<'_>, at: Value, len: Value) -> Value {
        let oob = traps::to_ir(TrapCode::MemoryOutOfBounds);
        let end = builder.ins().uadd_overflow_trap(at, len, oob);
        let outside = builder.ins().icmp(IntCC::UnsignedGreaterThan, end, self.length);
        builder.ins().trapnz(outside, oob);
        builder.ins().iadd(self.base, at)
    }
}

/// `memory.init`.
pub(crate) fn init(
    state: &mut FuncState,
    builder: &mut FunctionBuilder<'_>,
    env: &mut FuncEnv<'_>,
    data: u32,
    mem: u32,
) -> Result<()> {
    let mem = MemoryIndex(mem);
    let (dst, src, len) = state.pop3()?;
    let dst = index_to_i64(builder, dst);
    let mem_arg = memory_arg(builder, mem);
    let data = builder.ins().iconst(types::I32, i64::from(data));
    env.call_builtin(builder, BuiltinIndex::memory_init, &[mem_arg, data, dst, src, len])?;
    Ok(())
}

/// `data.drop`.
pub(crate) fn data_drop(builder: &mut FunctionBuilder<'_>, env: &mut FuncEnv<'_>, data: u32) -> Result<()> {
    let data = builder.ins().iconst(types::I32, i64::from(data));
    env.call_builtin(builder, BuiltinIndex::data_drop, &[data])?;
    Ok(())
}
