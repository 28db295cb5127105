//! aarch64 (AAPCS64, and Apple's variant of it: the same callee-saved
//! registers). `x18` is never touched: it is the platform register on
//! Apple and Windows.

use super::{Callee, RESUMED};
use core::ffi::c_void;

/// Call `callee(a, b, c, d)` with a resume point: while it runs,
/// `*resume_out` holds a resume point that [`resume`] can jump to. Returns
/// the callee's byte, or [`RESUMED`] if [`resume`] was called.
///
/// # Safety
///
/// `resume_out` must be valid for a write; `callee` must be safe to call
/// with these arguments and must not unwind. Every frame between this call
/// and a [`resume`] must be a "plain old frame": nothing in it may have a
/// destructor or other cleanup that skipping it would leave undone.
#[inline(always)]
pub unsafe fn enter(
    resume_out: *mut *const c_void,
    callee: Callee,
    a: *mut c_void,
    b: *mut c_void,
    c: *mut c_void,
    d: usize,
) -> u32 {
    // SAFETY: `kiln_enter` is an AAPCS64 function of these six arguments
    // that preserves every callee-saved register on both of its returns;
    // the rest is the caller's contract.
    unsafe { kiln_enter(resume_out, callee, a, b, c, d) }
}

/// The frame `kiln_enter` builds, 176 bytes, 16-aligned; the resume point
/// is its lowest address:
///
/// ```text
///   +0   x29 x30      (a frame record: debuggers and profilers walk through it)
///   +16  x19 … x28
///   +96  d8 … d15
/// ```
#[unsafe(naked)]
unsafe extern "C" fn kiln_enter(
    resume_out: *mut *const c_void,
    callee: Callee,
    a: *mut c_void,
    b: *mut c_void,
    c: *mut c_void,
    d: usize,
) -> u32 {
    core::arch::naked_asm!(
        // `bti c`, as a hint: a landing pad where branch protection is on,
        // a no-op elsewhere.
        "hint #34",
        "stp x29, x30, [sp, #-176]!",
        "mov x29, sp",
        "stp x19, x20, [sp, #16]",
        "stp x21, x22, [sp, #32]",
        "stp x23, x24, [sp, #48]",
        "stp x25, x26, [sp, #64]",
        "stp x27, x28, [sp, #80]",
        "stp d8, d9, [sp, #96]",
        "stp d10, d11, [sp, #112]",
        "stp d12, d13, [sp, #128]",
        "stp d14, d15, [sp, #144]",
        "mov x9, sp",
        "str x9, [x0]",
        "mov x9, x1",
        "mov x0, x2",
        "mov x1, x3",
        "mov x2, x4",
        "mov x3, x5",
        "blr x9",
        "and w0, w0, #0xff",
        "ldp d14, d15, [sp, #144]",
        "ldp d12, d13, [sp, #128]",
        "ldp d10, d11, [sp, #112]",
        "ldp d8, d9, [sp, #96]",
        "ldp x27, x28, [sp, #80]",
        "ldp x25, x26, [sp, #64]",
        "ldp x23, x24, [sp, #48]",
        "ldp x21, x22, [sp, #32]",
        "ldp x19, x20, [sp, #16]",
        "ldp x29, x30, [sp], #176",
        "ret",
    );
}

/// Jump back to the resume point of a running [`enter`], which then
/// returns [`RESUMED`].
///
/// # Safety
///
/// `resume_point` must have been written by an [`enter`] whose callee is
/// still running on this thread, and every frame above it must be a plain
/// old frame (see there).
pub unsafe fn resume(resume_point: *const c_void) -> ! {
    // SAFETY: forwarded from the caller's contract.
    unsafe { kiln_resume(resume_point) }
}

/// The code a trap resumes at, entered with the resume point as its first
/// argument (the fault handlers redirect the faulting context here).
pub fn resume_entry() -> usize {
    kiln_resume as *const () as usize
}

/// Restore what `kiln_enter` saved at the resume point and return from it
/// with [`RESUMED`].
#[unsafe(naked)]
unsafe extern "C" fn kiln_resume(resume_point: *const c_void) -> ! {
    core::arch::naked_asm!(
        "hint #34",
        "mov sp, x0",
        "mov w0, #{resumed}",
        "ldp d14, d15, [sp, #144]",
        "ldp d12, d13, [sp, #128]",
        "ldp d10, d11, [sp, #112]",
        "ldp d8, d9, [sp, #96]",
        "ldp x27, x28, [sp, #80]",
        "ldp x25, x26, [sp, #64]",
        "ldp x23, x24, [sp, #48]",
        "ldp x21, x22, [sp, #32]",
        "ldp x19, x20, [sp, #16]",
        "ldp x29, x30, [sp], #176",
        "ret",
        resumed = const RESUMED,
    );
}

/// One step of the frame-pointer walk: `(return address, caller's fp)` of
/// the frame whose frame pointer is `fp`, if its record lies in
/// `[low, high)`.
///
/// # Safety
///
/// `[low, high)` must be readable memory.
#[inline]
pub unsafe fn next_older_frame(fp: usize, low: usize, high: usize) -> Option<(usize, usize)> {
    // SAFETY: forwarded.
    let (ret, older) = unsafe { super::frame_record_at(fp, low, high)? };
    // Return addresses may carry a pointer-authentication signature in
    // their top bits; code addresses never use them.
    Some((ret & ((1 << 56) - 1), older))
}

/// Clean the data cache lines of `[start, start + len)` to the point of
/// unification, invalidate their instruction cache lines, then synchronise
/// this core's pipeline: what freshly written code needs before it runs.
///
/// # Safety
///
/// `[start, start + len)` must be mapped readable.
#[cfg(unix)]
pub unsafe fn sync_icache(start: usize, len: usize) {
    use core::arch::asm;
    let ctr: u64;
    // SAFETY: CTR_EL0 is readable from EL0 on every OS kiln supports (Linux
    // traps and emulates it where the hardware forbids it).
    unsafe { asm!("mrs {}, ctr_el0", out(reg) ctr, options(nomem, nostack, preserves_flags)) };
    let dline = 4usize << ((ctr >> 16) & 0xf);
    let iline = 4usize << (ctr & 0xf);
    let end = start.saturating_add(len);
    // CTR_EL0.IDC: no D-cache clean needed for I/D coherence.
    if ctr & (1 << 28) == 0 {
        let mut a = start & !(dline - 1);
        while a < end {
            // SAFETY: `a` lies in (or on the line of) the readable range.
            unsafe { asm!("dc cvau, {}", in(reg) a, options(nostack, preserves_flags)) };
            a += dline;
        }
    }
    // SAFETY: barriers have no memory-safety preconditions.
    unsafe { asm!("dsb ish", options(nostack, preserves_flags)) };
    // CTR_EL0.DIC: no I-cache invalidation needed.
    if ctr & (1 << 29) == 0 {
        let mut a = start & !(iline - 1);
        while a < end {
            // SAFETY: `a` lies in (or on the line of) the readable range.
            unsafe { asm!("ic ivau, {}", in(reg) a, options(nostack, preserves_flags)) };
            a += iline;
        }
        // SAFETY: barriers have no memory-safety preconditions.
        unsafe { asm!("dsb ish", options(nostack, preserves_flags)) };
    }
    // SAFETY: barriers have no memory-safety preconditions.
    unsafe { asm!("isb", options(nostack, preserves_flags)) };
}

/// Continue at an exception handler's landing pad `pc` in the frame whose
/// stack pointer at the call is `sp` and frame pointer is `fp`, with the
/// exception object `exn` in the first payload register of Cranelift's
/// `tail` convention. Every frame below is abandoned.
///
/// # Safety
///
/// `pc`, `sp` and `fp` must come from the exception table of a live wasm
/// frame of this thread's stack (its `try_call` clobbers every register,
/// so nothing else needs restoring), and every frame below it must be a
/// plain old frame (see [`enter`]).
pub unsafe fn resume_to_handler(pc: usize, sp: usize, fp: usize, exn: usize) -> ! {
    // SAFETY: the caller's contract. The jump is a `ret`: landing pads are not indirect-branch targets to
    // Cranelift and get no BTI landing pad, and a return is never checked.
    unsafe {
        core::arch::asm!(
            "mov sp, x1",
            "mov x29, x2",
            "mov x30, x3",
            "ret",
            in("x0") exn,
            in("x1") sp,
            in("x2") fp,
            in("x3") pc,
            options(noreturn, nostack),
        )
    }
}
