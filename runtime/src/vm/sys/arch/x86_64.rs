//! x86_64: the resume point is made inline in the caller, so entering wasm
//! saves only the registers the caller has live (this is on every
//! host → wasm call).

use super::{Callee, RESUMED};
use core::ffi::c_void;

/// Call `callee(a, b, c, d)` with a resume point: while it runs,
/// `*resume_out` holds a resume point that [`resume`] can jump to. Returns
/// the callee's byte, or [`RESUMED`] if [`resume`] was called.
///
/// The compiler is told that the call clobbers every register a resume
/// does not restore, so it saves only what it needs around it. The frame
/// pointer, `rbx` (which inline assembly may not name) and the address to
/// resume at are pushed below the caller's frame, and the resume point is
/// the stack pointer that addresses them:
///
/// ```text
///   resume point → [pad] [rbp] [resume address] [rbx]   (higher addresses →)
/// ```
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
    let ret: u32;
    // SAFETY: the block leaves the stack pointer as it found it (four
    // pushes undone on both paths), keeps it 16-byte aligned at the call
    // (aligned on entry, as inline assembly guarantees when `nostack` is
    // not given), restores `rbx` and `rbp` itself and declares every other
    // register a resume may leave changed as clobbered. `resume_out` is
    // writable and `callee` callable with these arguments (the caller's
    // contract); a resume lands on `2:` with the stack pointer at the saved
    // `rbx`.
    #[cfg(not(windows))]
    unsafe {
        core::arch::asm!(
            "push rbx",
            "lea rax, [rip + 2f]",
            "push rax",
            "push rbp",
            "sub rsp, 8",
            "mov qword ptr [{resume_out}], rsp",
            "call {callee}",
            "movzx eax, al",
            "add rsp, 24",
            "jmp 3f",
            "2:",
            "mov eax, {resumed}",
            "3:",
            "pop rbx",
            resume_out = in(reg) resume_out,
            callee = in(reg) callee,
            resumed = const RESUMED,
            in("rdi") a,
            in("rsi") b,
            in("rdx") c,
            in("rcx") d,
            out("rax") ret,
            out("r12") _,
            out("r13") _,
            out("r14") _,
            out("r15") _,
            clobber_abi("C"),
        );
    }
    // SAFETY: as above, for the Windows x64 convention: arguments in rcx,
    // rdx, r8, r9, 32 bytes of home space for the callee below the return
    // address, and rdi, rsi and xmm6–xmm15 callee-saved too, so declared
    // clobbered as well.
    #[cfg(windows)]
    unsafe {
        core::arch::asm!(
            "push rbx",
            "lea rax, [rip + 2f]",
            "push rax",
            "push rbp",
            "sub rsp, 8",
            "mov qword ptr [{resume_out}], rsp",
            "sub rsp, 32",
            "call {callee}",
            "add rsp, 32",
            "movzx eax, al",
            "add rsp, 24",
            "jmp 3f",
            "2:",
            "mov eax, {resumed}",
            "3:",
            "pop rbx",
            resume_out = in(reg) resume_out,
            callee = in(reg) callee,
            resumed = const RESUMED,
            in("rcx") a,
            in("rdx") b,
            in("r8") c,
            in("r9") d,
            out("rax") ret,
            out("rdi") _,
            out("rsi") _,
            out("r12") _,
            out("r13") _,
            out("r14") _,
            out("r15") _,
            out("xmm6") _,
            out("xmm7") _,
            out("xmm8") _,
            out("xmm9") _,
            out("xmm10") _,
            out("xmm11") _,
            out("xmm12") _,
            out("xmm13") _,
            out("xmm14") _,
            out("xmm15") _,
            clobber_abi("C"),
        );
    }
    ret
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
/// argument (see `sys::unix`'s and `sys::windows`' fault handlers, which
/// redirect the faulting context here).
pub fn resume_entry() -> usize {
    kiln_resume as *const () as usize
}

/// Pop the pad and `rbp` [`enter`] pushed and return to its resume address,
/// with the stack pointer at the saved `rbx` as `2:` expects.
#[unsafe(naked)]
unsafe extern "C" fn kiln_resume(resume_point: *const c_void) -> ! {
    #[cfg(not(windows))]
    core::arch::naked_asm!("mov rsp, rdi", "add rsp, 8", "pop rbp", "ret");
    #[cfg(windows)]
    core::arch::naked_asm!("mov rsp, rcx", "add rsp, 8", "pop rbp", "ret");
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
    // SAFETY: the caller's contract; the operands other than `rax` are in
    // registers the sequence does not overwrite before reading them.
    unsafe {
        core::arch::asm!(
            "mov rsp, {sp}",
            "mov rbp, {fp}",
            "jmp {pc}",
            sp = in(reg) sp,
            fp = in(reg) fp,
            pc = in(reg) pc,
            in("rax") exn,
            options(noreturn, nostack),
        )
    }
}
