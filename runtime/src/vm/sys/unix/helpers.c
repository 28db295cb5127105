/*
 * The resume point of a wasm activation, for vm/traphandlers.rs.
 *
 *   unsigned kiln_enter(void **resume_out, callee, a, b, c, d)
 *     calls callee(a, b, c, d) and returns its byte result (0..=255), or
 *     KILN_RESUMED if kiln_resume jumped back while callee was running.
 *   void kiln_resume(void *resume_point)   -- does not return
 *
 * Rust cannot call setjmp itself (a function that returns twice breaks
 * the compiler's assumptions), so the resume point and the call that may be
 * jumped out of live together in this frame. Between kiln_enter and a
 * kiln_resume there are only Cranelift-compiled frames and Rust
 * `extern "C"` shims that own nothing with a destructor.
 *
 * On x86_64 kiln_enter is inline assembly in the Rust caller instead (one
 * asm block, which the compiler sees run once with every register a resume
 * changes declared clobbered), and resuming is four instructions: this is
 * what every host-to-wasm call costs, so it does nothing else (no pointer
 * mangling, no signal-mask bookkeeping, no extra frame). Elsewhere it is
 * sigsetjmp/siglongjmp.
 *
 * Neither saves the signal mask, so entering and leaving an activation
 * costs no system call. That is correct because the signal handler is
 * installed with SA_NODEFER and an empty sa_mask: taking a trap signal
 * never changes the mask, so there is nothing to restore.
 */

#include <setjmp.h>

#define KILN_RESUMED 0x100u

typedef unsigned char (*kiln_callee)(void *, void *, void *, void *);

#if defined(__x86_64__)

/*
 * x86_64: kiln_enter is inline assembly in unix.rs (`sys::enter`), which
 * pushes, below its caller's frame: rbx, the address to resume at, rbp and
 * eight bytes of padding, and records the stack pointer then as the resume
 * point. Resuming pops the padding and rbp and returns to that address,
 * where the stack pointer is at the saved rbx again. Every other register
 * the caller needs was saved by the compiler around the call.
 */
__asm__(
    ".text\n"
    ".p2align 4\n"
    ".globl kiln_resume\n"
#if defined(__ELF__)
    ".hidden kiln_resume\n"
    ".type kiln_resume,@function\n"
#endif
    "kiln_resume:\n"
    "  movq %rdi, %rsp\n"
    "  addq $8, %rsp\n"
    "  popq %rbp\n"
    "  retq\n"
#if defined(__ELF__)
    ".size kiln_resume, .-kiln_resume\n"
#endif
);

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
