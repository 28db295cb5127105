//! Exception handling: `throw`, `throw_ref`, `try_table` and the legacy
//! `try`/`catch`/`catch_all`/`rethrow`/`delegate`.
//!
//! **Handlers are Cranelift exception tables.** Every call made inside a
//! `try_table` (or legacy `try`) is a `try_call` whose table lists the
//! handlers in effect there, innermost first: each clause's module tag
//! index (`ExceptionTag`) or a catch-all, with its landing pad, after a
//! dynamic-context entry holding this function's vmctx — the runtime
//! resolves the tag indices in that instance. A `try_call` clobbers every
//! register on its exceptional edge, so a landing pad needs only the stack
//! and frame pointers the unwinder restores, and the exception object in
//! the first payload register. Handlers after a catch-all can never run
//! and are left out (Cranelift also expects a catch-all last).
//!
//! **Throwing** allocates the exception object with the `exn_new` builtin,
//! writes the values into it (layout: `kiln_artifact::vmctx::exn`) and
//! calls the module's throw stub — a function of the wasm convention, so
//! the call can be a `try_call` with this frame's handlers. The stub passes
//! its own frame pointer to the `throw` builtin, which walks the frames
//! from the stub's caller outwards (`runtime/src/vm/throw.rs`).
//!
//! **Landing pads** (one per clause, shared by every call of the
//! `try_table`) load the tag's values from the object and branch to the
//! clause's label; `catch_ref`/`catch_all_ref` also pass the `exnref` and
//! mark the object as referenced, `catch`/`catch_all` release it (freed
//! unless something holds it). A legacy clause holds its exception while it
//! runs, for `rethrow`.
//!
//! **Legacy `try`** learns its clauses only after its body, so the body's
//! calls all land in one *dispatch* block (a catch-all). Each clause adds a
//! tag test (`exn_is` builtin) to the chain that starts there; when no
//! clause matches, the chain rethrows with the handlers outside the `try`.
//! `delegate L` rethrows from the dispatch block with the handlers in
//! effect at label `L`.

use super::control::{self, FrameKind};
use super::env::FuncEnv;
use super::func_translator::FuncState;
use super::traps::to_ir;
use crate::error::{Error, Result};
use crate::trampolines::NS_THROW_STUB;
use cranelift_codegen::ir::{
    self, BlockArg, ExceptionTableData, ExceptionTableItem, ExceptionTag, ExtFuncData, ExternalName, InstBuilder,
    UserExternalName, Value,
};
use cranelift_frontend::FunctionBuilder;
use kiln_artifact::builtins::BuiltinIndex;
use kiln_artifact::index::TagIndex;
use kiln_artifact::traps::TrapCode;
use kiln_artifact::types::FuncType;
use kiln_artifact::vmctx::{exn, VAL_RAW_SIZE};
use wasmparser::{BlockType, Catch};

/// The handlers one open `try_table` or legacy `try` adds.
#[derive(Debug, Clone)]
pub(crate) struct Scope {
    /// Index in `FuncState::control` of the frame the scope belongs to.
    pub frame: usize,
    /// `(tag or None for all, landing pad)` in match order.
    pub clauses: Vec<(Option<u32>, ir::Block)>,
}

/// The handlers in effect for a call, innermost first, considering only
/// scopes of frames at index `up_to` or below; cut after the first
/// catch-all.
fn handlers(state: &FuncState, up_to: usize) -> Vec<(Option<u32>, ir::Block)> {
    let mut out = Vec::new();
    for scope in state.scopes.iter().rev().filter(|s| s.frame <= up_to) {
        for &(tag, block) in &scope.clauses {
            out.push((tag, block));
            if tag.is_none() {
                return out;
            }
        }
    }
    out
}

/// A call's callee, for [`call`].
pub(crate) enum Target {
    /// A colocated function.
    Direct(ir::FuncRef),
    /// Code at an address, of a signature.
    Indirect(ir::SigRef, Value),
}

/// Make a (non-tail) call with the handlers in effect here: a plain call
/// outside any `try`, a `try_call` inside one. Returns the results.
pub(crate) fn call(
    state: &FuncState,
    builder: &mut FunctionBuilder<'_>,
    env: &FuncEnv<'_>,
    target: Target,
    args: &[Value],
) -> Vec<Value> {
    call_with(handlers(state, usize::MAX), builder, env, target, args)
}

fn call_with(
    handlers: Vec<(Option<u32>, ir::Block)>,
    builder: &mut FunctionBuilder<'_>,
    env: &FuncEnv<'_>,
    target: Target,
    args: &[Value],
) -> Vec<Value> {
    if handlers.is_empty() {
        let call = match target {
            Target::Direct(f) => builder.ins().call(f, args),
            Target::Indirect(sig, code) => builder.ins().call_indirect(sig, code, args),
        };
        return builder.inst_results(call).to_vec();
    }
    let sig = match target {
        Target::Direct(f) => builder.func.dfg.ext_funcs[f].signature,
        Target::Indirect(sig, _) => sig,
    };
    let returns: Vec<ir::Type> = builder.func.dfg.signatures[sig].returns.iter().map(|r| r.value_type).collect();
    let normal = builder.create_block();
    for &t in &returns {
        builder.append_block_param(normal, t);
    }
    let ret_args: Vec<BlockArg> = (0..returns.len() as u32).map(BlockArg::TryCallRet).collect();
    let dfg = &mut builder.func.dfg;
    let normal_call = dfg.block_call(normal, &ret_args);
    let mut items = vec![ExceptionTableItem::Context(env.vmctx)];
    for (tag, landing) in handlers {
        let to = dfg.block_call(landing, &[BlockArg::TryCallExn(0)]);
        items.push(match tag {
            Some(t) => ExceptionTableItem::Tag(ExceptionTag::from_u32(t), to),
            None => ExceptionTableItem::Default(to),
        });
    }
    let table = dfg.exception_tables.push(ExceptionTableData::new(sig, normal_call, items));
    match target {
        Target::Direct(f) => builder.ins().try_call(f, args, table),
        Target::Indirect(_, code) => builder.ins().try_call_indirect(code, args, table),
    };
    builder.seal_block(normal);
    builder.switch_to_block(normal);
    builder.block_params(normal).to_vec()
}

/// The module's throw stub: `(vmctx, vmctx, exn)` in the wasm convention.
fn throw_stub(builder: &mut FunctionBuilder<'_>, env: &mut FuncEnv<'_>) -> ir::FuncRef {
    if let Some(f) = env.cache.throw_stub {
        return f;
    }
    let signature = builder.import_signature(crate::abi::throw_stub_signature(env.cx.isa));
    let name = builder.func.declare_imported_user_function(UserExternalName { namespace: NS_THROW_STUB, index: 0 });
    let f = builder.import_function(ExtFuncData {
        name: ExternalName::User(name),
        signature,
        colocated: true,
        patchable: false,
    });
    env.cache.throw_stub = Some(f);
    f
}

/// Throw the exception object `exn` with the handlers `handlers`. Leaves
/// the position unreachable.
fn throw_with(
    state: &mut FuncState,
    builder: &mut FunctionBuilder<'_>,
    env: &mut FuncEnv<'_>,
    exn: Value,
    handlers: Vec<(Option<u32>, ir::Block)>,
) {
    let stub = throw_stub(builder, env);
    let vmctx = env.vmctx;
    call_with(handlers, builder, env, Target::Direct(stub), &[vmctx, vmctx, exn]);
    // The stub never returns.
    builder.ins().trap(to_ir(TrapCode::UnreachableCodeReached));
    state.reachable = false;
}

fn tag_type<'a>(env: &FuncEnv<'a>, tag: u32) -> Result<&'a FuncType> {
    env.cx.module.tag_type(TagIndex(tag)).ok_or_else(|| Error::codegen(format!("tag {tag} has no type")))
}

/// `throw $tag`.
pub(crate) fn throw(
    state: &mut FuncState,
    builder: &mut FunctionBuilder<'_>,
    env: &mut FuncEnv<'_>,
    tag: u32,
) -> Result<()> {
    let ty = tag_type(env, tag)?;
    let n = ty.params.len();
    let tag_value = builder.ins().iconst(ir::types::I32, i64::from(tag));
    let exn = env.call_builtin_value(builder, BuiltinIndex::exn_new, &[tag_value])?;
    for (i, &v) in state.peekn(n)?.iter().enumerate() {
        builder.ins().store(FuncEnv::return_area_flags(), v, exn, value_offset(i));
    }
    state.popn(n)?;
    throw_with(state, builder, env, exn, handlers(state, usize::MAX));
    Ok(())
}

/// `throw_ref`.
pub(crate) fn throw_ref(state: &mut FuncState, builder: &mut FunctionBuilder<'_>, env: &mut FuncEnv<'_>) -> Result<()> {
    let exn = state.pop()?;
    builder.ins().trapz(exn, to_ir(TrapCode::NullReference));
    throw_with(state, builder, env, exn, handlers(state, usize::MAX));
    Ok(())
}

fn value_offset(i: usize) -> i32 {
    (exn::VALUES + i as u32 * VAL_RAW_SIZE) as i32
}

/// The values of an exception of tag `tag`, loaded from `exn`.
fn load_values(builder: &mut FunctionBuilder<'_>, env: &FuncEnv<'_>, tag: u32, exn: Value) -> Result<Vec<Value>> {
    let ty = tag_type(env, tag)?;
    Ok(ty
        .params
        .iter()
        .enumerate()
        .map(|(i, &p)| builder.ins().load(env.ir_type(p), FuncEnv::return_area_flags(), exn, value_offset(i)))
        .collect())
}

/// `try_table`: the frame, and a landing pad per clause (filled at `end`).
pub(crate) fn try_table(
    state: &mut FuncState,
    builder: &mut FunctionBuilder<'_>,
    env: &FuncEnv<'_>,
    table: &wasmparser::TryTable,
    offset: usize,
) -> Result<()> {
    let (sig, dest) = control::destination(builder, env, table.ty, offset)?;
    let mut clauses = Vec::with_capacity(table.catches.len());
    for c in &table.catches {
        let tag = match *c {
            Catch::One { tag, .. } | Catch::OneRef { tag, .. } => Some(tag),
            Catch::All { .. } | Catch::AllRef { .. } => None,
        };
        let landing = builder.create_block();
        builder.append_block_param(landing, env.ptr);
        clauses.push((tag, landing));
    }
    control::push_frame(state, FrameKind::TryTable, dest, sig)?;
    state.scopes.push(Scope { frame: state.control.len() - 1, clauses });
    state.try_tables.push(table.catches.clone());
    Ok(())
}

/// The `end` of a `try_table` (the innermost frame), reached or not: close
/// the body, fill the landing pads, then end the frame as a block.
pub(crate) fn end_try_table(
    state: &mut FuncState,
    builder: &mut FunctionBuilder<'_>,
    env: &mut FuncEnv<'_>,
) -> Result<()> {
    close_body(state, builder)?;
    let scope = state.scopes.pop().ok_or_else(|| Error::codegen("try_table without handlers"))?;
    let catches = state.try_tables.pop().ok_or_else(|| Error::codegen("try_table without clauses"))?;
    for (c, &(_, landing)) in catches.iter().zip(&scope.clauses) {
        builder.seal_block(landing);
        builder.switch_to_block(landing);
        let exn_value = builder.block_params(landing)[0];
        // Labels of the clauses count from outside the try_table.
        let (depth, mut values) = match *c {
            Catch::One { tag, label } | Catch::OneRef { tag, label } => {
                (label + 1, load_values(builder, env, tag, exn_value)?)
            }
            Catch::All { label } | Catch::AllRef { label } => (label + 1, Vec::new()),
        };
        if matches!(c, Catch::OneRef { .. } | Catch::AllRef { .. }) {
            add_hold(builder, exn_value, exn::REFERENCED, true);
            values.push(exn_value);
        } else {
            env.call_builtin(builder, BuiltinIndex::exn_release, &[exn_value])?;
        }
        control::branch_with(state, builder, env, depth, &values)?;
    }
    control::end(state, builder, env)
}

/// Mark `exn` as held: `bor` sets `bits`, else adds them (a negative
/// `bits` as two's complement releases a hold).
fn add_hold(builder: &mut FunctionBuilder<'_>, exn_value: Value, bits: u32, bor: bool) {
    let flags = ir::MemFlagsData::trusted();
    let holds = builder.ins().load(ir::types::I32, flags, exn_value, exn::HOLDS as i32);
    let holds = if bor {
        builder.ins().bor_imm_u(holds, i64::from(bits))
    } else {
        builder.ins().iadd_imm_s(holds, i64::from(bits as i32))
    };
    builder.ins().store(flags, holds, exn_value, exn::HOLDS as i32);
}

/// If the innermost frame's current arm is reachable, end it with a jump
/// to the frame's destination, so that other blocks can be filled next.
fn close_body(state: &mut FuncState, builder: &mut FunctionBuilder<'_>) -> Result<()> {
    if !state.reachable {
        return Ok(());
    }
    let frame = state.control.last_mut().ok_or_else(|| Error::codegen("end without a frame"))?;
    frame.dest_used = true;
    let (dest, n) = (frame.dest, frame.num_results);
    control::jump(builder, dest, state.peekn(n)?);
    state.reachable = false;
    Ok(())
}

/// Legacy `try`.
pub(crate) fn try_(
    state: &mut FuncState,
    builder: &mut FunctionBuilder<'_>,
    env: &FuncEnv<'_>,
    ty: BlockType,
    offset: usize,
) -> Result<()> {
    let (sig, dest) = control::destination(builder, env, ty, offset)?;
    let dispatch = builder.create_block();
    builder.append_block_param(dispatch, env.ptr);
    control::push_frame(state, FrameKind::LegacyTry { dispatch, exn: None, next_test: Some(dispatch) }, dest, sig)?;
    state.scopes.push(Scope { frame: state.control.len() - 1, clauses: vec![(None, dispatch)] });
    Ok(())
}

/// The innermost frame as a legacy `try`.
fn legacy(state: &FuncState) -> Result<(ir::Block, Option<Value>, Option<ir::Block>)> {
    match state.control.last().map(|f| f.kind) {
        Some(FrameKind::LegacyTry { dispatch, exn, next_test }) => Ok((dispatch, exn, next_test)),
        _ => Err(Error::codegen("catch outside a try")),
    }
}

fn set_legacy(state: &mut FuncState, exn: Option<Value>, next_test: Option<ir::Block>) -> Result<()> {
    match state.control.last_mut().map(|f| &mut f.kind) {
        Some(FrameKind::LegacyTry { exn: e, next_test: n, .. }) => {
            *e = exn;
            *n = next_test;
            Ok(())
        }
        _ => Err(Error::codegen("catch outside a try")),
    }
}

/// End the body or the previous clause of the innermost legacy `try`;
/// returns the exception (once the body is over, the dispatch block's).
fn end_arm(state: &mut FuncState, builder: &mut FunctionBuilder<'_>, env: &mut FuncEnv<'_>) -> Result<Value> {
    let (dispatch, exn, _) = legacy(state)?;
    if let Some(exn) = exn {
        // A clause that falls through is done with the exception. (One
        // left by a branch keeps its hold: freed once the call into the
        // store has returned, never too early.)
        if state.reachable {
            add_hold(builder, exn, u32::MAX, false);
            env.call_builtin(builder, BuiltinIndex::exn_release, &[exn])?;
        }
        close_body(state, builder)?;
        return Ok(exn);
    }
    close_body(state, builder)?;
    // The body is over: its handlers no longer apply.
    state.scopes.pop().ok_or_else(|| Error::codegen("try without handlers"))?;
    builder.seal_block(dispatch);
    Ok(builder.block_params(dispatch)[0])
}

/// Legacy `catch $tag` (`Some`) or `catch_all` (`None`), reached or not.
pub(crate) fn catch(
    state: &mut FuncState,
    builder: &mut FunctionBuilder<'_>,
    env: &mut FuncEnv<'_>,
    tag: Option<u32>,
) -> Result<()> {
    let exn = end_arm(state, builder, env)?;
    let (_, _, next_test) = legacy(state)?;
    let test = next_test.ok_or_else(|| Error::codegen("catch after catch_all"))?;
    builder.switch_to_block(test);
    let clause = builder.create_block();
    let next = match tag {
        Some(t) => {
            let t = builder.ins().iconst(ir::types::I32, i64::from(t));
            let hit = env.call_builtin_value(builder, BuiltinIndex::exn_is, &[exn, t])?;
            let next = builder.create_block();
            builder.ins().brif(hit, clause, &[], next, &[]);
            builder.seal_block(next);
            Some(next)
        }
        None => {
            builder.ins().jump(clause, &[]);
            None
        }
    };
    builder.seal_block(clause);
    builder.switch_to_block(clause);
    // `rethrow` may need the exception until the clause ends, even if a
    // `catch` inside the clause catches it meanwhile.
    add_hold(builder, exn, 1, false);
    let frame = *state.control.last().ok_or_else(|| Error::codegen("catch without a frame"))?;
    state.stack.truncate(frame.height);
    if let Some(t) = tag {
        let values = load_values(builder, env, t, exn)?;
        state.stack.extend(values);
    }
    state.reachable = true;
    set_legacy(state, Some(exn), next)
}

/// The `end` of a legacy `try`, reached or not.
pub(crate) fn end_try(state: &mut FuncState, builder: &mut FunctionBuilder<'_>, env: &mut FuncEnv<'_>) -> Result<()> {
    let exn = end_arm(state, builder, env)?;
    let (_, _, next_test) = legacy(state)?;
    if let Some(test) = next_test {
        // No clause matched: on to the handlers outside the try.
        builder.switch_to_block(test);
        throw_with(state, builder, env, exn, handlers(state, usize::MAX));
    }
    control::end(state, builder, env)
}

/// `delegate label`, reached or not: the body's exceptions go to the
/// handlers in effect at `label` (counted from outside the `try`).
pub(crate) fn delegate(
    state: &mut FuncState,
    builder: &mut FunctionBuilder<'_>,
    env: &mut FuncEnv<'_>,
    label: u32,
) -> Result<()> {
    let exn = end_arm(state, builder, env)?;
    let (dispatch, _, _) = legacy(state)?;
    builder.switch_to_block(dispatch);
    let outside = state.control.len() - 1;
    let up_to = outside
        .checked_sub(1 + label as usize)
        .ok_or_else(|| Error::codegen(format!("delegate label {label} out of range")))?;
    throw_with(state, builder, env, exn, handlers(state, up_to));
    set_legacy(state, None, None)?;
    control::end(state, builder, env)
}

/// `rethrow label`: throw again the exception caught by the legacy `catch`
/// clause at `label`.
pub(crate) fn rethrow(
    state: &mut FuncState,
    builder: &mut FunctionBuilder<'_>,
    env: &mut FuncEnv<'_>,
    label: u32,
) -> Result<()> {
    let exn = match state.frame(label)?.kind {
        FrameKind::LegacyTry { exn: Some(exn), .. } => exn,
        _ => return Err(Error::codegen(format!("rethrow {label} outside a catch"))),
    };
    throw_with(state, builder, env, exn, handlers(state, usize::MAX));
    Ok(())
}
