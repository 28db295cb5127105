//! Linear-memory address computation and bounds checks.
//!
//! ```text
//! ╔══════════════════════════════════════════════════════════════════════╗
//! ║ SANDBOX-CRITICAL. A mistake here lets wasm read or write host memory. ║
//! ║ Any change needs a second reviewer and a new disas test.              ║
//! ╚══════════════════════════════════════════════════════════════════════╝
//! ```
//!
//! # The invariant
//!
//! Every byte a wasm load or store touches is either inside
//! `[base, base + current_length)` of its memory, or the access traps with
//! `HEAP_OUT_OF_BOUNDS` before or instead of touching anything else.
//!
//! A check is elided only when the access cannot leave the memory's
//! reservation plus guard region, all of which the runtime keeps mapped
//! inaccessible beyond `current_length`:
//!
//! ```text
//! index ≤ 2^32 - 1                       (32-bit memory)
//! offset + access_size ≤ guard_size      (checked below, per access)
//! reservation ≥ 2^32                     (tunables)
//! ⇒ index + offset + access_size ≤ 2^32 - 1 + guard_size < reservation + guard_size
//! ```
//!
//! so the access faults in the guard, and the fault is a recorded trap site
//! because every heap access carries `HEAP_OUT_OF_BOUNDS` (see
//! `FuncEnv::heap_flags`). Everything else — memory64, explicit
//! bounds-check mode, a reservation under 4 GiB, an offset past the guard —
//! is checked explicitly against the current length, in 64-bit arithmetic
//! that cannot wrap.
//!
//! The same conditions make a memory's base immovable (the runtime grows
//! such a memory by changing page protection inside the reservation), which
//! is what allows `FuncEnv::memory_base` to load it once per function.

use super::env::{index_to_i64, FuncEnv};
use crate::error::Result;
use cranelift_codegen::ir::{condcodes::IntCC, types, InstBuilder, TrapCode, Value};
use cranelift_frontend::FunctionBuilder;
use kiln_artifact::engine::{BoundsChecks, Tunables};
use kiln_artifact::index::MemoryIndex;
use kiln_artifact::types::MemoryType;

/// 4 GiB: the address space a 32-bit index can reach.
const FOUR_GIB: u64 = 1 << 32;

/// Whether accesses to `ty` may rely on guard pages: the memory is 32-bit
/// and owns a reservation covering every 32-bit index. Such a memory never
/// moves, so its base may be cached.
pub(crate) fn memory_base_is_static(t: &Tunables, ty: &MemoryType) -> bool {
    !ty.memory64 && t.bounds_checks == BoundsChecks::GuardPages && t.memory_reservation >= FOUR_GIB
}

/// Whether an access of `access_size` bytes at static `offset` to `ty` needs
/// no explicit check (see the invariant above). A memory of 1-byte pages
/// is always checked: protection rounds its length up to a host page, so
/// the bytes just past its end are accessible.
fn check_is_elided(t: &Tunables, ty: &MemoryType, offset: u64, access_size: u8) -> bool {
    memory_base_is_static(t, ty)
        && ty.page_size_log2 == 16
        && offset.checked_add(u64::from(access_size)).is_some_and(|end| end <= t.memory_guard_size)
}

/// An address to access with `load`/`store`: `addr + offset`.
pub(crate) struct HeapAddr {
    /// The base address.
    pub addr: Value,
    /// The immediate offset of the access instruction.
    pub offset: i32,
}

/// Compute the address of an access of `access_size` bytes at
/// `index + offset` in memory `mem`, emitting the bounds check it needs.
pub(crate) fn heap_addr(
    builder: &mut FunctionBuilder<'_>,
    env: &mut FuncEnv<'_>,
    mem: MemoryIndex,
    index: Value,
    offset: u64,
    access_size: u8,
) -> Result<HeapAddr> {
    let ty = env.memory_type(mem)?;
    let index = index_to_i64(builder, index);

    if !check_is_elided(env.cx.tunables, ty, offset, access_size) {
        let length = env.memory_length(builder, mem)?;
        let end = match offset.checked_add(u64::from(access_size)) {
            // A 32-bit index plus at most 2^32 - 1 + 8 cannot wrap 64 bits.
            Some(span) if !ty.memory64 => builder.ins().iadd_imm_u(index, span as i64),
            Some(span) => {
                let span = builder.ins().iconst(types::I64, span as i64);
                builder.ins().uadd_overflow_trap(index, span, TrapCode::HEAP_OUT_OF_BOUNDS)
            }
            // offset + size > u64::MAX: out of bounds whatever the index;
            // the first addition already traps unless the index is 0.
            None => {
                let offset = builder.ins().iconst(types::I64, offset as i64);
                let size = builder.ins().iconst(types::I64, i64::from(access_size));
                let at = builder.ins().uadd_overflow_trap(index, offset, TrapCode::HEAP_OUT_OF_BOUNDS);
                builder.ins().uadd_overflow_trap(at, size, TrapCode::HEAP_OUT_OF_BOUNDS)
            }
        };
        let out_of_bounds = builder.ins().icmp(IntCC::UnsignedGreaterThan, end, length);
        builder.ins().trapnz(out_of_bounds, TrapCode::HEAP_OUT_OF_BOUNDS);
    }

    // Past the check (or under the invariant), base + index + offset is
    // inside the memory or its guard region.
    let base = env.memory_base(builder, mem)?;
    let addr = builder.ins().iadd(base, index);
    Ok(match i32::try_from(offset) {
        Ok(offset) => HeapAddr { addr, offset },
        Err(_) => HeapAddr { addr: builder.ins().iadd_imm_u(addr, offset as i64), offset: 0 },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_artifact::types::Limits;

    fn mem(memory64: bool) -> MemoryType {
        MemoryType { limits: Limits { min: 1, max: None }, memory64, shared: false, page_size_log2: 16 }
    }

    #[test]
    fn elision_needs_every_condition() {
        let t = Tunables::default();
        assert!(check_is_elided(&t, &mem(false), 0, 8));
        assert!(check_is_elided(&t, &mem(false), t.memory_guard_size - 8, 8));
        // Past the guard.
        assert!(!check_is_elided(&t, &mem(false), t.memory_guard_size - 7, 8));
        assert!(!check_is_elided(&t, &mem(false), u64::MAX, 1));
        // memory64 is always checked.
        assert!(!check_is_elided(&t, &mem(true), 0, 1));
        // So is a memory of 1-byte pages.
        let tiny = MemoryType { page_size_log2: 0, ..mem(false) };
        assert!(!check_is_elided(&t, &tiny, 0, 1) && memory_base_is_static(&t, &tiny));
        // Explicit mode.
        let explicit = Tunables { bounds_checks: BoundsChecks::Explicit, ..Tunables::default() };
        assert!(!check_is_elided(&explicit, &mem(false), 0, 1));
        // A reservation that does not cover every 32-bit index.
        let small = Tunables { memory_reservation: FOUR_GIB - 0x1_0000, ..Tunables::default() };
        assert!(!check_is_elided(&small, &mem(false), 0, 1));
        assert!(!memory_base_is_static(&small, &mem(false)));
    }
}
