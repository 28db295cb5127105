//! s390x (ELF ABI): `r6`–`r13`, `r15` and `f8`–`f15` are callee-saved,
//! `r14` holds the return address, and every caller provides a 160-byte
//! register save area at the bottom of its frame, where the callee stores
//! `r6`–`r15`. Compiled code keeps the stack backchain (kiln builds with
//! `preserve_frame_pointers`), which is how its frames are walked.

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
    // SAFETY: `kiln_enter` is an s390x ELF ABI function of these six
    // arguments that preserves every callee-saved register on both of its
    // returns; the rest is the caller's contract.
    unsafe { kiln_enter(resume_out, callee, a, b, c, d) }
}

/// `kiln_enter`'s own frame: the register save area it owes its callee,
/// then `f8`–`f15`. `r6`–`r15` go into the save area its caller provided,
/// just above (at `FRAME + 48`).
const FRAME: i32 = 160 + 64;

/// The resume point is `kiln_enter`'s stack pointer:
///
/// ```text
///   +0    backchain (the caller's stack pointer)
///   +160  f8 … f15
///   +224  the caller's register save area: +224+48 holds r6 … r15
///   +384  the sixth argument, `d`
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
        "stmg %r6, %r15, 48(%r15)",
        "lgr %r1, %r15",
        "aghi %r15, -{frame}",
        "stg %r1, 0(%r15)",
        "std %f8, 160(%r15)",
        "std %f9, 168(%r15)",
        "std %f10, 176(%r15)",
        "std %f11, 184(%r15)",
        "std %f12, 192(%r15)",
        "std %f13, 200(%r15)",
        "std %f14, 208(%r15)",
        "std %f15, 216(%r15)",
        "stg %r15, 0(%r2)",
        "lgr %r1, %r3",
        "lgr %r2, %r4",
        "lgr %r3, %r5",
        "lgr %r4, %r6",
        "lg %r5, {frame}+160(%r15)",
        "basr %r14, %r1",
        "llgcr %r2, %r2",
        "ld %f8, 160(%r15)",
        "ld %f9, 168(%r15)",
        "ld %f10, 176(%r15)",
        "ld %f11, 184(%r15)",
        "ld %f12, 192(%r15)",
        "ld %f13, 200(%r15)",
        "ld %f14, 208(%r15)",
        "ld %f15, 216(%r15)",
        "lmg %r6, %r15, {frame}+48(%r15)",
        "br %r14",
        frame = const FRAME,
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
        "lgr %r15, %r2",
        "lghi %r2, {resumed}",
        "ld %f8, 160(%r15)",
        "ld %f9, 168(%r15)",
        "ld %f10, 176(%r15)",
        "ld %f11, 184(%r15)",
        "ld %f12, 192(%r15)",
        "ld %f13, 200(%r15)",
        "ld %f14, 208(%r15)",
        "ld %f15, 216(%r15)",
        "lmg %r6, %r15, {frame}+48(%r15)",
        "br %r14",
        frame = const FRAME,
        resumed = const RESUMED,
    );
}

/// One step of the backchain walk. On s390x the "frame pointer" kiln
/// tracks is a frame's stack pointer: the word there is the backchain (the
/// stack pointer of the caller, whose register save area holds this
/// frame's return address in the slot of `r14`). Returns `(return address,
/// caller's stack pointer)` if both words lie in `[low, high)`.
///
/// # Safety
///
/// `[low, high)` must be readable memory.
#[inline]
pub unsafe fn next_older_frame(sp: usize, low: usize, high: usize) -> Option<(usize, usize)> {
    const R14_SLOT: usize = 14 * 8;
    let in_range = |at: usize| at >= low && at.checked_add(8).is_some_and(|end| end <= high) && at.is_multiple_of(8);
    if !in_range(sp) {
        return None;
    }
    // SAFETY: `sp` is an aligned word inside the readable range.
    let caller_sp = unsafe { (sp as *const usize).read() };
    let slot = caller_sp.checked_add(R14_SLOT)?;
    if caller_sp <= sp || !in_range(slot) {
        return None;
    }
    // SAFETY: `slot` is an aligned word inside the readable range.
    let ret = unsafe { (slot as *const usize).read() };
    Some((ret, caller_sp))
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
pub unsafe fn resume_to_handler(pc: usize, sp: usize, _fp: usize, exn: usize) -> ! {
    // SAFETY: the caller's contract. s390x frames have no frame pointer:
    // the stack pointer (whose word is the backchain) is all there is.
    unsafe {
        core::arch::asm!(
            "lgr %r15, {sp}",
            "br {pc}",
            sp = in(reg) sp,
            pc = in(reg_addr) pc,
            in("r6") exn,
            options(noreturn, nostack),
        )
    }
}
