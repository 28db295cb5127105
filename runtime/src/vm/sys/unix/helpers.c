/*
 * The resume point of a wasm activation, for vm/traphandlers.rs.
 *
 *   unsigned kiln_enter(void **resume_out, callee, a, b, c, d)
 *     calls callee(a, b, c, d) and returns its byte result (0..=255), or
 *     KILN_RESUMED if kiln_resume jumped back while callee was running.
 *   void kiln_resume(void *resume_point)   -- does not return
 *
 * Rust cannot do this itself (a function that returns twice breaks the
 * compiler's assumptions), so the resume point and the call that may be
 * jumped out of live together in this frame. Between kiln_enter and a
 * kiln_resume there are only Cranelift-compiled frames and Rust
 * `extern "C"` shims that own nothing with a destructor.
 *
 * On x86_64 the pair is a few instructions of assembly: the resume point is
 * the stack pointer after the callee-saved registers were pushed, and
 * resuming pops them and returns. This is what a host-to-wasm call costs on
 * every call, so it does nothing else (no pointer mangling, no signal-mask
 * bookkeeping). Elsewhere it is sigsetjmp/siglongjmp.
 *
 * Neither saves the signal mask, so entering and leaving an activation
 * costs no system call. That is correct because the signal handler is
 * installed with SA_NODEFER and an empty sa_mask: taking a trap signal
 * never changes the mask, so there is nothing to restore.
 */

#include <setjmp.h>

#define KILN_RESUMED 0x100u

typedef unsigned char (*kiln_callee)(void *, void *, void *, void *);

#if defined(__x86_64__) && defined(__ELF__)

/* rdi = resume_out, rsi = callee, rdx/rcx/r8/r9 = a/b/c/d (System V). */
__asm__(
    ".text\n"
    ".p2align 4\n"
    ".globl kiln_enter\n"
    ".hidden kiln_enter\n"
    ".type kiln_enter,@function\n"
    "kiln_enter:\n"
    ".cfi_startproc\n"
    "  pushq %rbp\n"
    ".cfi_def_cfa_offset 16\n"
    ".cfi_offset %rbp, -16\n"
    "  movq %rsp, %rbp\n"
    ".cfi_def_cfa_register %rbp\n"
    "  pushq %rbx\n"
    "  pushq %r12\n"
    "  pushq %r13\n"
    "  pushq %r14\n"
    "  pushq %r15\n"
    ".cfi_offset %rbx, -24\n"
    ".cfi_offset %r12, -32\n"
    ".cfi_offset %r13, -40\n"
    ".cfi_offset %r14, -48\n"
    ".cfi_offset %r15, -56\n"
    /* Keep the stack 16-byte aligned at the call. */
    "  subq $8, %rsp\n"
    "  movq %rsp, (%rdi)\n"
    "  movq %rsi, %rax\n"
    "  movq %rdx, %rdi\n"
    "  movq %rcx, %rsi\n"
    "  movq %r8, %rdx\n"
    "  movq %r9, %rcx\n"
    "  callq *%rax\n"
    "  movzbl %al, %eax\n"
    ".Lkiln_leave:\n"
    "  addq $8, %rsp\n"
    "  popq %r15\n"
    "  popq %r14\n"
    "  popq %r13\n"
    "  popq %r12\n"
    "  popq %rbx\n"
    "  popq %rbp\n"
    ".cfi_def_cfa %rsp, 8\n"
    "  retq\n"
    ".cfi_endproc\n"
    ".size kiln_enter, .-kiln_enter\n"
    "\n"
    ".p2align 4\n"
    ".globl kiln_resume\n"
    ".hidden kiln_resume\n"
    ".type kiln_resume,@function\n"
    "kiln_resume:\n"
    ".cfi_startproc\n"
    "  movq %rdi, %rsp\n"
    "  movl $0x100, %eax\n"
    "  jmp .Lkiln_leave\n"
    ".cfi_endproc\n"
    ".size kiln_resume, .-kiln_resume\n");

#else

unsigned kiln_enter(void **resume_out, kiln_callee callee, void *a, void *b, void *c, void *d) {
  sigjmp_buf buf;
  if (sigsetjmp(buf, 0) != 0) {
    return KILN_RESUMED;
  }
  *resume_out = &buf;
  return callee(a, b, c, d);
}

__attribute__((noreturn)) void kiln_resume(void *resume_point) {
  siglongjmp(*(sigjmp_buf *)resume_point, 1);
}

#endif
