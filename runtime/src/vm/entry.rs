//! Host → wasm: the one raw call path. Every call from the host into wasm
//! (typed, dynamic, start functions) goes through [`call`], which runs the
//! callee's array entry point under `catch_traps` and turns whatever
//! happened into a `Result`.

use crate::error::Error;
use crate::trap::{FrameInfo, FrameSymbol, Trap, TrapCode};
use crate::vm::instance::{Pending, StoreOpaque};
use crate::vm::sys;
use crate::vm::traphandlers::{enter_wasm, TrapInfo};
use crate::vm::vmctx::{VMArrayCallFunction, VMFuncRef, ValRaw};

/// Call the function whose funcref is `raw` with `values` as argument and
/// result slots (at least `max(params, results)` of them).
///
/// # Safety
/// `raw` must be a non-null funcref of `store`, and `values` must have
/// the slots its type requires.
#[inline]
pub unsafe fn call(store: &mut StoreOpaque, raw: usize, values: &mut [ValRaw]) -> Result<(), Error> {
    // SAFETY: guaranteed by the caller.
    unsafe { call_ref(store, raw as *const VMFuncRef, values) }
}

/// Call the function `fr` points to (a function of `store`) with `values`
/// as argument and result slots.
///
/// # Safety
/// `fr` must point to the `VMFuncRef` of a function of `store` (or of a
/// host function), and `values` must have the slots its type requires.
// Not `#[inline]`: compiled once in this crate, where the thread-local it
// reads is a direct access rather than a call through its accessor.
pub unsafe fn call_ref(store: &mut StoreOpaque, fr: *const VMFuncRef, values: &mut [ValRaw]) -> Result<(), Error> {
    // Read in place: the two fields used, not a copy of the whole record.
    // SAFETY: guaranteed by the caller.
    let (array_call, vmctx) = unsafe { ((*fr).array_call, (*fr).vmctx) };
    let Some(array_call) = array_call else {
        return Err(no_entry_point());
    };
    // Miri interprets Rust, not machine code: host functions run, compiled
    // functions cannot (see `vm::sys::miri`).
    #[cfg(miri)]
    if crate::vm::code_registry::is_kiln_code(array_call as usize) {
        return Err(Error::msg(COMPILED_CODE_UNDER_MIRI));
    }
    // SAFETY: an array-call entry point is an `extern "C"` function of four
    // pointer-sized integer arguments returning a byte, which is the shape
    // of `sys::Callee`: the same ABI, only the pointee types differ.
    let callee = unsafe { std::mem::transmute::<VMArrayCallFunction, sys::Callee>(array_call) };
    // Exception objects left by earlier calls (their results converted for
    // the host by now): free what nothing refers to, before wasm runs again.
    if !store.exns.is_empty() && !crate::vm::traphandlers::store_running(&store.limits) {
        sweep_exceptions(store);
    }
    // Host functions and builtins reach the store through the pointer lent
    // here, derived from this call's own `&mut`: any other would break its
    // exclusivity. A nested call lends its own and puts this one back.
    let this: *mut StoreOpaque = &raw mut *store;
    let lent = store.lent.replace(this);
    // SAFETY: the entry point gets its own vmctx, no caller, and the value
    // slots the caller vouches for; it is compiled code (or a host-function
    // shim) that owns nothing with a destructor ("plain old frames"), so
    // leaving it from a trap skips no drop. The store is not touched by
    // this frame while wasm runs, only through the pointer lent above.
    let result = unsafe {
        enter_wasm(
            &store.limits,
            store.max_wasm_stack,
            callee,
            vmctx.cast(),
            std::ptr::null_mut(),
            values.as_mut_ptr().cast(),
            values.len(),
        )
    };
    store.lent.set(lent);
    match result {
        Ok(0) => Err(take_pending(store, Vec::new())),
        Ok(_) => Ok(()),
        Err(info) => Err(trap_error(store, info)),
    }
}

/// No wasm of the store runs: free every exception object no global,
/// table or host handle refers to (no wasm frame can, see `vm::exn`).
#[cold]
fn sweep_exceptions(store: &mut StoreOpaque) {
    use kiln_artifact::types::{HeapType, ValType};
    let is_exn = |t: ValType| matches!(t, ValType::Ref(r) if r.heap.top() == HeapType::Exn);
    let mut roots = std::collections::HashSet::new();
    for g in &store.globals {
        if is_exn(g.ty.content) {
            roots.insert(g.get().get_ref());
        }
    }
    for t in &store.tables {
        if is_exn(ValType::Ref(t.ty.element)) {
            roots.extend(t.elements.iter().copied());
        }
    }
    store.exns.sweep(&roots);
}

/// The error of a call into compiled code under Miri.
#[cfg(miri)]
pub const COMPILED_CODE_UNDER_MIRI: &str = "compiled code cannot run under Miri";

#[cold]
fn no_entry_point() -> Error {
    Error::ty("function has no host entry point")
}

/// The error a failed host function left behind; resumes its panic.
#[cold]
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
        Some(Pending::Exception(x)) => x.with_frames(frames).into(),
        None => Trap::new(TrapCode::HostError, frames).into(),
    }
}

#[cold]
fn trap_error(store: &mut StoreOpaque, info: TrapInfo) -> Error {
    let frames = backtrace(store, &info);
    if info.code == TrapCode::HostError {
        return take_pending(store, frames);
    }
    let mut trap = Trap::new(info.code, frames);
    // A fault in a memory's mapping: which wasm address, in how large a
    // memory.
    if let Some(addr) = info.fault_addr {
        if let Some((address, memory_size)) =
            store.memories.iter().find_map(|m| Some((m.wasm_address_of(addr)?, m.byte_len())))
        {
            trap = trap.with_memory_fault(crate::trap::MemoryFault { address, memory_size });
        }
    }
    trap.into()
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

/// The source frames of `.kiln.srclocs` at `wasm_offset` (none if the
/// module has no source locations).
fn source_frames(srclocs: &[u8], wasm_offset: u32) -> Vec<FrameSymbol> {
    let Ok(table) = kiln_artifact::srclocs::SrcLocs::parse(srclocs) else {
        return Vec::new();
    };
    table
        .lookup(wasm_offset)
        .into_iter()
        .map(|f| FrameSymbol {
            name: f.function.map(str::to_owned),
            file: f.file.map(str::to_owned),
            line: f.line,
            column: f.column,
        })
        .collect()
}

fn frame_at(store: &StoreOpaque, pc: usize) -> Option<FrameInfo> {
    for inst in &store.instances {
        let range = inst.module.code_range();
        if range.contains(&pc) {
            let off = (pc - range.start) as u32;
            let (func_index, func_name, func_start) = inst.module.func_at(off)?;
            // An entry before the function's start describes another
            // function: no offset rather than a wrong one.
            let wasm_offset = kiln_artifact::addrmap::AddrMap::parse(inst.module.addrmap_section())
                .ok()
                .and_then(|m| m.lookup_entry(off))
                .filter(|&(text, _)| text >= func_start)
                .map(|(_, wasm)| wasm);
            let module_name = inst.module.name().map(str::to_owned);
            let symbols = match wasm_offset {
                Some(o) => source_frames(inst.module.srclocs_section(), o),
                None => Vec::new(),
            };
            return Some(FrameInfo { func_index, func_name, wasm_offset, module_name, symbols });
        }
    }
    None
}
