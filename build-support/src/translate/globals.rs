//! `global.get` / `global.set`.
//!
//! A defined global is a 16-byte `VMGlobalDefinition` inline in the vmctx;
//! an imported one is reached through the pointer the runtime stored at
//! instantiation. Either way the value is at offset 0, little-endian, and
//! references are pointer-sized.

use super::env::FuncEnv;
use super::func_translator::FuncState;
use crate::error::{Error, Result};
use cranelift_codegen::ir::InstBuilder;
use cranelift_frontend::FunctionBuilder;
use kiln_artifact::index::GlobalIndex;
use kiln_artifact::types::GlobalType;

fn global_type(env: &FuncEnv<'_>, global: GlobalIndex) -> Result<GlobalType> {
    env.cx
        .module
        .globals
        .get(global.index())
        .copied()
        .ok_or_else(|| Error::codegen(format!("global {global} out of range")))
}

/// `global.get`.
pub(crate) fn get(
    state: &mut FuncState,
    builder: &mut FunctionBuilder<'_>,
    env: &mut FuncEnv<'_>,
    global: u32,
    offset: usize,
) -> Result<()> {
    let global = GlobalIndex(global);
    let ty = global_type(env, global)?;
    env.cx.lowering.check_v128([ty.content], offset)?;
    let (base, offset) = env.global_location(builder, global)?;
    let flags = env.global_flags(ty.mutable);
    let value = builder.ins().load(env.ir_type(ty.content), flags, base, offset);
    state.push(value);
    Ok(())
}

/// `global.set`.
pub(crate) fn set(
    state: &mut FuncState,
    builder: &mut FunctionBuilder<'_>,
    env: &mut FuncEnv<'_>,
    global: u32,
    offset: usize,
) -> Result<()> {
    let global = GlobalIndex(global);
    let ty = global_type(env, global)?;
    env.cx.lowering.check_v128([ty.content], offset)?;
    let value = state.pop()?;
    let (base, offset) = env.global_location(builder, global)?;
    let flags = env.global_flags(ty.mutable);
    builder.ins().store(flags, value, base, offset);
    Ok(())
}
