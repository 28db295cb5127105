//! The process-wide handler for the signals compiled code raises when it
//! traps: SIGILL (Cranelift's trap instructions), SIGSEGV/SIGBUS (guard
//! pages) and SIGFPE (integer division).
//!
//! Installed once, on the first wasm entry of the process. The
//! dispositions it replaces are saved and every fault kiln does not claim
//! goes to them untouched, so the host's own handlers (and Rust's
//! stack-overflow reporting) keep working.
//!
//! Whether a fault is kiln's is decided by
//! [`traphandlers::claim_fault`](crate::vm::traphandlers::claim_fault)
//! (a wasm activation on this thread, a PC in registered kiln code, at a
//! recorded trap site). A claimed fault is not left by jumping out of the
//! handler: the handler rewrites the interrupted context so that returning
//! from it enters the architecture's `resume` with the activation's resume
//! point, and the kernel's `sigreturn` restores the signal mask on the way.
//! The handler takes no lock, allocates nothing and never panics.

use super::super::{arch, Registers};
use crate::vm::mmap::Mmap;
use crate::vm::traphandlers;
use core::cell::UnsafeCell;
use core::ffi::{c_int, c_void};
use core::ptr;
use std::io;
use std::sync::Once;

/// The signals kiln handles; also the index of each saved disposition.
const SIGNALS: [c_int; 4] = [libc::SIGSEGV, libc::SIGBUS, libc::SIGILL, libc::SIGFPE];

/// A three-argument (`SA_SIGINFO`) signal handler.
type SignalHandler = extern "C" fn(c_int, *mut libc::siginfo_t, *mut c_void);

/// The dispositions replaced by kiln's handler, one per entry of [`SIGNALS`].
/// Each slot is written exactly once, by `sigaction` during
/// [`install_trap_handler`], before kiln's handler for that signal can run;
/// afterwards only read.
struct Previous(UnsafeCell<[libc::sigaction; SIGNALS.len()]>);

// SAFETY: see the type's doc: writes happen once, inside `INSTALL`, each
// slot before the handler that reads it is installed; reads go through raw
// pointers to one slot, never a reference to the whole array.
unsafe impl Sync for Previous {}

// SAFETY: an all-zero `sigaction` is a valid value (SIG_DFL, no flags,
// empty mask).
static PREVIOUS: Previous = Previous(UnsafeCell::new(unsafe { core::mem::zeroed() }));
static INSTALL: Once = Once::new();

fn previous_slot(index: usize) -> *mut libc::sigaction {
    debug_assert!(index < SIGNALS.len());
    PREVIOUS.0.get().cast::<libc::sigaction>().wrapping_add(index)
}

/// Install kiln's handler for SIGSEGV, SIGBUS, SIGILL and SIGFPE, once per
/// process, saving the handlers it replaces.
pub fn install_trap_handler() {
    INSTALL.call_once(|| {
        // SA_SIGINFO: call the three-argument handler, which receives the
        //   context holding the faulting PC, FP and SP, and which it
        //   rewrites to resume.
        // SA_ONSTACK: run on the thread's alternate signal stack (see
        //   `prepare_thread`), so the handler has room even when the fault
        //   is a stack overflow of host code, and never depends on how much
        //   of the wasm stack is left.
        // Not SA_NODEFER: the signal stays blocked while the handler runs,
        //   and every way out of it is a return, whose `sigreturn`
        //   restores the mask.
        // Not SA_RESTART: irrelevant for synchronous faults.
        // Not SA_RESETHAND: the handler serves every trap, not just one.
        let flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
        for (i, &signum) in SIGNALS.iter().enumerate() {
            // SAFETY: the slot is a static `sigaction`, valid forever;
            // `handle_signal` is async-signal-safe (see its doc).
            let r = unsafe { install_signal_handler(signum, handle_signal, flags, previous_slot(i)) };
            // Cannot fail for these signals and a valid handler.
            debug_assert!(r.is_ok(), "sigaction({signum}): {r:?}");
        }
    });
}

/// Everything a thread needs before it first runs wasm: the process-wide
/// handler, and a signal stack for this thread.
pub fn prepare_thread() {
    install_trap_handler();
    let _ = ALT_STACK.try_with(|_| ());
}

/// Install `handler` for `signum` with `flags` and an empty mask, writing
/// the disposition it replaces to `previous`.
///
/// # Safety
///
/// `previous` must be valid for a write of a `libc::sigaction` and stay
/// valid for as long as the handler may read it. `handler` must be
/// async-signal-safe.
unsafe fn install_signal_handler(
    signum: c_int,
    handler: SignalHandler,
    flags: c_int,
    previous: *mut libc::sigaction,
) -> io::Result<()> {
    // SAFETY: an all-zero `sigaction` is a valid value (SIG_DFL, no flags).
    let mut action: libc::sigaction = unsafe { core::mem::zeroed() };
    action.sa_sigaction = handler as usize;
    action.sa_flags = flags;
    // SAFETY: `action.sa_mask` is a valid, owned `sigset_t`.
    unsafe { libc::sigemptyset(&mut action.sa_mask) };
    // SAFETY: `action` is initialised; the caller guarantees `previous` is
    // writable.
    if unsafe { libc::sigaction(signum, &action, previous) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The handler. Never panics, allocates or locks: `claim_fault` reads a
/// thread-local and the lock-free registry; `chain` calls `sigaction`,
/// `raise` or the previous handler.
extern "C" fn handle_signal(signum: c_int, info: *mut libc::siginfo_t, ctx: *mut c_void) {
    if !ctx.is_null() {
        // SAFETY: the kernel passes the interrupted context as the third
        // argument of an SA_SIGINFO handler.
        let regs = unsafe { context_registers(signum, ctx) };
        // SAFETY: for SIGSEGV and SIGBUS the kernel fills `si_addr` with
        // the address whose access faulted; `info` is this signal's. (On
        // s390x the hardware reports only the page, so no address is
        // claimed there.)
        let fault_addr =
            (!info.is_null() && (signum == libc::SIGSEGV || signum == libc::SIGBUS) && !cfg!(target_arch = "s390x"))
                .then(|| unsafe { (*info).si_addr() } as usize);
        if let Some(point) = traphandlers::claim_fault(regs, fault_addr) {
            // SAFETY: `ctx` is this signal's context; `point` is the resume
            // point of this thread's innermost activation, which the
            // rewritten context enters `resume` with as the handler returns.
            unsafe { redirect_to_resume(ctx, point) };
            return;
        }
    }
    // SAFETY: forwarding this handler's own arguments.
    unsafe { chain(signum, info, ctx) }
}

/// Pass a fault kiln does not claim to the disposition kiln replaced, as
/// if kiln were not there.
///
/// # Safety
///
/// The arguments must be those of a running `handle_signal`.
unsafe fn chain(signum: c_int, info: *mut libc::siginfo_t, ctx: *mut c_void) {
    let Some(index) = SIGNALS.iter().position(|&s| s == signum) else { return };
    // SAFETY: the slot was written before this handler was installed and is
    // never written again (see `Previous`).
    let previous = unsafe { previous_slot(index).read() };
    let errno = errno_location();
    // SAFETY: `errno_location` returns this thread's errno slot.
    let saved_errno = unsafe { errno.read() };

    // Sent by kill/raise/sigqueue rather than raised by an instruction:
    // returning would not raise it again.
    // SAFETY: `info` is the kernel's siginfo for this signal when non-null.
    let user_sent = !info.is_null() && unsafe { (*info).si_code } <= 0;
    let handler = previous.sa_sigaction;
    if handler == libc::SIG_DFL || handler == libc::SIG_IGN {
        if !(handler == libc::SIG_IGN && user_sent) {
            // Default action: reset the disposition and let the signal
            // happen again — a fault re-executes the faulting instruction
            // when we return; a sent signal is re-raised, and delivered as
            // soon as the handler returns and the mask is restored. An
            // ignored fault gets the default action too, as the kernel
            // would give it.
            // SAFETY: an all-zero `sigaction` is SIG_DFL with no flags and
            // an empty mask.
            let dfl: libc::sigaction = unsafe { core::mem::zeroed() };
            // SAFETY: `dfl` is a valid `sigaction`; no old action is read.
            unsafe { libc::sigaction(signum, &dfl, ptr::null_mut()) };
            if user_sent {
                // SAFETY: `raise` has no memory-safety preconditions.
                unsafe { libc::raise(signum) };
            }
        }
    } else if previous.sa_flags & libc::SA_SIGINFO != 0 {
        // SAFETY: with SA_SIGINFO, the saved disposition is a three-argument
        // handler installed by someone else for this signal.
        let f: SignalHandler = unsafe { core::mem::transmute::<usize, SignalHandler>(handler) };
        f(signum, info, ctx);
    } else {
        // SAFETY: without SA_SIGINFO, it is a one-argument handler.
        let f: extern "C" fn(c_int) = unsafe { core::mem::transmute::<usize, extern "C" fn(c_int)>(handler) };
        f(signum);
    }
    // SAFETY: as above.
    unsafe { errno.write(saved_errno) };
}

/// Where this thread's `errno` lives, so a signal handler that makes system
/// calls can restore it before returning to the interrupted code.
fn errno_location() -> *mut c_int {
    // SAFETY: each returns this thread's errno slot.
    unsafe {
        #[cfg(target_os = "linux")]
        return libc::__errno_location();
        #[cfg(target_os = "android")]
        return libc::__errno();
        #[cfg(target_vendor = "apple")]
        return libc::__error();
    }
}

// ---------------------------------------------------------------------------
// The interrupted context, per OS and architecture

/// The PC, frame pointer and stack pointer of the interrupted code, read
/// from the context a `SA_SIGINFO` handler receives.
///
/// `pc` is where the trap table has the fault: on s390x, SIGILL and SIGFPE
/// are reported with the PSW pointing past the trapping instruction, and
/// Cranelift records such trap sites on the instruction's last byte, so
/// one is subtracted; SIGSEGV and SIGBUS point at the instruction, where
/// memory-access trap sites are recorded. `fp` is what the architecture's
/// frame walk starts from (on s390x, the stack pointer: the backchain
/// lives there).
///
/// # Safety
///
/// `ctx` must be the third argument of a running `SA_SIGINFO` handler.
unsafe fn context_registers(signum: c_int, ctx: *const c_void) -> Registers {
    let _ = signum;
    // SAFETY: the caller passes the kernel-provided context of the current
    // signal, which is a valid `ucontext_t`.
    let uc = unsafe { &*ctx.cast::<libc::ucontext_t>() };
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let mc = &uc.uc_mcontext;
        #[cfg(target_arch = "x86_64")]
        return Registers {
            pc: mc.gregs[libc::REG_RIP as usize] as usize,
            fp: mc.gregs[libc::REG_RBP as usize] as usize,
            sp: mc.gregs[libc::REG_RSP as usize] as usize,
        };
        // x29 is the frame pointer in AAPCS64.
        #[cfg(target_arch = "aarch64")]
        return Registers { pc: mc.pc as usize, fp: mc.regs[29] as usize, sp: mc.sp as usize };
        // The kernel stores pc in slot 0 (where x0, always zero, would be);
        // sp is x2 and s0/fp is x8.
        #[cfg(target_arch = "riscv64")]
        return Registers { pc: mc.__gregs[0] as usize, fp: mc.__gregs[8] as usize, sp: mc.__gregs[2] as usize };
        // The PSW address is the PC; r15 is the stack pointer, which holds
        // the backchain.
        #[cfg(target_arch = "s390x")]
        return {
            let late = signum == libc::SIGILL || signum == libc::SIGFPE;
            let pc = (mc.psw.addr as usize).wrapping_sub(late as usize);
            let sp = mc.gregs[15] as usize;
            Registers { pc, fp: sp, sp }
        };
    }
    #[cfg(target_vendor = "apple")]
    {
        // SAFETY: on Apple platforms `uc_mcontext` points to the machine
        // context the kernel saved with the signal frame.
        let ss = unsafe { &(*uc.uc_mcontext).__ss };
        #[cfg(target_arch = "x86_64")]
        return Registers { pc: ss.__rip as usize, fp: ss.__rbp as usize, sp: ss.__rsp as usize };
        #[cfg(target_arch = "aarch64")]
        return Registers { pc: ss.__pc as usize, fp: ss.__fp as usize, sp: ss.__sp as usize };
    }
}

/// Rewrite the interrupted context so that returning from the handler
/// calls the architecture's `resume` with `point`, on the stack `point`
/// lies in.
///
/// # Safety
///
/// `ctx` must be the third argument of a running `SA_SIGINFO` handler, and
/// `point` the resume point of a running `enter` on this thread whose
/// frames above it are all plain old frames.
unsafe fn redirect_to_resume(ctx: *mut c_void, point: *const c_void) {
    let (pc, arg, sp) = (arch::resume_entry(), point as usize, point as usize);
    // SAFETY: the caller passes the kernel-provided context of the current
    // signal, which is a valid `ucontext_t`, ours to change until we return.
    let uc = unsafe { &mut *ctx.cast::<libc::ucontext_t>() };
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let mc = &mut uc.uc_mcontext;
        #[cfg(target_arch = "x86_64")]
        {
            mc.gregs[libc::REG_RIP as usize] = pc as i64;
            mc.gregs[libc::REG_RDI as usize] = arg as i64;
            mc.gregs[libc::REG_RSP as usize] = sp as i64;
        }
        #[cfg(target_arch = "aarch64")]
        {
            mc.pc = pc as u64;
            mc.regs[0] = arg as u64;
            mc.sp = sp as u64;
        }
        #[cfg(target_arch = "riscv64")]
        {
            mc.__gregs[0] = pc as _;
            mc.__gregs[10] = arg as _;
            mc.__gregs[2] = sp as _;
        }
        #[cfg(target_arch = "s390x")]
        {
            mc.psw.addr = pc as _;
            mc.gregs[2] = arg as _;
            mc.gregs[15] = sp as _;
        }
    }
    #[cfg(target_vendor = "apple")]
    {
        // SAFETY: as in `context_registers`; the machine context is ours to
        // change until the handler returns.
        let ss = unsafe { &mut (*uc.uc_mcontext).__ss };
        #[cfg(target_arch = "x86_64")]
        {
            ss.__rip = pc as u64;
            ss.__rdi = arg as u64;
            ss.__rsp = sp as u64;
        }
        #[cfg(target_arch = "aarch64")]
        {
            ss.__pc = pc as u64;
            ss.__x[0] = arg as u64;
            ss.__sp = sp as u64;
        }
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android", target_vendor = "apple")))]
compile_error!("porting: read and rewrite the signal context for this OS in vm/sys/unix/signals.rs");

// ---------------------------------------------------------------------------
// The signal stack

/// Size of the signal stack kiln gives a thread: room for the kernel's
/// signal frame (several KiB with AVX-512, more with SVE or RVV state)
/// plus the handler and whatever previous handler it chains to.
const ALT_STACK_SIZE: usize = 64 * 1024;

/// The thread's signal stack, when kiln had to provide it.
struct AltStack {
    /// Guard page, then `ALT_STACK_SIZE` bytes of stack; `None` when the
    /// thread already had a large enough signal stack.
    mmap: Option<Mmap>,
}

impl AltStack {
    fn install() -> AltStack {
        match current_alt_stack() {
            // Keep an existing large enough stack (or one we are running on).
            Ok(Some((_, size))) if size >= ALT_STACK_SIZE => return AltStack { mmap: None },
            Ok(_) => {}
            // Without a signal stack, handlers run on the thread's stack,
            // which still has room: wasm is kept away from its end.
            Err(_) => return AltStack { mmap: None },
        }
        let page = super::page_size();
        let Ok(mut mmap) = Mmap::reserve(page + ALT_STACK_SIZE) else {
            return AltStack { mmap: None };
        };
        // The first page stays inaccessible: a handler overflowing the
        // signal stack faults instead of corrupting memory below it.
        if mmap.make_accessible(page, ALT_STACK_SIZE).is_err() {
            return AltStack { mmap: None };
        }
        // SAFETY: `[page, page + ALT_STACK_SIZE)` of the mapping is
        // read-write, and the mapping lives in this thread's `ALT_STACK`
        // until its drop disables the signal stack first.
        match unsafe { set_alt_stack(mmap.as_mut_ptr().add(page), ALT_STACK_SIZE) } {
            Ok(()) => AltStack { mmap: Some(mmap) },
            Err(_) => AltStack { mmap: None },
        }
    }
}

impl Drop for AltStack {
    fn drop(&mut self) {
        let Some(mmap) = &self.mmap else { return };
        let ours = mmap.as_ptr().wrapping_add(super::page_size());
        // Someone (std's thread exit) may already have disabled or replaced
        // it; only disable it if it is still ours, before it is unmapped.
        if let Ok(Some((sp, _))) = current_alt_stack() {
            if ptr::eq(sp, ours) {
                // SAFETY: a null stack disables the signal stack; nothing to
                // keep alive.
                let _ = unsafe { set_alt_stack(ptr::null_mut(), 0) };
            }
        }
    }
}

thread_local! {
    static ALT_STACK: AltStack = AltStack::install();
}

/// The thread's current alternate signal stack as `(lowest address, size)`,
/// or `None` when it has none.
pub(crate) fn current_alt_stack() -> io::Result<Option<(*mut u8, usize)>> {
    // SAFETY: an all-zero `stack_t` is a valid value to be overwritten.
    let mut old: libc::stack_t = unsafe { core::mem::zeroed() };
    // SAFETY: querying only; `old` is writable.
    if unsafe { libc::sigaltstack(ptr::null(), &mut old) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if old.ss_flags & libc::SS_DISABLE != 0 {
        return Ok(None);
    }
    Ok(Some((old.ss_sp.cast::<u8>(), old.ss_size)))
}

/// Make `[sp, sp + size)` this thread's alternate signal stack, or disable
/// the alternate stack when `sp` is null.
///
/// # Safety
///
/// A non-null range must be readable and writable memory owned by the
/// caller that stays mapped until the alternate stack is replaced or
/// disabled on this thread.
unsafe fn set_alt_stack(sp: *mut u8, size: usize) -> io::Result<()> {
    let new = libc::stack_t {
        ss_sp: sp.cast::<c_void>(),
        ss_flags: if sp.is_null() { libc::SS_DISABLE } else { 0 },
        ss_size: size,
    };
    // SAFETY: the caller guarantees the range outlives its use as this
    // thread's signal stack.
    if unsafe { libc::sigaltstack(&new, ptr::null_mut()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vm::traphandlers::catch_traps;
    use crate::vm::vmctx::VMRuntimeLimits;

    #[test]
    fn alt_stack_is_installed() {
        let limits = VMRuntimeLimits::default();
        // SAFETY: the closure owns nothing with a destructor and runs no wasm.
        let _ = unsafe { catch_traps(&limits, 1 << 20, || {}) };
        let (_, size) = current_alt_stack().unwrap().expect("a signal stack");
        assert!(size >= ALT_STACK_SIZE);
    }

    use crate::vm::testing::{is_child, run_child};

    fn child(test: &str) -> std::process::ExitStatus {
        run_child(&format!("vm::sys::unix::signals::tests::{test}"))
    }

    /// Fault outside kiln code, with nothing between kiln and the default
    /// disposition but Rust's own handler: the process dies of SIGSEGV, as it
    /// would without kiln.
    #[test]
    fn unclaimed_fault_dies_as_without_kiln() {
        use std::os::unix::process::ExitStatusExt;
        if is_child("unclaimed_fault_dies_as_without_kiln") {
            let limits = VMRuntimeLimits::default();
            let page = Mmap::reserve(1).unwrap();
            // SAFETY: the closure owns nothing with a destructor. The read
            // faults outside kiln code on purpose: this child process must
            // die of it.
            let _ = unsafe {
                catch_traps(&limits, 1 << 20, || {
                    page.as_ptr().read_volatile();
                })
            };
            std::process::exit(0);
        }
        let status = child("unclaimed_fault_dies_as_without_kiln");
        // PROT_NONE pages fault with SIGBUS on Apple platforms.
        let expected = if cfg!(target_vendor = "apple") { libc::SIGBUS } else { libc::SIGSEGV };
        assert_eq!(status.signal(), Some(expected), "{status:?}");
    }

    /// A handler installed before kiln receives the faults kiln does not
    /// claim, while kiln still claims its own traps.
    #[test]
    fn unclaimed_fault_goes_to_the_previous_handler() {
        extern "C" fn host_handler(_: c_int, _: *mut libc::siginfo_t, _: *mut c_void) {
            // SAFETY: `_exit` is async-signal-safe and ends the process.
            unsafe { libc::_exit(42) }
        }
        if is_child("unclaimed_fault_goes_to_the_previous_handler") {
            let mut old = core::mem::MaybeUninit::<libc::sigaction>::uninit();
            for signum in [libc::SIGSEGV, libc::SIGBUS] {
                // SAFETY: `old` is writable; the handler is async-signal-safe.
                unsafe { install_signal_handler(signum, host_handler, libc::SA_SIGINFO, old.as_mut_ptr()).unwrap() };
            }
            let limits = VMRuntimeLimits::default();
            // Kiln's own trap is still claimed.
            if crate::vm::traphandlers::tests::guard_page_load_traps() != Ok(()) {
                std::process::exit(1);
            }
            let page = Mmap::reserve(1).unwrap();
            // SAFETY: the closure owns nothing with a destructor. The read
            // faults outside kiln code on purpose: the host handler exits.
            let _ = unsafe {
                catch_traps(&limits, 1 << 20, || {
                    page.as_ptr().read_volatile();
                })
            };
            std::process::exit(0);
        }
        let status = child("unclaimed_fault_goes_to_the_previous_handler");
        assert_eq!(status.code(), Some(42), "{status:?}");
    }
}
