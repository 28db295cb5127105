//! Operators in unreachable code: after `br`, `br_table`, `return`,
//! `unreachable` or a tail call, until the `else` or `end` that makes code
//! reachable again.
//!
//! They have been validated (the validator types unreachable code too) but
//! produce no code. Only nesting matters: blocks opened here get no frame,
//! just a count (`FuncState::dead_depth`), so that their `end`s are not
//! mistaken for the end of a live frame.

use super::control;
use super::env::FuncEnv;
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
        Operator::Block { .. } | Operator::Loop { .. } | Operator::If { .. } => {
            state.dead_depth += 1;
        }
        Operator::Else if state.dead_depth == 0 => control::else_(state, builder)?,
        Operator::End if state.dead_depth == 0 => control::end(state, builder, env)?,
        Operator::End => state.dead_depth -= 1,
        // Constructs that open frames kiln cannot translate: refuse them
        // here too, rather than miscount their nesting.
        Operator::TryTable { .. }
        | Operator::Try { .. }
        | Operator::Catch { .. }
        | Operator::CatchAll
        | Operator::Delegate { .. } => {
            return Err(Error::unsupported(super::operators::operator_name(op), offset));
        }
        _ => {}
    }
    Ok(())
}
