//! Structured control flow: `block`, `loop`, `if`/`else`, `end`, `br`,
//! `br_if`, `br_table`, `return`.
//!
//! Each open construct has a [`ControlFrame`]. Its *destination* is the
//! Cranelift block after its `end`, whose parameters are the construct's
//! results; a `loop` also has a *header* whose parameters are its params,
//! the target of branches to the loop. Values on the operand stack below a
//! construct's params are plain SSA values defined before it, so they need
//! no block parameters.
//!
//! * `block` emits nothing: its params stay on the stack.
//! * `if` branches to a *then* and an *else* block; its params, defined
//!   before the branch, are remembered in `FuncState::else_params` and put
//!   back on the stack for the else arm. An `if` without `else` still gets an
//!   else block, which forwards the params as results (validation ensures
//!   they have the same types).
//! * A destination no branch targets is never switched to: when the end of
//!   the construct is reachable, translation simply continues in the current
//!   block with the results on the stack.
//! * `br_table` whose targets take values branches to one edge block per
//!   distinct target, each of which jumps on with the values.

use super::env::FuncEnv;
use super::func_translator::FuncState;
use crate::error::{Error, Result};
use cranelift_codegen::ir::{self, BlockArg, InstBuilder, JumpTableData, Value};
use cranelift_frontend::FunctionBuilder;
use kiln_artifact::index::TypeIndex;
use kiln_artifact::types::FuncType;
use wasmparser::BlockType;

/// What kind of construct a frame is.
#[derive(Debug, Clone, Copy)]
pub(crate) enum FrameKind {
    /// The function body: its end returns.
    Function,
    /// `block`.
    Block,
    /// `loop`: branches go to `header`.
    Loop {
        /// The loop's first block, with the loop's params as parameters.
        header: ir::Block,
    },
    /// `try_table`: its handlers are a scope in `FuncState::scopes`.
    TryTable,
    /// Legacy `try`: its body's calls land in `dispatch`, which the
    /// `catch` clauses fill with tag tests (see `exceptions.rs`).
    LegacyTry {
        /// Landing pad of every call in the body, with the exception.
        dispatch: ir::Block,
        /// The caught exception, once in a `catch`/`catch_all` clause (for
        /// `rethrow`).
        exn: Option<Value>,
        /// Where the next clause's tag test goes; `None` after `catch_all`.
        next_test: Option<ir::Block>,
    },
    /// `if`.
    If {
        /// Where the condition goes when false.
        else_block: ir::Block,
        /// Whether the `else` was seen.
        else_seen: bool,
        /// Where this `if`'s params start in `FuncState::else_params`.
        params_at: usize,
    },
}

/// An open construct.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ControlFrame {
    /// The kind.
    pub kind: FrameKind,
    /// The block after `end`, with the results as parameters.
    pub dest: ir::Block,
    /// How many params the construct takes from the stack.
    pub num_params: usize,
    /// How many results it leaves.
    pub num_results: usize,
    /// The stack height below the construct's params.
    pub height: usize,
    /// Whether some branch goes to `dest` (so it must be switched to).
    pub dest_used: bool,
}

impl ControlFrame {
    /// The frame of the function body.
    pub fn function(exit: ir::Block, num_results: usize) -> Self {
        // The function's params are locals, not stack values.
        ControlFrame { kind: FrameKind::Function, dest: exit, num_params: 0, num_results, height: 0, dest_used: false }
    }

    /// Where a branch to this frame goes, with how many values; marks the
    /// destination used.
    fn branch_target(&mut self) -> (ir::Block, usize) {
        match self.kind {
            FrameKind::Loop { header } => (header, self.num_params),
            _ => {
                self.dest_used = true;
                (self.dest, self.num_results)
            }
        }
    }
}

/// The params and results of a block type.
#[derive(Clone, Copy)]
pub(crate) enum BlockSig<'a> {
    Empty,
    Result(ir::Type),
    Func(&'a FuncType),
}

impl<'a> BlockSig<'a> {
    pub(crate) fn of(env: &FuncEnv<'a>, ty: BlockType, offset: usize) -> Result<Self> {
        Ok(match ty {
            BlockType::Empty => BlockSig::Empty,
            BlockType::Type(t) => {
                if t == wasmparser::ValType::V128 {
                    env.cx.lowering.check_v128([kiln_artifact::types::ValType::V128], offset)?;
                }
                BlockSig::Result(env.wasm_type(t))
            }
            BlockType::FuncType(i) => {
                let f = env.func_type(TypeIndex(i))?;
                env.cx.lowering.check_v128(f.params.iter().chain(f.results.iter()).copied(), offset)?;
                BlockSig::Func(f)
            }
        })
    }

    fn num_params(self) -> usize {
        match self {
            BlockSig::Func(f) => f.params.len(),
            _ => 0,
        }
    }

    fn num_results(self) -> usize {
        match self {
            BlockSig::Empty => 0,
            BlockSig::Result(_) => 1,
            BlockSig::Func(f) => f.results.len(),
        }
    }

    fn add_params(self, builder: &mut FunctionBuilder<'_>, env: &FuncEnv<'_>, block: ir::Block) {
        if let BlockSig::Func(f) = self {
            for &t in f.params.iter() {
                builder.append_block_param(block, env.ir_type(t));
            }
        }
    }

    pub(crate) fn add_results(self, builder: &mut FunctionBuilder<'_>, env: &FuncEnv<'_>, block: ir::Block) {
        match self {
            BlockSig::Empty => {}
            BlockSig::Result(t) => {
                builder.append_block_param(block, t);
            }
            BlockSig::Func(f) => {
                for &t in f.results.iter() {
                    builder.append_block_param(block, env.ir_type(t));
                }
            }
        }
    }
}

fn args(values: &[Value]) -> Vec<BlockArg> {
    values.iter().map(|&v| BlockArg::Value(v)).collect()
}

pub(crate) fn jump(builder: &mut FunctionBuilder<'_>, block: ir::Block, values: &[Value]) {
    builder.ins().jump(block, &args(values));
}

/// `block`.
pub(crate) fn block(
    state: &mut FuncState,
    builder: &mut FunctionBuilder<'_>,
    env: &FuncEnv<'_>,
    ty: BlockType,
    offset: usize,
) -> Result<()> {
    let (sig, dest) = destination(builder, env, ty, offset)?;
    push_frame(state, FrameKind::Block, dest, sig)
}

/// The signature of a construct of block type `ty`, and its destination:
/// a new block with the results as parameters.
pub(crate) fn destination<'a>(
    builder: &mut FunctionBuilder<'_>,
    env: &FuncEnv<'a>,
    ty: BlockType,
    offset: usize,
) -> Result<(BlockSig<'a>, ir::Block)> {
    let sig = BlockSig::of(env, ty, offset)?;
    let dest = builder.create_block();
    sig.add_results(builder, env, dest);
    Ok((sig, dest))
}

/// `loop`.
pub(crate) fn loop_(
    state: &mut FuncState,
    builder: &mut FunctionBuilder<'_>,
    env: &mut FuncEnv<'_>,
    ty: BlockType,
    offset: usize,
) -> Result<()> {
    let sig = BlockSig::of(env, ty, offset)?;
    let header = builder.create_block();
    sig.add_params(builder, env, header);
    let dest = builder.create_block();
    sig.add_results(builder, env, dest);
    let n = sig.num_params();
    jump(builder, header, state.peekn(n)?);
    state.popn(n)?;
    // Sealed at `end`, once every back edge is known.
    builder.switch_to_block(header);
    // Every iteration passes the fuel and epoch checks, so no loop runs
    // past its budget or deadline.
    super::interrupts::check(env, builder)?;
    state.stack.extend_from_slice(builder.block_params(header));
    push_frame(state, FrameKind::Loop { header }, dest, sig)
}

/// `if`.
pub(crate) fn if_(
    state: &mut FuncState,
    builder: &mut FunctionBuilder<'_>,
    env: &FuncEnv<'_>,
    ty: BlockType,
    offset: usize,
) -> Result<()> {
    let sig = BlockSig::of(env, ty, offset)?;
    let condition = state.pop()?;
    let then_block = builder.create_block();
    let else_block = builder.create_block();
    let dest = builder.create_block();
    sig.add_results(builder, env, dest);
    builder.ins().brif(condition, then_block, &[], else_block, &[]);
    builder.seal_block(then_block);
    builder.seal_block(else_block);
    let params_at = state.else_params.len();
    let first = state.stack.len().checked_sub(sig.num_params()).ok_or_else(|| Error::codegen("if params missing"))?;
    state.else_params.extend_from_slice(&state.stack[first..]);
    builder.switch_to_block(then_block);
    push_frame(state, FrameKind::If { else_block, else_seen: false, params_at }, dest, sig)
}

pub(crate) fn push_frame(state: &mut FuncState, kind: FrameKind, dest: ir::Block, sig: BlockSig<'_>) -> Result<()> {
    let num_params = sig.num_params();
    let height = state.stack.len().checked_sub(num_params).ok_or_else(|| Error::codegen("block params missing"))?;
    state.control.push(ControlFrame {
        kind,
        dest,
        num_params,
        num_results: sig.num_results(),
        height,
        dest_used: false,
    });
    Ok(())
}

/// `else`, reached or not: closes the then arm, opens the else arm (which
/// is reachable whenever its `if` was, i.e. always for a frame that exists).
pub(crate) fn else_(state: &mut FuncState, builder: &mut FunctionBuilder<'_>) -> Result<()> {
    let reachable = state.reachable;
    let frame = state.control.last_mut().ok_or_else(|| Error::codegen("else without a frame"))?;
    let FrameKind::If { else_block, else_seen: false, params_at } = frame.kind else {
        return Err(Error::codegen("else without an open if"));
    };
    frame.kind = FrameKind::If { else_block, else_seen: true, params_at };
    let frame = *frame;
    if reachable {
        jump(builder, frame.dest, state.peekn(frame.num_results)?);
        if let Some(f) = state.control.last_mut() {
            f.dest_used = true;
        }
    }
    state.stack.truncate(frame.height);
    let params = state
        .else_params
        .get(params_at..params_at + frame.num_params)
        .ok_or_else(|| Error::codegen("if params missing"))?;
    state.stack.extend_from_slice(params);
    builder.switch_to_block(else_block);
    state.reachable = true;
    Ok(())
}

/// `end` of a frame, reached or not.
pub(crate) fn end(state: &mut FuncState, builder: &mut FunctionBuilder<'_>, env: &mut FuncEnv<'_>) -> Result<()> {
    let mut frame = state.control.pop().ok_or_else(|| Error::codegen("end without a frame"))?;
    let mut end_reachable = state.reachable;

    match frame.kind {
        FrameKind::Loop { header } => builder.seal_block(header),
        FrameKind::If { else_block, else_seen, params_at } => {
            if !else_seen {
                // The implicit else arm forwards the params as results.
                if end_reachable {
                    jump(builder, frame.dest, state.peekn(frame.num_results)?);
                    end_reachable = false;
                }
                builder.switch_to_block(else_block);
                let params = state
                    .else_params
                    .get(params_at..params_at + frame.num_params)
                    .ok_or_else(|| Error::codegen("if params missing"))?;
                jump(builder, frame.dest, params);
                frame.dest_used = true;
            }
            state.else_params.truncate(params_at);
        }
        FrameKind::Block | FrameKind::Function | FrameKind::TryTable | FrameKind::LegacyTry { .. } => {}
    }

    if !frame.dest_used {
        if end_reachable {
            // Keep the results, drop what the construct left below them.
            let top =
                state.stack.len().checked_sub(frame.num_results).ok_or_else(|| Error::codegen("results missing"))?;
            if top < frame.height {
                return Err(Error::codegen("results below the frame"));
            }
            state.stack.drain(frame.height..top);
        } else {
            state.stack.truncate(frame.height);
        }
    } else {
        if end_reachable {
            jump(builder, frame.dest, state.peekn(frame.num_results)?);
        }
        builder.switch_to_block(frame.dest);
        state.stack.truncate(frame.height);
        state.stack.extend_from_slice(builder.block_params(frame.dest));
        end_reachable = true;
    }
    builder.seal_block(frame.dest);
    state.reachable = end_reachable;

    if let FrameKind::Function = frame.kind {
        if state.reachable {
            let results = state.peekn(frame.num_results)?.to_vec();
            emit_return(builder, env, &results)?;
            state.reachable = false;
        }
    }
    Ok(())
}

/// `br`.
pub(crate) fn br(
    state: &mut FuncState,
    builder: &mut FunctionBuilder<'_>,
    env: &mut FuncEnv<'_>,
    depth: u32,
) -> Result<()> {
    if depth as usize + 1 == state.control.len() {
        // To the function's end: return right here.
        return return_(state, builder, env);
    }
    let (target, n) = state.frame(depth)?.branch_target();
    jump(builder, target, state.peekn(n)?);
    state.reachable = false;
    Ok(())
}

/// Branch to the frame `depth` levels out with `values` (its arity): a
/// jump, or a return when the frame is the function's.
pub(crate) fn branch_with(
    state: &mut FuncState,
    builder: &mut FunctionBuilder<'_>,
    env: &mut FuncEnv<'_>,
    depth: u32,
    values: &[Value],
) -> Result<()> {
    if depth as usize + 1 == state.control.len() {
        return emit_return(builder, env, values);
    }
    let (target, _) = state.frame(depth)?.branch_target();
    jump(builder, target, values);
    Ok(())
}

/// `br_if`.
pub(crate) fn br_if(state: &mut FuncState, builder: &mut FunctionBuilder<'_>, depth: u32) -> Result<()> {
    let condition = state.pop()?;
    branch_if(state, builder, depth, condition, true)
}

/// `br_on_null`: branch (without the reference) if it is null; otherwise
/// go on with it, now known not to be null.
pub(crate) fn br_on_null(state: &mut FuncState, builder: &mut FunctionBuilder<'_>, depth: u32) -> Result<()> {
    let reference = state.pop()?;
    branch_if(state, builder, depth, reference, false)?;
    state.push(reference);
    Ok(())
}

/// `br_on_non_null`: branch with the reference (the last of the target's
/// values) unless it is null; otherwise drop it and go on.
pub(crate) fn br_on_non_null(state: &mut FuncState, builder: &mut FunctionBuilder<'_>, depth: u32) -> Result<()> {
    let reference = state.peek()?;
    branch_if(state, builder, depth, reference, true)?;
    state.pop()?;
    Ok(())
}

/// Branch to frame `depth` with its values from the stack when `value` is
/// non-zero (`nonzero`) or zero (`!nonzero`); otherwise go on in a new
/// block.
fn branch_if(
    state: &mut FuncState,
    builder: &mut FunctionBuilder<'_>,
    depth: u32,
    value: Value,
    nonzero: bool,
) -> Result<()> {
    let (target, n) = state.frame(depth)?.branch_target();
    let values = args(state.peekn(n)?);
    let next = builder.create_block();
    if nonzero {
        builder.ins().brif(value, target, &values, next, &[]);
    } else {
        builder.ins().brif(value, next, &[], target, &values);
    }
    builder.seal_block(next);
    builder.switch_to_block(next);
    Ok(())
}

/// `br_table`. With `landing_pads`, the default is also the table's last
/// entry: Cranelift places landing pads on the table's entries only,
/// assuming the default is reached by a direct branch, but its aarch64
/// lowering clamps the index into the table and reaches the default through
/// it too. An entry equal to the default changes no result.
pub(crate) fn br_table(
    state: &mut FuncState,
    builder: &mut FunctionBuilder<'_>,
    targets: &wasmparser::BrTable<'_>,
    landing_pads: bool,
) -> Result<()> {
    let index = state.pop()?;
    let mut depths = std::mem::take(&mut state.br_targets);
    depths.clear();
    for depth in targets.targets() {
        depths.push(depth?);
    }
    if landing_pads {
        depths.push(targets.default());
    }
    depths.push(targets.default());
    let result = br_table_to(state, builder, index, &depths);
    state.br_targets = depths;
    result
}

/// Branch on `index` to `depths` (the last one is the default).
fn br_table_to(state: &mut FuncState, builder: &mut FunctionBuilder<'_>, index: Value, depths: &[u32]) -> Result<()> {
    let (&default, _) = depths.split_last().ok_or_else(|| Error::codegen("br_table without a default"))?;
    let (_, arity) = state.frame(default)?.branch_target();

    // Cranelift block of each entry, and the edge blocks to fill afterwards.
    let mut blocks = Vec::with_capacity(depths.len());
    let mut edges: Vec<(u32, ir::Block)> = Vec::new();
    for &depth in depths {
        let (target, _) = state.frame(depth)?.branch_target();
        let block = if arity == 0 {
            target
        } else if let Some(&(_, edge)) = edges.iter().find(|(d, _)| *d == depth) {
            edge
        } else {
            let edge = builder.create_block();
            edges.push((depth, edge));
            edge
        };
        blocks.push(block);
    }

    let (&default_block, entries) = blocks.split_last().ok_or_else(|| Error::codegen("br_table without a default"))?;
    let dfg = &mut builder.func.dfg;
    let default_call = dfg.block_call(default_block, &[]);
    let calls: Vec<_> = entries.iter().map(|&b| dfg.block_call(b, &[])).collect();
    let table = builder.create_jump_table(JumpTableData::new(default_call, &calls));
    builder.ins().br_table(index, table);

    let values = args(state.peekn(arity)?);
    for (depth, edge) in edges {
        let (target, _) = state.frame(depth)?.branch_target();
        builder.seal_block(edge);
        builder.switch_to_block(edge);
        builder.ins().jump(target, &values);
    }
    state.reachable = false;
    Ok(())
}

/// `return`.
pub(crate) fn return_(state: &mut FuncState, builder: &mut FunctionBuilder<'_>, env: &mut FuncEnv<'_>) -> Result<()> {
    let results = state.peekn(env.ty.results.len())?.to_vec();
    emit_return(builder, env, &results)?;
    state.reachable = false;
    Ok(())
}

/// Return `results`: natively, or through the return area.
fn emit_return(builder: &mut FunctionBuilder<'_>, env: &mut FuncEnv<'_>, results: &[Value]) -> Result<()> {
    match env.ret_area {
        None => {
            builder.ins().return_(results);
        }
        Some(area) => {
            for (i, &value) in results.iter().enumerate() {
                let at = (i as u32 * kiln_artifact::vmctx::VAL_RAW_SIZE) as i32;
                builder.ins().store(FuncEnv::return_area_flags(), value, area, at);
            }
            builder.ins().return_(&[]);
        }
    }
    Ok(())
}
