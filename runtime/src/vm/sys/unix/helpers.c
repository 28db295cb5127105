/*
 * The resume point of a wasm activation, for vm/traphandlers.rs.
 *
 * Rust cannot call setjmp itself (a function that returns twice breaks the
 * compiler's assumptions), so the setjmp and the call that may be jumped
 * out of live together in this C frame. Between kiln_setjmp and a
 * kiln_longjmp there are only Cranelift-compiled frames and Rust
 * `extern "C"` shims that own nothing with a destructor.
 *
 * sigsetjmp(buf, 0) does not save the signal mask, so entering and leaving
 * an activation costs no system call. That is correct because the signal
 * handler is installed with SA_NODEFER and an empty sa_mask: taking a trap
 * signal never changes the mask, so there is nothing to restore.
 */

#include <setjmp.h>

int kiln_setjmp(void **jmp_buf_out, void (*body)(void *), void *payload) {
  sigjmp_buf buf;
  if (sigsetjmp(buf, 0) != 0) {
    return 0;
  }
  *jmp_buf_out = &buf;
  body(payload);
  return 1;
}

__attribute__((noreturn)) void kiln_longjmp(void *resume_point) {
  siglongjmp(*(sigjmp_buf *)resume_point, 1);
}
