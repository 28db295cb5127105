//! riscv64 (LP64D): `ra`, `s0`–`s11` and `fs0`–`fs11` are callee-saved;
//! vector registers are all caller-saved.

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
    // SAFETY: `kiln_enter` is an LP64D function of these six arguments
    // that preserves every callee-saved register on both of its returns;
    // the rest is the caller's contract.
    unsafe { kiln_enter(resume_out, callee, a, b, c, d) }
}

/// The frame `kiln_enter` builds, 208 bytes, 16-aligned; the resume point
/// is its lowest address:
///
/// ```text
///   +0   fs0 … fs11
///   +96  s1 … s11
///   +184 (pad)
///   +192 s0 ra       (a frame record, laid out as Cranelift's)
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
        // The assembler of a naked function does not see the target's
        // features; LP64D implies D.
        ".option push",
        ".option arch, +d",
        "addi sp, sp, -208",
        "sd ra, 200(sp)",
        "sd s0, 192(sp)",
        "addi s0, sp, 192",
        "sd s1, 96(sp)",
        "sd s2, 104(sp)",
        "sd s3, 112(sp)",
        "sd s4, 120(sp)",
        "sd s5, 128(sp)",
        "sd s6, 136(sp)",
        "sd s7, 144(sp)",
        "sd s8, 152(sp)",
        "sd s9, 160(sp)",
        "sd s10, 168(sp)",
        "sd s11, 176(sp)",
        "fsd fs0, 0(sp)",
        "fsd fs1, 8(sp)",
        "fsd fs2, 16(sp)",
        "fsd fs3, 24(sp)",
        "fsd fs4, 32(sp)",
        "fsd fs5, 40(sp)",
        "fsd fs6, 48(sp)",
        "fsd fs7, 56(sp)",
        "fsd fs8, 64(sp)",
        "fsd fs9, 72(sp)",
        "fsd fs10, 80(sp)",
        "fsd fs11, 88(sp)",
        "sd sp, 0(a0)",
        "mv t0, a1",
        "mv a0, a2",
        "mv a1, a3",
        "mv a2, a4",
        "mv a3, a5",
        "jalr t0",
        "andi a0, a0, 0xff",
        "fld fs0, 0(sp)",
        "fld fs1, 8(sp)",
        "fld fs2, 16(sp)",
        "fld fs3, 24(sp)",
        "fld fs4, 32(sp)",
        "fld fs5, 40(sp)",
        "fld fs6, 48(sp)",
        "fld fs7, 56(sp)",
        "fld fs8, 64(sp)",
        "fld fs9, 72(sp)",
        "fld fs10, 80(sp)",
        "fld fs11, 88(sp)",
        "ld s1, 96(sp)",
        "ld s2, 104(sp)",
        "ld s3, 112(sp)",
        "ld s4, 120(sp)",
        "ld s5, 128(sp)",
        "ld s6, 136(sp)",
        "ld s7, 144(sp)",
        "ld s8, 152(sp)",
        "ld s9, 160(sp)",
        "ld s10, 168(sp)",
        "ld s11, 176(sp)",
        "ld s0, 192(sp)",
        "ld ra, 200(sp)",
        "addi sp, sp, 208",
        "ret",
        ".option pop",
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
        ".option push",
        ".option arch, +d",
        "mv sp, a0",
        "li a0, {resumed}",
        "fld fs0, 0(sp)",
        "fld fs1, 8(sp)",
        "fld fs2, 16(sp)",
        "fld fs3, 24(sp)",
        "fld fs4, 32(sp)",
        "fld fs5, 40(sp)",
        "fld fs6, 48(sp)",
        "fld fs7, 56(sp)",
        "fld fs8, 64(sp)",
        "fld fs9, 72(sp)",
        "fld fs10, 80(sp)",
        "fld fs11, 88(sp)",
        "ld s1, 96(sp)",
        "ld s2, 104(sp)",
        "ld s3, 112(sp)",
        "ld s4, 120(sp)",
        "ld s5, 128(sp)",
        "ld s6, 136(sp)",
        "ld s7, 144(sp)",
        "ld s8, 152(sp)",
        "ld s9, 160(sp)",
        "ld s10, 168(sp)",
        "ld s11, 176(sp)",
        "ld s0, 192(sp)",
        "ld ra, 200(sp)",
        "addi sp, sp, 208",
        "ret",
        ".option pop",
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
    unsafe { super::frame_record_at(fp, low, high) }
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
    // SAFETY: the caller's contract; fixed registers, so no operand is
    // overwritten before it is read.
    unsafe {
        core::arch::asm!(
            "mv sp, a1",
            "mv s0, a2",
            "jr a3",
            in("a0") exn,
            in("a1") sp,
            in("a2") fp,
            in("a3") pc,
            options(noreturn, nostack),
        )
    }
}
