//! Operators in unreachable code: after `br`, `br_table`, `return`,
//! `unreachable` or a tail call, until the `else` or `end` that makes code
//! reachable again.
//!
//! They have been validated (the validator types unreachable code too) but
//! produce no code. Only nesting matters: blocks opened here get no frame,
//! just a count (`FuncState::dead_depth`), so that their `end`s are not
//! mistaken for the end of a live frame.

use super::control;
use super::control::FrameKind;
use super::env::FuncEnv;
use super::exceptions;
use super::func_translator::FuncState;
use crate::error::{Error, Result};
use cranelift_frontend::FunctionBuilder;
use wasmparser::Operator;

/// Track `op` in unreachable code.
pub(crate) fn translate_unreachable_operator(
    op: &Operator<'_>,
    offset: usize,
    state: &mut FuncState,
    builder: &mut FunctionBuilder<'_>,
    env: &mut FuncEnv<'_>,
) -> Result<()> {
    match op {
        Operator::Block { .. }
        | Operator::Loop { .. }
        | Operator::If { .. }
        | Operator::TryTable { .. }
        | Operator::Try { .. } => {
            state.dead_depth += 1;
        }
        Operator::Else if state.dead_depth == 0 => control::else_(state, builder)?,
        Operator::Catch { tag_index } if state.dead_depth == 0 => {
            exceptions::catch(state, builder, env, Some(*tag_index))?
        }
        Operator::CatchAll if state.dead_depth == 0 => exceptions::catch(state, builder, env, None)?,
        Operator::Delegate { relative_depth } if state.dead_depth == 0 => {
            exceptions::delegate(state, builder, env, *relative_depth)?
        }
        Operator::End if state.dead_depth == 0 => end(state, builder, env)?,
        Operator::End | Operator::Delegate { .. } => state.dead_depth -= 1,
        _ => {}
    }
    let _ = offset;
    Ok(())
}

/// `end` of the innermost live frame, whatever construct it is.
pub(crate) fn end(state: &mut FuncState, builder: &mut FunctionBuilder<'_>, env: &mut FuncEnv<'_>) -> Result<()> {
    match state.control.last().map(|f| f.kind) {
        Some(FrameKind::TryTable) => exceptions::end_try_table(state, builder, env),
        Some(FrameKind::LegacyTry { .. }) => exceptions::end_try(state, builder, env),
        Some(_) => control::end(state, builder, env),
        None => Err(Error::codegen("end without a frame")),
    }
}
