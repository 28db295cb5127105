//! The vectored exception handler for the faults compiled code raises when
//! it traps: illegal instruction (`ud2`, Cranelift's trap), access
//! violation (guard regions of linear memory), integer division by zero
//! and integer overflow (`idiv`).
//!
//! Installed once, first in the chain, on the first wasm entry of the
//! process. Vectored handlers run before any frame-based (SEH) handler, on
//! the faulting thread. Whether a fault is kiln's is decided by
//! [`traphandlers::claim_fault`](crate::vm::traphandlers::claim_fault) (a
//! wasm activation on this thread, a PC in registered kiln code, at a
//! recorded trap site); a claimed one is resumed by rewriting the faulting
//! context to enter the architecture's `resume` with the activation's
//! resume point and returning `EXCEPTION_CONTINUE_EXECUTION`. Everything
//! else goes on to the next handler untouched (`EXCEPTION_CONTINUE_SEARCH`):
//! the host's own handlers, and Rust's stack-overflow report, keep working.
//! The handler takes no lock, allocates nothing and never panics.

use super::super::{arch, Registers};
use crate::vm::traphandlers;
use core::ffi::c_void;
use std::sync::Once;
use windows_sys::Win32::Foundation::{
    EXCEPTION_ACCESS_VIOLATION, EXCEPTION_ILLEGAL_INSTRUCTION, EXCEPTION_INT_DIVIDE_BY_ZERO, EXCEPTION_INT_OVERFLOW,
};
use windows_sys::Win32::System::Diagnostics::Debug::{AddVectoredExceptionHandler, CONTEXT, EXCEPTION_POINTERS};

/// What a vectored handler returns to resume the faulting thread with its
/// (rewritten) context.
const EXCEPTION_CONTINUE_EXECUTION: i32 = -1;
/// What a vectored handler returns to pass the exception on.
const EXCEPTION_CONTINUE_SEARCH: i32 = 0;

static INSTALL: Once = Once::new();

/// Install kiln's vectored exception handler, once per process.
pub fn install_trap_handler() {
    INSTALL.call_once(|| {
        // First = 1: before handlers added earlier, so a host's own
        // vectored handler cannot take kiln's traps for its faults; the
        // ones kiln does not claim reach it next.
        // SAFETY: `handle_exception` is a valid handler for the life of the
        // process, and never removed.
        let handle = unsafe { AddVectoredExceptionHandler(1, Some(handle_exception)) };
        // Only fails when out of memory.
        debug_assert!(!handle.is_null(), "AddVectoredExceptionHandler failed");
    });
}

/// Everything a thread needs before it first runs wasm: the process-wide
/// handler. (Windows delivers exceptions on the faulting thread's own
/// stack, which the wasm stack limit keeps room on: no signal stack.)
pub fn prepare_thread() {
    install_trap_handler();
}

/// The handler. Never panics, allocates or locks.
unsafe extern "system" fn handle_exception(pointers: *mut EXCEPTION_POINTERS) -> i32 {
    // SAFETY: the system passes valid exception pointers for the duration
    // of the call; both records are readable, the context writable.
    let (record, context) = unsafe {
        let p = &*pointers;
        if p.ExceptionRecord.is_null() || p.ContextRecord.is_null() {
            return EXCEPTION_CONTINUE_SEARCH;
        }
        (&*p.ExceptionRecord, &mut *p.ContextRecord)
    };
    match record.ExceptionCode {
        EXCEPTION_ACCESS_VIOLATION
        | EXCEPTION_ILLEGAL_INSTRUCTION
        | EXCEPTION_INT_DIVIDE_BY_ZERO
        | EXCEPTION_INT_OVERFLOW => {}
        _ => return EXCEPTION_CONTINUE_SEARCH,
    }
    // An access violation's second parameter is the address accessed.
    let fault_addr = (record.ExceptionCode == EXCEPTION_ACCESS_VIOLATION && record.NumberParameters >= 2)
        .then(|| record.ExceptionInformation[1]);
    match traphandlers::claim_fault(registers(context), fault_addr) {
        Some(point) => {
            redirect_to_resume(context, point);
            EXCEPTION_CONTINUE_EXECUTION
        }
        None => EXCEPTION_CONTINUE_SEARCH,
    }
}

/// The PC, frame pointer and stack pointer of the faulting context.
fn registers(context: &CONTEXT) -> Registers {
    #[cfg(target_arch = "x86_64")]
    return Registers { pc: context.Rip as usize, fp: context.Rbp as usize, sp: context.Rsp as usize };
    // x29 is the frame pointer in the Windows ARM64 ABI too.
    #[cfg(target_arch = "aarch64")]
    // SAFETY: reading a plain integer field of the context's register
    // union.
    return unsafe {
        Registers { pc: context.Pc as usize, fp: context.Anonymous.X[29] as usize, sp: context.Sp as usize }
    };
}

/// Make the faulting thread continue in the architecture's `resume` with
/// `point` as its first argument, on the stack `point` lies in.
fn redirect_to_resume(context: &mut CONTEXT, point: *const c_void) {
    let (pc, arg, sp) = (arch::resume_entry() as u64, point as u64, point as u64);
    #[cfg(target_arch = "x86_64")]
    {
        context.Rip = pc;
        context.Rcx = arg;
        context.Rsp = sp;
    }
    #[cfg(target_arch = "aarch64")]
    {
        context.Pc = pc;
        // SAFETY: writing a plain integer field of the register union.
        unsafe { context.Anonymous.X[0] = arg };
        context.Sp = sp;
    }
}
