//! Host → wasm: the one raw call path. Every call from the host into wasm
//! (typed, dynamic, start functions) goes through [`call`], which runs the
//! callee's array entry point under `catch_traps` and turns whatever
//! happened into a `Result`.

use crate::error::Error;
use crate::trap::{FrameInfo, Trap, TrapCode};
use crate::vm::instance::{read_func_ref, Pending, StoreOpaque};
use crate::vm::traphandlers::{catch_traps, TrapInfo};
use crate::vm::vmctx::{VMFuncRef, ValRaw};

/// Call the function whose funcref is `raw` with `values` as argument and
/// result slots (at least `max(params, results)` of them).
///
/// # Safety
/// `raw` must be a non-null funcref of `store`, and `values` must have
/// the slots its type requires.
pub unsafe fn call(store: &mut StoreOpaque, raw: usize, values: &mut [ValRaw]) -> Result<(), Error> {
    // SAFETY: guaranteed by the caller.
    let fr = unsafe { read_func_ref(raw) };
    // SAFETY: guaranteed by the caller.
    unsafe { call_ref(store, fr, values) }
}

/// Call `fr` (a function of `store`) with `values` as argument and result
/// slots.
///
/// # Safety
/// `fr` must describe a function of `store` (or a host function), and
/// `values` must have the slots its type requires.
pub unsafe fn call_ref(store: &mut StoreOpaque, fr: VMFuncRef, values: &mut [ValRaw]) -> Result<(), Error> {
    let Some(array_call) = fr.array_call else {
        return Err(Error::ty("function has no host entry point"));
    };
    let mut ok = 1u8;
    let ptr = values.as_mut_ptr();
    let len = values.len();
    let limits: *const _ = &*store.limits;
    let max_stack = store.max_wasm_stack;
    // SAFETY: the body only calls the array entry point with pointers valid
    // for the call and owns nothing with a destructor ("plain old frames"),
    // so a longjmp out of it skips no drop. The store is not touched by
    // this frame while wasm runs: host functions and builtins reach it
    // through the VMContext.
    let result = unsafe {
        catch_traps(&*limits, max_stack, || {
            ok = array_call(fr.vmctx, std::ptr::null_mut(), ptr, len);
        })
    };
    match result {
        Ok(()) if ok != 0 => Ok(()),
        Ok(()) => Err(take_pending(store, Vec::new())),
        Err(info) => Err(trap_error(store, info)),
    }
}

/// The error a failed host function left behind; resumes its panic.
fn take_pending(store: &mut StoreOpaque, frames: Vec<FrameInfo>) -> Error {
    match store.pending.take() {
        Some(Pending::Error(e)) => {
            // An error that already is a trap (from a nested call) stays one.
            match e.into_trap() {
                Ok(t) => t.into(),
                Err(e) => Trap::host(e.into_host_source()).into(),
            }
        }
        Some(Pending::Panic(payload)) => std::panic::resume_unwind(payload),
        None => Trap::new(TrapCode::HostError, frames).into(),
    }
}

fn trap_error(store: &mut StoreOpaque, info: TrapInfo) -> Error {
    let frames = backtrace(store, &info);
    if info.code == TrapCode::HostError {
        return take_pending(store, frames);
    }
    Trap::new(info.code, frames).into()
}

/// Frames of the trap, innermost first, from the return addresses the
/// signal handler captured while the frames were still live.
fn backtrace(store: &StoreOpaque, info: &TrapInfo) -> Vec<FrameInfo> {
    info.backtrace
        .pcs()
        .iter()
        .enumerate()
        // Return addresses point after the call: look up the call itself.
        .filter_map(|(i, &pc)| frame_at(store, if i == 0 { pc } else { pc.wrapping_sub(1) }))
        .collect()
}

fn frame_at(store: &StoreOpaque, pc: usize) -> Option<FrameInfo> {
    for inst in &store.instances {
        let range = inst.module.code_range();
        if range.contains(&pc) {
            let off = (pc - range.start) as u32;
            let (func_index, func_name) = inst.module.func_at(off)?;
            let wasm_offset =
                kiln_artifact::addrmap::AddrMap::parse(inst.module.addrmap_section()).ok().and_then(|m| m.lookup(off));
            return Some(FrameInfo { func_index, func_name, wasm_offset });
        }
    }
    None
}
