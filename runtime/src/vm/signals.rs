//! The process-wide handler for the signals compiled code raises when it
//! traps: SIGILL (Cranelift's trap instructions), SIGSEGV/SIGBUS (guard
//! pages) and SIGFPE (integer division).
//!
//! Installed once, on the first [`catch_traps`](super::traphandlers::catch_traps).
//! The dispositions it replaces are saved and every fault kiln does not
//! claim goes to them untouched, so the host's own handlers (and Rust's
//! stack-overflow reporting) keep working.
//!
//! A fault is claimed only if **all three** hold:
//!
//! 1. this thread is running a wasm activation (`traphandlers`),
//! 2. the faulting PC is inside registered kiln code (`code_registry`),
//! 3. and it is a recorded trap site of that code (`.kiln.traps`).
//!
//! Then the trap is recorded in the activation and the handler `longjmp`s
//! to the activation's resume point. The handler takes no lock, allocates
//! nothing and never panics: it reads a thread-local pointer, the signal
//! context, and the registry's lock-free snapshot.

use super::code_registry;
use super::sys;
use super::traphandlers;
use core::cell::UnsafeCell;
use core::ffi::{c_int, c_void};
use std::sync::Once;

/// The signals kiln handles; also the index of each saved disposition.
const SIGNALS: [c_int; 4] = [libc::SIGSEGV, libc::SIGBUS, libc::SIGILL, libc::SIGFPE];

/// The dispositions replaced by kiln's handler, one per entry of [`SIGNALS`].
/// Each slot is written exactly once, by `sigaction` during [`install`],
/// before kiln's handler for that signal can run; afterwards only read.
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
pub fn install() {
    INSTALL.call_once(|| {
        // SA_SIGINFO: call the three-argument handler, which receives the
        //   `ucontext_t` holding the faulting PC, FP and SP.
        // SA_ONSTACK: run on the thread's alternate signal stack (see
        //   `traphandlers`), so the handler has room even when the fault is
        //   a stack overflow of host code, and never depends on how much of
        //   the wasm stack is left.
        // SA_NODEFER: do not block the signal while the handler runs. The
        //   handler leaves by jumping to the resume point without restoring
        //   the signal mask (that would cost a system call per wasm call),
        //   so a blocked signal would stay blocked and the next trap would
        //   kill the process.
        // The mask is empty for the same reason: nothing may stay blocked.
        // Not SA_RESTART: irrelevant for synchronous faults.
        // Not SA_RESETHAND: the handler serves every trap, not just one.
        let flags = libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_NODEFER;
        for (i, &signum) in SIGNALS.iter().enumerate() {
            // SAFETY: the slot is a static `sigaction`, valid forever;
            // `handle_signal` is async-signal-safe (see its doc).
            let r = unsafe { sys::install_signal_handler(signum, handle_signal, flags, previous_slot(i)) };
            // Cannot fail for these signals and a valid handler.
            debug_assert!(r.is_ok(), "sigaction({signum}): {r:?}");
        }
    });
}

/// The handler. Never panics, allocates or locks: `classify` reads a
/// thread-local and the lock-free registry; `chain` calls `sigaction`,
/// `raise` or the previous handler.
extern "C" fn handle_signal(signum: c_int, info: *mut libc::siginfo_t, ctx: *mut c_void) {
    if !ctx.is_null() {
        // SAFETY: the kernel passes the interrupted context as the third
        // argument of an SA_SIGINFO handler.
        let regs = unsafe { sys::ucontext_registers(ctx) };
        if let Some((activation, code)) = classify(regs.pc) {
            // SAFETY: `classify` returned this thread's innermost
            // activation, and the PC is a trap site of kiln code running in
            // it: the frames above its resume point are compiled wasm code
            // and the `catch_traps` closure, plain old frames by
            // `catch_traps`'s contract. `regs` was read from this thread's
            // interrupted context.
            unsafe { traphandlers::resume_with_trap(activation, code, regs) }
        }
    }
    // SAFETY: forwarding this handler's own arguments.
    unsafe { chain(signum, info, ctx) }
}

/// The three checks: a wasm activation on this thread, a PC in registered
/// kiln code, at a recorded trap site. Returns the activation to resume
/// and the trap code, or `None` if the fault is not kiln's.
pub(crate) fn classify(pc: usize) -> Option<(*const traphandlers::Activation, kiln_artifact::traps::TrapCode)> {
    let activation = traphandlers::current_activation();
    if activation.is_null() {
        return None;
    }
    let (code, _text_start, _text_offset) = code_registry::lookup_trap(pc)?;
    Some((activation, code))
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
    let errno = sys::errno_location();
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
            // when we return; a sent signal is re-raised, and delivered at
            // once because SA_NODEFER left it unblocked. An ignored fault
            // gets the default action too, as the kernel would give it.
            let _ = sys::reset_signal_to_default(signum);
            if user_sent {
                sys::raise(signum);
            }
        }
    } else if previous.sa_flags & libc::SA_SIGINFO != 0 {
        // SAFETY: with SA_SIGINFO, the saved disposition is a three-argument
        // handler installed by someone else for this signal.
        let f: sys::SignalHandler = unsafe { core::mem::transmute::<usize, sys::SignalHandler>(handler) };
        f(signum, info, ctx);
    } else {
        // SAFETY: without SA_SIGINFO, it is a one-argument handler.
        let f: extern "C" fn(c_int) = unsafe { core::mem::transmute::<usize, extern "C" fn(c_int)>(handler) };
        f(signum);
    }
    // SAFETY: as above.
    unsafe { errno.write(saved_errno) };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vm::traphandlers::catch_traps;
    use crate::vm::vmctx::VMRuntimeLimits;
    use kiln_artifact::traps::{TrapCode, TrapTableBuilder};

    #[cfg(target_pointer_width = "64")]
    #[test]
    fn claims_only_trap_sites_of_kiln_code_inside_an_activation() {
        // A fake text range nothing executes (see code_registry's tests).
        let base = 0xfff1_0000_0000_0000usize;
        let mut b = TrapTableBuilder::default();
        b.push(8, TrapCode::IntegerOverflow);
        let traps = b.finish();
        // SAFETY: nothing executes at the fake range; `traps` outlives the
        // registration.
        let reg = unsafe { code_registry::register(base, 64, &traps) };

        // 1. No activation on this thread: not claimed.
        assert!(classify(base + 8).is_none());

        let limits = VMRuntimeLimits::default();
        let mut inside = (None, None, None);
        // SAFETY: the closure owns nothing with a destructor and runs no wasm.
        let r = unsafe {
            catch_traps(&limits, 1 << 20, || {
                inside = (
                    classify(base + 8).map(|c| c.1),
                    // 2. Kiln code, but not a trap site.
                    classify(base + 9).map(|c| c.1),
                    // 3. Not kiln code at all (this very test's code).
                    classify(claims_only_trap_sites_of_kiln_code_inside_an_activation as *const () as usize)
                        .map(|c| c.1),
                );
            })
        };
        assert_eq!(r, Ok(()));
        assert_eq!(inside, (Some(TrapCode::IntegerOverflow), None, None));
        drop(reg);
    }

    /// Run one test of this module in a fresh process (so the order of
    /// handler installation is under the test's control) and return its
    /// exit status.
    #[cfg(target_os = "linux")]
    fn run_child(test: &str) -> std::process::ExitStatus {
        let path = module_path!().split_once("::").map_or(module_path!(), |p| p.1);
        std::process::Command::new(std::env::current_exe().unwrap())
            .args([&format!("{path}::{test}"), "--exact", "--test-threads=1", "--nocapture"])
            .env("KILN_SIGNALS_CHILD", test)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap()
    }

    #[cfg(target_os = "linux")]
    fn is_child(test: &str) -> bool {
        std::env::var("KILN_SIGNALS_CHILD").is_ok_and(|v| v == test)
    }

    /// Fault outside kiln code, with nothing between kiln and the default
    /// disposition but Rust's own handler: the process dies of SIGSEGV, as it
    /// would without kiln.
    #[cfg(target_os = "linux")]
    #[test]
    fn unclaimed_fault_dies_as_without_kiln() {
        use std::os::unix::process::ExitStatusExt;
        if is_child("unclaimed_fault_dies_as_without_kiln") {
            let limits = VMRuntimeLimits::default();
            let page = crate::vm::mmap::Mmap::reserve(1).unwrap();
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
        let status = run_child("unclaimed_fault_dies_as_without_kiln");
        assert_eq!(status.signal(), Some(libc::SIGSEGV), "{status:?}");
    }

    /// A handler installed before kiln receives the faults kiln does not
    /// claim, while kiln still claims its own traps.
    #[cfg(target_os = "linux")]
    #[test]
    fn unclaimed_fault_goes_to_the_previous_handler() {
        extern "C" fn host_handler(_: c_int, _: *mut libc::siginfo_t, _: *mut c_void) {
            // SAFETY: `_exit` is async-signal-safe and ends the process.
            unsafe { libc::_exit(42) }
        }
        if is_child("unclaimed_fault_goes_to_the_previous_handler") {
            let mut old = core::mem::MaybeUninit::<libc::sigaction>::uninit();
            // SAFETY: `old` is writable; the handler is async-signal-safe.
            unsafe {
                sys::install_signal_handler(libc::SIGSEGV, host_handler, libc::SA_SIGINFO, old.as_mut_ptr()).unwrap()
            };
            let limits = VMRuntimeLimits::default();
            #[cfg(target_arch = "x86_64")]
            {
                // Kiln's own trap is still claimed.
                let code = crate::vm::code_memory::CodeMemory::copied(&[0x8b, 0x07, 0xc3]).unwrap();
                let mut b = TrapTableBuilder::default();
                b.push(0, TrapCode::MemoryOutOfBounds);
                let traps = b.finish();
                // SAFETY: `code` holds this text, `traps` its table; both
                // outlive the registration.
                let _reg = unsafe { code_registry::register(code.text_ptr() as usize, code.text_len(), &traps) };
                // SAFETY: a complete C-ABI `u32 (*const u32)` function.
                let load32: extern "C" fn(*const u32) -> u32 = unsafe { core::mem::transmute(code.text_ptr()) };
                // SAFETY: the closure owns nothing with a destructor.
                let r = unsafe {
                    catch_traps(&limits, 1 << 20, || {
                        load32(core::ptr::null());
                    })
                };
                if r.map_err(|t| t.code) != Err(TrapCode::MemoryOutOfBounds) {
                    std::process::exit(1);
                }
            }
            let page = crate::vm::mmap::Mmap::reserve(1).unwrap();
            // SAFETY: the closure owns nothing with a destructor. The read
            // faults outside kiln code on purpose: the host handler exits.
            let _ = unsafe {
                catch_traps(&limits, 1 << 20, || {
                    page.as_ptr().read_volatile();
                })
            };
            std::process::exit(0);
        }
        let status = run_child("unclaimed_fault_goes_to_the_previous_handler");
        assert_eq!(status.code(), Some(42), "{status:?}");
    }
}
