//! Calls: `call`, `call_indirect`, `call_ref` and their tail-call forms.
//!
//! Every wasm call passes `(callee_vmctx, caller_vmctx, params…)`:
//!
//! | callee | how it is reached | callee_vmctx |
//! |---|---|---|
//! | defined function | colocated `call` of `User { 0, func_index }` | own vmctx |
//! | imported function | `VMFunctionImport::wasm_call` | `VMFunctionImport::vmctx` |
//! | `call_indirect` | `VMFuncRef::wasm_call` after `tables::checked_funcref` | `VMFuncRef::vmctx` |
//! | `call_ref` | `VMFuncRef::wasm_call` after a null check | `VMFuncRef::vmctx` |
//!
//! A callee with several results gets one more argument, the address of
//! this function's return area (`FuncEnv::return_area`), and its results are
//! loaded from there, 16 bytes apart, right after the call. A tail call
//! passes this function's own return area on instead: validation guarantees
//! caller and callee have the same results.

use super::env::FuncEnv;
use super::exceptions;
use super::func_translator::FuncState;
use super::tables;
use super::traps::to_ir;
use crate::error::{Error, Result};
use cranelift_codegen::ir::{self, InstBuilder, MemFlagsData, Value};
use cranelift_frontend::FunctionBuilder;
use kiln_artifact::index::{FuncIndex, TableIndex, TypeIndex};
use kiln_artifact::traps::TrapCode;
use kiln_artifact::types::FuncType;
use kiln_artifact::vmctx::VAL_RAW_SIZE;

/// Whether a call returns to its caller or replaces the caller's frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallKind {
    /// `call`, `call_indirect`.
    Normal,
    /// `return_call`, `return_call_indirect`.
    Tail,
}

enum Callee {
    Direct(ir::FuncRef),
    Indirect(ir::SigRef, Value),
}

/// `call f` / `return_call f`.
pub(crate) fn call(
    state: &mut FuncState,
    builder: &mut FunctionBuilder<'_>,
    env: &mut FuncEnv<'_>,
    func: u32,
    kind: CallKind,
    offset: usize,
) -> Result<()> {
    let func = FuncIndex(func);
    let (ty_index, ty) = env.func_type_of(func)?;
    env.cx.lowering.check_v128(ty.params.iter().chain(ty.results.iter()).copied(), offset)?;
    let (callee, callee_vmctx) = if env.cx.module.is_imported_func(func) {
        let (code, callee_vmctx) = env.imported_func(builder, func);
        (Callee::Indirect(env.wasm_sig(builder, ty_index)?, code), callee_vmctx)
    } else {
        (Callee::Direct(env.direct_callee(builder, func)?), env.vmctx)
    };
    emit(state, builder, env, callee, callee_vmctx, ty, kind)
}

/// `call_indirect (type t) table` / `return_call_indirect`.
pub(crate) fn call_indirect(
    state: &mut FuncState,
    builder: &mut FunctionBuilder<'_>,
    env: &mut FuncEnv<'_>,
    ty: u32,
    table: u32,
    kind: CallKind,
    offset: usize,
) -> Result<()> {
    let ty_index = TypeIndex(ty);
    let ty = env.func_type(ty_index)?;
    env.cx.lowering.check_v128(ty.params.iter().chain(ty.results.iter()).copied(), offset)?;
    let index = state.pop()?;
    let funcref = tables::checked_funcref(builder, env, TableIndex(table), index, ty_index)?;
    call_funcref(state, builder, env, funcref, ty_index, ty, kind)
}

/// `call_ref $t` / `return_call_ref $t`: the callee is a function
/// reference the validator proved is of type `$t` (or a subtype), so only
/// null needs a check.
pub(crate) fn call_ref(
    state: &mut FuncState,
    builder: &mut FunctionBuilder<'_>,
    env: &mut FuncEnv<'_>,
    ty: u32,
    kind: CallKind,
    offset: usize,
) -> Result<()> {
    let ty_index = TypeIndex(ty);
    let ty = env.func_type(ty_index)?;
    env.cx.lowering.check_v128(ty.params.iter().chain(ty.results.iter()).copied(), offset)?;
    let funcref = state.pop()?;
    builder.ins().trapz(funcref, to_ir(TrapCode::NullReference));
    call_funcref(state, builder, env, funcref, ty_index, ty, kind)
}

/// Call the function of a checked, non-null `VMFuncRef` of type `ty`.
fn call_funcref(
    state: &mut FuncState,
    builder: &mut FunctionBuilder<'_>,
    env: &mut FuncEnv<'_>,
    funcref: Value,
    ty_index: TypeIndex,
    ty: &FuncType,
    kind: CallKind,
) -> Result<()> {
    let o = env.cx.offsets;
    // Past the null check; a VMFuncRef never changes once published.
    let flags = MemFlagsData::trusted().with_readonly();
    let code = builder.ins().load(env.ptr, flags, funcref, o.func_ref_wasm_call() as i32);
    let callee_vmctx = builder.ins().load(env.ptr, flags, funcref, o.func_ref_vmctx() as i32);
    let sig = env.wasm_sig(builder, ty_index)?;
    emit(state, builder, env, Callee::Indirect(sig, code), callee_vmctx, ty, kind)
}

fn emit(
    state: &mut FuncState,
    builder: &mut FunctionBuilder<'_>,
    env: &mut FuncEnv<'_>,
    callee: Callee,
    callee_vmctx: Value,
    ty: &FuncType,
    kind: CallKind,
) -> Result<()> {
    let n = ty.params.len();
    let mut args = Vec::with_capacity(n + 3);
    args.push(callee_vmctx);
    args.push(env.vmctx);
    args.extend_from_slice(state.peekn(n)?);
    state.popn(n)?;

    if kind == CallKind::Tail {
        if ty.uses_return_area() {
            let area = env
                .ret_area
                .ok_or_else(|| Error::codegen("tail call with a return area from a function without one"))?;
            args.push(area);
        }
        match callee {
            Callee::Direct(f) => builder.ins().return_call(f, &args),
            Callee::Indirect(sig, code) => builder.ins().return_call_indirect(sig, code, &args),
        };
        state.reachable = false;
        return Ok(());
    }

    let area = if ty.uses_return_area() {
        let area = env.return_area(builder, ty.results.len())?;
        args.push(area);
        Some(area)
    } else {
        None
    };
    // Inside a `try_table` or `try`, a `try_call` with its handlers.
    let target = match callee {
        Callee::Direct(f) => exceptions::Target::Direct(f),
        Callee::Indirect(sig, code) => exceptions::Target::Indirect(sig, code),
    };
    let results = exceptions::call(state, builder, env, target, &args);
    match area {
        None => state.stack.extend_from_slice(&results),
        Some(area) => {
            for (i, &result) in ty.results.iter().enumerate() {
                let at = (i as u32 * VAL_RAW_SIZE) as i32;
                let value = builder.ins().load(env.ir_type(result), FuncEnv::return_area_flags(), area, at);
                state.push(value);
            }
        }
    }
    Ok(())
}
