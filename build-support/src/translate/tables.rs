//! Tables: `table.get/set/size` inline, `table.grow/fill/copy/init` and
//! `elem.drop` through builtins, and the checks that make `call_indirect`
//! safe (bounds, null, canonical type id).
//!
//! Elements are pointer-sized: a `*const VMFuncRef` for funcref tables, an
//! opaque handle for externref tables; 0 is null. Table indices passed to
//! builtins are in the module's index space (imports first); element
//! indices and lengths are widened to i64 (tables may be 64-bit).

use super::env::{i64_to_index, index_to_i64, FuncEnv};
use super::func_translator::FuncState;
use super::traps::to_ir;
use crate::error::Result;
use cranelift_codegen::ir::{condcodes::IntCC, types, InstBuilder, MemFlagsData, Value};
use cranelift_frontend::FunctionBuilder;
use kiln_artifact::builtins::BuiltinIndex;
use kiln_artifact::index::{TableIndex, TypeIndex};
use kiln_artifact::traps::TrapCode;

/// The address of element `index` of `table`, trapping when it is out of
/// bounds.
fn element_addr(
    builder: &mut FunctionBuilder<'_>,
    env: &mut FuncEnv<'_>,
    table: TableIndex,
    index: Value,
) -> Result<Value> {
    let index = index_to_i64(builder, index);
    let length = env.table_length(builder, table)?;
    let out_of_bounds = builder.ins().icmp(IntCC::UnsignedGreaterThanOrEqual, index, length);
    builder.ins().trapnz(out_of_bounds, to_ir(TrapCode::TableOutOfBounds));
    let base = env.table_base(builder, table)?;
    let scaled = builder.ins().imul_imm_u(index, i64::from(env.ptr.bytes()));
    Ok(builder.ins().iadd(base, scaled))
}

fn table_arg(builder: &mut FunctionBuilder<'_>, table: TableIndex) -> Value {
    builder.ins().iconst(types::I32, i64::from(table.0))
}

/// `table.get`.
pub(crate) fn get(
    state: &mut FuncState,
    builder: &mut FunctionBuilder<'_>,
    env: &mut FuncEnv<'_>,
    table: u32,
) -> Result<()> {
    let index = state.pop()?;
    let addr = element_addr(builder, env, TableIndex(table), index)?;
    let flags = env.table_flags();
    let value = builder.ins().load(env.ptr, flags, addr, 0);
    state.push(value);
    Ok(())
}

/// `table.set`.
pub(crate) fn set(
    state: &mut FuncState,
    builder: &mut FunctionBuilder<'_>,
    env: &mut FuncEnv<'_>,
    table: u32,
) -> Result<()> {
    let (index, value) = state.pop2()?;
    let addr = element_addr(builder, env, TableIndex(table), index)?;
    let flags = env.table_flags();
    builder.ins().store(flags, value, addr, 0);
    Ok(())
}

/// `table.size`: i32, or i64 for a 64-bit table.
pub(crate) fn size(
    state: &mut FuncState,
    builder: &mut FunctionBuilder<'_>,
    env: &mut FuncEnv<'_>,
    table: u32,
) -> Result<()> {
    let table = TableIndex(table);
    let length = env.table_length(builder, table)?;
    let length = i64_to_index(builder, length, env.table64(table));
    state.push(length);
    Ok(())
}

/// `table.grow`: the old size, or -1.
pub(crate) fn grow(
    state: &mut FuncState,
    builder: &mut FunctionBuilder<'_>,
    env: &mut FuncEnv<'_>,
    table: u32,
) -> Result<()> {
    let table = TableIndex(table);
    let (init, delta) = state.pop2()?;
    let delta = index_to_i64(builder, delta);
    let t = table_arg(builder, table);
    let old = env.call_builtin_value(builder, BuiltinIndex::table_grow, &[t, delta, init])?;
    let old = i64_to_index(builder, old, env.table64(table));
    state.push(old);
    Ok(())
}

/// `table.fill`.
pub(crate) fn fill(
    state: &mut FuncState,
    builder: &mut FunctionBuilder<'_>,
    env: &mut FuncEnv<'_>,
    table: u32,
) -> Result<()> {
    let (dst, value, len) = state.pop3()?;
    let dst = index_to_i64(builder, dst);
    let len = index_to_i64(builder, len);
    let t = table_arg(builder, TableIndex(table));
    env.call_builtin(builder, BuiltinIndex::table_fill, &[t, dst, value, len])?;
    Ok(())
}

/// `table.copy`.
pub(crate) fn copy(
    state: &mut FuncState,
    builder: &mut FunctionBuilder<'_>,
    env: &mut FuncEnv<'_>,
    dst_table: u32,
    src_table: u32,
) -> Result<()> {
    let (dst, src, len) = state.pop3()?;
    let dst = index_to_i64(builder, dst);
    let src = index_to_i64(builder, src);
    let len = index_to_i64(builder, len);
    let d = table_arg(builder, TableIndex(dst_table));
    let s = table_arg(builder, TableIndex(src_table));
    env.call_builtin(builder, BuiltinIndex::table_copy, &[d, s, dst, src, len])?;
    Ok(())
}

/// `table.init`.
pub(crate) fn init(
    state: &mut FuncState,
    builder: &mut FunctionBuilder<'_>,
    env: &mut FuncEnv<'_>,
    elem: u32,
    table: u32,
) -> Result<()> {
    let (dst, src, len) = state.pop3()?;
    let dst = index_to_i64(builder, dst);
    let t = table_arg(builder, TableIndex(table));
    let e = builder.ins().iconst(types::I32, i64::from(elem));
    env.call_builtin(builder, BuiltinIndex::table_init, &[t, e, dst, src, len])?;
    Ok(())
}

/// `elem.drop`.
pub(crate) fn elem_drop(builder: &mut FunctionBuilder<'_>, env: &mut FuncEnv<'_>, elem: u32) -> Result<()> {
    let e = builder.ins().iconst(types::I32, i64::from(elem));
    env.call_builtin(builder, BuiltinIndex::elem_drop, &[e])?;
    Ok(())
}

/// The `VMFuncRef` that `call_indirect` through `table` at `index` may call
/// with signature `ty`: traps when the index is out of bounds, the element
/// is null, or its canonical type id is not `ty`'s.
pub(crate) fn checked_funcref(
    builder: &mut FunctionBuilder<'_>,
    env: &mut FuncEnv<'_>,
    table: TableIndex,
    index: Value,
    ty: TypeIndex,
) -> Result<Value> {
    let addr = element_addr(builder, env, table, index)?;
    let flags = env.table_flags();
    let funcref = builder.ins().load(env.ptr, flags, addr, 0);
    builder.ins().trapz(funcref, to_ir(TrapCode::IndirectCallToNull));
    let expected = env.canonical_type_id(builder, ty);
    // A VMFuncRef never changes once published; not movable above the null
    // check.
    let actual = builder.ins().load(
        types::I32,
        MemFlagsData::trusted().with_readonly(),
        funcref,
        env.cx.offsets.func_ref_type_id() as i32,
    );
    let mismatch = builder.ins().icmp(IntCC::NotEqual, actual, expected);
    if env.type_is_final(ty) {
        // No other type is a subtype of a final one.
        builder.ins().trapnz(mismatch, to_ir(TrapCode::BadSignature));
    } else {
        // A subtype of the expected type is a match too: asked of the
        // runtime's registry, off the fast path.
        let slow = builder.create_block();
        let done = builder.create_block();
        builder.ins().brif(mismatch, slow, &[], done, &[]);
        builder.set_cold_block(slow);
        builder.seal_block(slow);
        builder.switch_to_block(slow);
        env.call_builtin(builder, BuiltinIndex::is_subtype, &[actual, expected])?;
        builder.ins().jump(done, &[]);
        builder.seal_block(done);
        builder.switch_to_block(done);
    }
    Ok(funcref)
}
