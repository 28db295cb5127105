//! Fuel and epoch checks, compiled in only when the build asks for them
//! (`Tunables::consume_fuel` / `epoch_interruption`, recorded in
//! `.kiln.engine` so the runtime can refuse a store that expects otherwise).
//!
//! **Fuel** counts work: every operator costs 1 except the ones that
//! produce no code of their own (`nop`, `drop`, `block`, `loop`, `end`,
//! `else`), so a given program consumes the same fuel on every target. The
//! counter is `VMRuntimeLimits::fuel_consumed`, which starts at minus the
//! budget. The cost of straight-line code is added once, before the
//! instruction that ends it (a branch, a call, a block boundary); function
//! entries and loop headers then trap with `OutOfFuel` once the counter is
//! above zero. Costs are flushed before calls, so the callee sees the
//! caller's consumption, and the counter lives in memory, so nothing needs
//! reloading after a call.
//!
//! **Epochs** bound time: function entries and loop headers compare the
//! store's epoch counter with its deadline and, past it, call the
//! `epoch_interrupt` builtin, which either extends the deadline (the host's
//! callback said so) or makes the code trap with `Interrupted`.

use super::env::FuncEnv;
use crate::error::Result;
use cranelift_codegen::ir::{condcodes::IntCC, types, InstBuilder, MemFlagsData};
use cranelift_frontend::FunctionBuilder;
use kiln_artifact::builtins::BuiltinIndex;
use kiln_artifact::traps::TrapCode;
use wasmparser::Operator as Op;

/// The fuel an operator costs.
pub(crate) fn fuel_cost(op: &Op<'_>) -> i64 {
    match op {
        Op::Nop | Op::Drop | Op::Block { .. } | Op::Loop { .. } | Op::End | Op::Else => 0,
        _ => 1,
    }
}

/// Whether the straight-line code ends before `op` (its cost must be
/// accounted before it runs).
pub(crate) fn ends_straight_line(op: &Op<'_>) -> bool {
    matches!(
        op,
        Op::Block { .. }
            | Op::Loop { .. }
            | Op::If { .. }
            | Op::Else
            | Op::End
            | Op::Br { .. }
            | Op::BrIf { .. }
            | Op::BrTable { .. }
            | Op::Return
            | Op::Unreachable
            | Op::Call { .. }
            | Op::CallIndirect { .. }
            | Op::ReturnCall { .. }
            | Op::ReturnCallIndirect { .. }
            | Op::CallRef { .. }
            | Op::ReturnCallRef { .. }
            | Op::Throw { .. }
            | Op::ThrowRef
            | Op::TryTable { .. }
            | Op::Try { .. }
            | Op::Catch { .. }
            | Op::CatchAll
            | Op::Delegate { .. }
            | Op::Rethrow { .. }
    )
}

fn limits(env: &mut FuncEnv<'_>, builder: &mut FunctionBuilder<'_>) -> cranelift_codegen::ir::Value {
    let off = env.cx.offsets.runtime_limits() as i32;
    builder.ins().load(env.ptr, FuncEnv::readonly_flags(), env.vmctx, off)
}

/// Add the pending cost to the fuel counter.
pub(crate) fn flush_fuel(env: &mut FuncEnv<'_>, builder: &mut FunctionBuilder<'_>) {
    if !env.cx.tunables.consume_fuel || env.fuel_pending == 0 {
        return;
    }
    let pending = std::mem::take(&mut env.fuel_pending);
    let limits = limits(env, builder);
    let off = env.cx.offsets.runtime_limits_fuel_consumed() as i32;
    let flags = MemFlagsData::trusted();
    let consumed = builder.ins().load(types::I64, flags, limits, off);
    let pending = builder.ins().iconst(types::I64, pending);
    let consumed = builder.ins().iadd(consumed, pending);
    builder.ins().store(flags, consumed, limits, off);
}

/// The checks of a function entry or loop header.
pub(crate) fn check(env: &mut FuncEnv<'_>, builder: &mut FunctionBuilder<'_>) -> Result<()> {
    let (fuel, epoch) = (env.cx.tunables.consume_fuel, env.cx.tunables.epoch_interruption);
    if !fuel && !epoch {
        return Ok(());
    }
    flush_fuel(env, builder);
    let o = env.cx.offsets;
    if fuel {
        let limits = limits(env, builder);
        let consumed =
            builder.ins().load(types::I64, MemFlagsData::trusted(), limits, o.runtime_limits_fuel_consumed() as i32);
        let zero = builder.ins().iconst(types::I64, 0);
        let out = builder.ins().icmp(IntCC::SignedGreaterThan, consumed, zero);
        builder.ins().trapnz(out, super::traps::to_ir(TrapCode::OutOfFuel));
    }
    if epoch {
        let limits = limits(env, builder);
        let counter = builder.ins().load(env.ptr, FuncEnv::readonly_flags(), limits, o.runtime_limits_epoch() as i32);
        // The counter moves under our feet (another thread bumps it): a
        // plain load each time, never cached.
        let now = builder.ins().load(types::I64, MemFlagsData::trusted(), counter, 0);
        let deadline =
            builder.ins().load(types::I64, MemFlagsData::trusted(), limits, o.runtime_limits_epoch_deadline() as i32);
        let past = builder.ins().icmp(IntCC::UnsignedGreaterThanOrEqual, now, deadline);
        let slow = builder.create_block();
        let cont = builder.create_block();
        builder.ins().brif(past, slow, &[], cont, &[]);
        builder.seal_block(slow);
        builder.switch_to_block(slow);
        builder.set_cold_block(slow);
        env.call_builtin(builder, BuiltinIndex::epoch_interrupt, &[])?;
        builder.ins().jump(cont, &[]);
        builder.seal_block(cont);
        builder.switch_to_block(cont);
    }
    Ok(())
}
