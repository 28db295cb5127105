//! Wasm activations: the resume point a trap jumps back to, and the
//! per-thread state the signal handler needs to claim a fault.
//!
//! ```text
//!  host  ── catch_traps(limits, max_wasm_stack, f) ─────────────────────┐
//!            │ install signal handlers (once per process)                │
//!            │ ensure a signal stack (once per thread)                   │
//!            │ push Activation ──► THREAD.current (list, innermost       │
//!            │                     first, so host→wasm→host→wasm nests)  │
//!            │ outermost for this store? set limits.stack_limit          │
//!            ▼                                                           │
//!  sys::enter ── callee ──► wasm frames … trap!                        │
//!       ▲                                │ SIGILL/SEGV/BUS/FPE, or an     │
//!       │                                ▼ exception on Windows           │
//!       └── sys::resume ◄── fault handler (sys) → claim_fault:            │
//!           (the handler     activation? kiln code? trap site?            │
//!            returns into    → record code, pc, fp, backtrace (frames     │
//!            it)               still intact), hand back the resume point  │
//!            pop Activation, restore stack_limit                         │
//!            Ok(()) or Err(TrapInfo { code, pc, fp, backtrace }) ◄───────┘
//! ```
//!
//! Resuming skips every frame between the resume point and the
//! trap without running anything in them. That is only sound for "plain
//! old frames" — frames with no pending destructors or other cleanup — which
//! is what [`catch_traps`] requires of its closure (see there).

use super::sys;
use super::vmctx::VMRuntimeLimits;
use core::cell::Cell;
use core::ffi::c_void;
use core::ptr;
use kiln_artifact::traps::TrapCode;

/// Why and where wasm code stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrapInfo {
    /// The trap code recorded for the trap site (or given to [`raise_trap`]).
    pub code: TrapCode,
    /// Address of the trapping instruction (the trap site).
    pub pc: usize,
    /// The frame-pointer register at the trap: the trapping wasm function's
    /// frame (compiled code keeps frame pointers and sets them up before
    /// its stack check).
    pub fp: usize,
    /// The address whose access faulted, when the fault says (a memory
    /// access that hit a guard page or an unmapped page).
    pub fault_addr: Option<usize>,
    /// The wasm frames at the trap, captured before leaving them.
    pub backtrace: WasmBacktrace,
}

/// How many frames a [`WasmBacktrace`] keeps (the innermost ones).
pub const MAX_BACKTRACE_FRAMES: usize = 64;

/// The innermost wasm frames of a trap, captured by the signal handler
/// while they were still on the stack (afterwards their memory is reused).
///
/// `pcs()[0]` is the trap PC; each following entry is the return address
/// into a wasm caller (the instruction *after* the call: subtract one to map
/// it to a wasm offset). The walk follows frame pointers and stops at the
/// first address outside registered kiln code — the host that entered wasm
/// through a trampoline.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WasmBacktrace {
    pcs: Box<[usize]>,
    truncated: bool,
}

impl WasmBacktrace {
    /// Trap PC, then return addresses, innermost first.
    pub fn pcs(&self) -> &[usize] {
        &self.pcs
    }

    /// Whether older frames were left out (more than
    /// [`MAX_BACKTRACE_FRAMES`] wasm frames, e.g. a stack overflow).
    pub fn is_truncated(&self) -> bool {
        self.truncated
    }
}

/// A trap as the signal handler records it: fixed size, no allocation.
/// Turned into a [`TrapInfo`] by `catch_traps` once back in host code.
#[derive(Clone, Copy)]
struct RawTrap {
    code: TrapCode,
    pc: usize,
    fp: usize,
    fault_addr: Option<usize>,
    pcs: [usize; MAX_BACKTRACE_FRAMES],
    len: usize,
    truncated: bool,
}

impl RawTrap {
    /// Record a trap at (`pc`, `fp`) and walk the frame-pointer chain from
    /// there. Only reads inside `[sp, top)`, which must be readable (the
    /// live part of this thread's stack), and only at strictly increasing
    /// frame addresses, so a bad frame pointer ends the walk instead of
    /// faulting or looping. Async-signal-safe.
    fn capture(code: TrapCode, regs: sys::Registers, top: usize) -> RawTrap {
        let mut raw = RawTrap {
            code,
            pc: regs.pc,
            fp: regs.fp,
            fault_addr: None,
            pcs: [0; MAX_BACKTRACE_FRAMES],
            len: 0,
            truncated: false,
        };
        let (mut pc, mut fp, mut low) = (regs.pc, regs.fp, regs.sp);
        while super::code_registry::is_kiln_code(pc) {
            if raw.len == MAX_BACKTRACE_FRAMES {
                raw.truncated = true;
                break;
            }
            raw.pcs[raw.len] = pc;
            raw.len += 1;
            // SAFETY: the walk only reads inside `[low, top)`, part of
            // `[sp, top)`, which the caller guarantees is readable.
            let Some((ret, older_fp)) = (unsafe { sys::next_older_frame(fp, low, top) }) else { break };
            // Frames are strictly older, i.e. higher: a cycle ends the walk.
            if older_fp <= fp {
                break;
            }
            low = fp;
            (pc, fp) = (ret, older_fp);
        }
        raw
    }

    fn into_info(self) -> TrapInfo {
        TrapInfo {
            code: self.code,
            pc: self.pc,
            fp: self.fp,
            fault_addr: self.fault_addr,
            backtrace: WasmBacktrace { pcs: self.pcs[..self.len].into(), truncated: self.truncated },
        }
    }
}

/// One entry of the per-thread activation list. Lives in the frame of the
/// [`catch_traps`] call that pushed it.
pub(crate) struct Activation {
    /// The resume point of the running `sys::enter`, written by it.
    resume_point: Cell<*const c_void>,
    /// Set just before jumping to `resume_point`.
    trap: Cell<Option<RawTrap>>,
    /// The store whose code runs in this activation (identity only).
    limits: *const VMRuntimeLimits,
    /// The next older activation on this thread, or null.
    prev: *const Activation,
}

/// What a thread needs to run wasm, in one thread-local so that entering
/// wasm costs one thread-local access.
struct ThreadState {
    /// The innermost activation, or null.
    current: Cell<*const Activation>,
    /// Whether [`prepare_thread`] ran on this thread.
    prepared: Cell<bool>,
    /// The lowest address wasm may use on this thread's stack: its end as
    /// the OS tells it plus [`HOST_STACK_RESERVE`], or 0 if unknown.
    stack_floor: Cell<usize>,
}

thread_local! {
    /// `const`-initialised and without a destructor, so reading it from a
    /// signal handler neither allocates nor registers anything.
    static THREAD: ThreadState = const {
        ThreadState { current: Cell::new(ptr::null()), prepared: Cell::new(false), stack_floor: Cell::new(0) }
    };
}

/// The innermost activation of the calling thread, or null.
/// Async-signal-safe.
pub(crate) fn current_activation() -> *const Activation {
    THREAD.try_with(|t| t.current.get()).unwrap_or(ptr::null())
}

/// First wasm entry on this thread: install the process-wide signal
/// handlers (once), give the thread a signal stack, and read the bounds of
/// its stack — work every later entry skips.
#[cold]
#[inline(never)]
fn prepare_thread(thread: &ThreadState) {
    sys::prepare_thread();
    thread.stack_floor.set(sys::thread_stack_bounds().map_or(0, |(low, _)| low.saturating_add(HOST_STACK_RESERVE)));
    thread.prepared.set(true);
}

/// Whether wasm code is running (perhaps below host frames) on this thread.
pub fn in_wasm_activation() -> bool {
    !current_activation().is_null()
}

/// Decide whether a hardware fault at `regs` is a wasm trap, for the
/// platform's fault handler (`sys::unix::signals`, `sys::windows`), and if
/// so record it — code, PC, the faulting address if the platform gives
/// one, and the backtrace of the frames about to be
/// abandoned — in this thread's innermost activation and return its resume
/// point. The handler then makes the faulting thread continue in
/// `sys::resume_entry()` with that point. Async-signal-safe: no lock, no
/// allocation, no panic.
///
/// A fault is claimed only if **all three** hold:
///
/// 1. this thread is running a wasm activation,
/// 2. the PC is inside registered kiln code (`code_registry`),
/// 3. and it is a recorded trap site of that code (`.kiln.traps`).
///
/// Everything else — a fault in the host, a fault in kiln code that is not
/// a trap site — is not kiln's, and goes to whoever handled it before.
#[cfg_attr(miri, allow(dead_code))] // no fault handler under Miri
pub(crate) fn claim_fault(regs: sys::Registers, fault_addr: Option<usize>) -> Option<*const c_void> {
    let activation = current_activation();
    if activation.is_null() {
        return None;
    }
    let (code, _text_start, _text_offset) = super::code_registry::lookup_trap(regs.pc)?;
    // SAFETY: `activation` is this thread's live innermost activation; it
    // lives in a `catch_traps` frame above every frame of the fault, and
    // everything from the faulting stack pointer up to it is the live,
    // mapped stack of this thread.
    let act = unsafe { &*activation };
    let mut raw = RawTrap::capture(code, regs, activation as usize);
    raw.fault_addr = fault_addr;
    act.trap.set(Some(raw));
    Some(act.resume_point.get())
}

/// Record a trap in `activation`, with the backtrace of the frames about to
/// be abandoned, and jump to its resume point.
///
/// # Safety
///
/// `activation` must be the innermost activation of the calling thread;
/// `regs` the registers at the trap, on this thread's stack below the
/// activation (`regs.sp` at or below every frame of the trap); and every
/// frame above the resume point must be a plain old frame (see
/// [`catch_traps`]).
unsafe fn resume_with_trap(activation: *const Activation, code: TrapCode, regs: sys::Registers) -> ! {
    // SAFETY: the caller passes the live innermost activation of this
    // thread; it lives in an older `catch_traps` frame of this stack.
    let act = unsafe { &*activation };
    act.trap.set(Some(RawTrap::capture(code, regs, activation as usize)));
    // SAFETY: `resume_point` was written by `enter`, whose callee is still
    // running (the activation is live), and the caller guarantees every
    // frame in between is plain old.
    unsafe { sys::resume(act.resume_point.get()) }
}

/// Stop the running wasm code with `code`, as if it had trapped: jump back
/// to the innermost [`catch_traps`] of this thread, which returns
/// `Err(TrapInfo)`. For builtins (libcalls) called from compiled code.
///
/// `pc` and `fp` locate the wasm code that called the builtin — the
/// builtin's return address and the caller's frame pointer — for the
/// backtrace; pass 0 for both when they are not known.
///
/// Aborts the process if no activation is running on this thread.
///
/// # Safety
///
/// Every frame between the innermost `catch_traps` and this call — the
/// caller's included — must be a plain old frame: nothing in it may own a
/// value with a destructor (a `Box`, a `Vec`, a lock guard, …) or otherwise
/// need to run code on exit. Drop everything before calling. A non-zero
/// `fp` must be a frame pointer of a wasm frame of this activation.
pub unsafe fn raise_trap(code: TrapCode, pc: usize, fp: usize) -> ! {
    let act = current_activation();
    if act.is_null() {
        std::process::abort();
    }
    let regs = sys::Registers { pc, fp, sp: approximate_stack_pointer() };
    // SAFETY: `act` is this thread's innermost activation; frames of the
    // wasm caller lie between this frame and it; the caller guarantees the
    // frames above its resume point are plain old.
    unsafe { resume_with_trap(act, code, regs) }
}

/// Run `f`, which calls compiled wasm code, so that a trap in that code
/// comes back as `Err(TrapInfo)` instead of a signal that kills the
/// process.
///
/// * Installs the process-wide signal handlers on first use and gives the
///   thread a signal stack (64 KiB plus a guard page) unless it already has
///   one at least that large.
/// * Pushes an activation; nested calls (wasm → host → `catch_traps` →
///   wasm) each get their own, and a trap returns to the innermost.
/// * If no activation of the same store (same `limits`) is running on this
///   thread, sets `limits.stack_limit` to the current stack pointer minus
///   `max_wasm_stack` — raised if needed to leave at least 128 KiB of the
///   thread's stack for host code — and restores the previous value when
///   `f` finishes. Nested activations of the store share the outer budget.
///
/// # Safety
///
/// * `f` must not unwind. (An unwinding panic reaching the `extern "C"`
///   shim that calls `f` aborts the process.) Host functions called from
///   wasm must catch their own panics and report them as errors.
/// * Plain old frames: a trap resumes from the trapping instruction back
///   here, skipping `f`'s frame and everything it called without running
///   any of their code. So at every point where wasm code (or
///   [`raise_trap`]) may run, `f` must not own any value with a destructor
///   — read arguments and write results through raw pointers or plain
///   references captured by the closure, and keep guards, `Box`es and
///   `Vec`s outside `f`. The same holds for every host frame between a
///   nested `catch_traps` and wasm code it calls.
/// * The compiled code `f` calls must have been registered with
///   `code_registry::register` (or it will not trap cleanly), and must
///   check the stack against `limits` (the `VMRuntimeLimits` its vmctx
///   points to) so that deep recursion traps before the stack ends.
pub unsafe fn catch_traps<F: FnMut()>(
    limits: &VMRuntimeLimits,
    max_wasm_stack: usize,
    mut f: F,
) -> Result<(), TrapInfo> {
    let payload = (&mut f as *mut F).cast::<c_void>();
    let null = ptr::null_mut();
    // SAFETY: `call_closure::<F>` takes a live `F` first, which `payload`
    // is until this call returns; the rest is the caller's contract.
    unsafe { enter_wasm(limits, max_wasm_stack, call_closure::<F>, payload, null, null, 0) }.map(|_| ())
}

/// Call `callee(a, b, c, d)` (compiled code's array-call entry point, or a
/// shim) as a wasm activation: what [`catch_traps`] does, without a
/// closure in between, for the host → wasm call path. Returns the callee's
/// byte, or the trap.
///
/// # Safety
///
/// As for [`catch_traps`], with `callee` in the closure's place: it must
/// be safe to call with these arguments, must not unwind, and must check
/// the stack against `limits` if it runs wasm.
#[inline(always)]
pub unsafe fn enter_wasm(
    limits: &VMRuntimeLimits,
    max_wasm_stack: usize,
    callee: sys::Callee,
    a: *mut c_void,
    b: *mut c_void,
    c: *mut c_void,
    d: usize,
) -> Result<u8, TrapInfo> {
    // Only the address leaves the closure: a small closure is inlined, so
    // the access compiles to a plain thread-pointer offset.
    let thread: *const ThreadState = THREAD.with(|t| t as *const ThreadState);
    // SAFETY: the thread-local lives until this thread exits, which it
    // cannot do during this call; it is only used by this thread (the
    // signal handler reads `current`, a `Cell`, on the same thread).
    let thread = unsafe { &*thread };
    if !thread.prepared.get() {
        prepare_thread(thread);
    }
    let prev = thread.current.get();
    // SAFETY: `prev` is null or the live innermost activation of this
    // thread, whose list links only live activations.
    let outermost_for_store = !unsafe { store_is_active(prev, limits) };
    let saved_limit = limits.stack_limit.get();
    if outermost_for_store {
        limits.stack_limit.set(stack_limit(max_wasm_stack, thread.stack_floor.get()));
    }

    let activation = Activation { resume_point: Cell::new(ptr::null()), trap: Cell::new(None), limits, prev };
    thread.current.set(&activation);
    // SAFETY: `resume_point` is writable for the whole call; the caller
    // guarantees the callee and its arguments, and plain old frames between
    // here and any trap.
    let returned = unsafe { sys::enter(activation.resume_point.as_ptr(), callee, a, b, c, d) };
    thread.current.set(prev);
    if outermost_for_store {
        limits.stack_limit.set(saved_limit);
    }

    if returned != sys::RESUMED {
        Ok(returned as u8)
    } else {
        // Only `resume_with_trap` jumps to the resume point, and it records
        // the trap first.
        Err(activation.trap.get().expect("resumed without a recorded trap").into_info())
    }
}

/// The callee [`catch_traps`] enters with: runs the closure.
///
/// # Safety
///
/// `payload` must point to a live `F`, used by nothing else during the call.
unsafe extern "C" fn call_closure<F: FnMut()>(payload: *mut c_void, _: *mut c_void, _: *mut c_void, _: usize) -> u8 {
    // SAFETY: `catch_traps` passes its own `f`, exclusively borrowed for the
    // duration of the call.
    let f = unsafe { &mut *payload.cast::<F>() };
    f();
    1
}

/// Whether wasm of the store owning `limits` runs on this thread (below
/// the caller, in some activation).
pub fn store_running(limits: &VMRuntimeLimits) -> bool {
    // SAFETY: the innermost activation of this thread, or null.
    unsafe { store_is_active(current_activation(), limits) }
}

/// Whether an activation of the store owning `limits` is in the list
/// starting at `act`.
///
/// # Safety
///
/// `act` must be null or a live activation of this thread.
unsafe fn store_is_active(mut act: *const Activation, limits: *const VMRuntimeLimits) -> bool {
    while !act.is_null() {
        // SAFETY: activations are linked innermost to outermost and each
        // lives in a `catch_traps` frame still on this thread's stack.
        let a = unsafe { &*act };
        if ptr::eq(a.limits, limits) {
            return true;
        }
        act = a.prev;
    }
    false
}

/// How much of the thread's stack, at least, stays for host code below the
/// deepest wasm frame (host functions and builtins called from wasm run
/// there).
const HOST_STACK_RESERVE: usize = 128 * 1024;

/// The lowest stack address wasm code may use, for a budget of
/// `max_wasm_stack` bytes from here, on a thread whose wasm stack may not
/// go below `floor` (see [`ThreadState::stack_floor`]).
#[inline(always)]
fn stack_limit(max_wasm_stack: usize, floor: usize) -> usize {
    // Any address in this frame will do: the budget is approximate.
    let marker = 0u8;
    let sp = &marker as *const u8 as usize;
    // Never beyond the end of the thread's stack: deep recursion must trap,
    // not run into the guard page and crash. If even the floor is above
    // `sp`, wasm gets no stack at all and traps at once.
    sp.saturating_sub(max_wasm_stack).max(floor)
}

/// An address in the current stack frame's callee, i.e. just below the
/// caller's stack pointer.
#[inline(never)]
fn approximate_stack_pointer() -> usize {
    let marker = 0u8;
    core::hint::black_box(&marker) as *const u8 as usize
}

// Not under Miri: these run machine code and take faults.
#[cfg(all(test, not(miri)))]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn returns_ok_and_restores_state() {
        let limits = VMRuntimeLimits::default();
        let mut ran = false;
        // SAFETY: the closure owns nothing with a destructor and runs no wasm.
        let r = unsafe {
            catch_traps(&limits, 1 << 20, || {
                ran = true;
                assert!(in_wasm_activation());
            })
        };
        assert_eq!(r, Ok(()));
        assert!(ran);
        assert!(!in_wasm_activation());
        assert_eq!(limits.stack_limit.get(), usize::MAX);
    }

    #[test]
    fn stack_limit_is_set_once_per_store() {
        let (a, b) = (VMRuntimeLimits::default(), VMRuntimeLimits::default());
        let max = 256 * 1024;
        let mut seen = [0usize; 3];
        let here = approximate_stack_pointer();
        // SAFETY: no closure owns anything with a destructor or runs wasm.
        let r = unsafe {
            catch_traps(&a, max, || {
                seen[0] = a.stack_limit.get();
                let _ = catch_traps(&a, max, || seen[1] = a.stack_limit.get());
                let _ = catch_traps(&b, max, || seen[2] = b.stack_limit.get());
                assert_eq!(b.stack_limit.get(), usize::MAX, "restored after the inner call");
            })
        };
        assert_eq!(r, Ok(()));
        assert!(seen[0] < here && seen[0] + max + 64 * 1024 > here, "{:#x} vs sp {here:#x}", seen[0]);
        assert_eq!(seen[1], seen[0], "a nested activation of the same store keeps the budget");
        assert!(seen[2] < seen[0] + max && seen[2] != usize::MAX);
        assert_eq!(a.stack_limit.get(), usize::MAX);
    }

    #[test]
    fn stack_limit_stays_inside_the_thread_stack() {
        let limits = VMRuntimeLimits::default();
        let mut limit = 0;
        // SAFETY: the closure owns nothing with a destructor and runs no wasm.
        let _ = unsafe { catch_traps(&limits, usize::MAX, || limit = limits.stack_limit.get()) };
        if let Some((low, _)) = sys::thread_stack_bounds() {
            assert!(limit >= low + HOST_STACK_RESERVE);
        }
    }

    #[test]
    fn raise_trap_returns_an_error() {
        let limits = VMRuntimeLimits::default();
        for _ in 0..1000 {
            // SAFETY: the closure owns nothing with a destructor; nothing
            // between `catch_traps` and `raise_trap` needs cleanup.
            let r = unsafe { catch_traps(&limits, 1 << 20, || raise_trap(TrapCode::HostError, 0, 0)) };
            let trap = r.unwrap_err();
            assert_eq!((trap.code, trap.pc, trap.fp), (TrapCode::HostError, 0, 0));
            assert!(trap.backtrace.pcs().is_empty());
        }
        assert!(!in_wasm_activation());
    }

    /// Machine code for the running architecture, written by hand, with
    /// hand-built trap tables: the fault path is tested without the
    /// compiler. Each function is `(bytes, offset of its trap site)`.
    pub(crate) mod code {
        /// `fn()` that traps at once.
        #[cfg(target_arch = "x86_64")]
        pub const TRAP: (&[u8], u32) = (&[0x0f, 0x0b], 0); // ud2
        #[cfg(target_arch = "aarch64")]
        pub const TRAP: (&[u8], u32) = (&[0, 0, 0, 0], 0); // udf #0
        #[cfg(target_arch = "riscv64")]
        pub const TRAP: (&[u8], u32) = (&[0x73, 0x10, 0x00, 0xc0], 0); // unimp
                                                                       // The invalid opcode 0x0000, with its site on its last byte, as
                                                                       // Cranelift records s390x traps.
        #[cfg(target_arch = "s390x")]
        pub const TRAP: (&[u8], u32) = (&[0, 0], 1);

        /// `fn()` that returns.
        #[cfg(target_arch = "x86_64")]
        pub const RET: &[u8] = &[0xc3];
        #[cfg(target_arch = "aarch64")]
        pub const RET: &[u8] = &[0xc0, 0x03, 0x5f, 0xd6];
        #[cfg(target_arch = "riscv64")]
        pub const RET: &[u8] = &[0x67, 0x80, 0x00, 0x00];
        #[cfg(target_arch = "s390x")]
        pub const RET: &[u8] = &[0x07, 0xfe];

        /// `fn(*const u32) -> u32`: one load, the trap site, then return.
        #[cfg(all(target_arch = "x86_64", not(windows)))]
        pub const LOAD32: (&[u8], u32) = (&[0x8b, 0x07, 0xc3], 0); // mov eax, [rdi]; ret
        #[cfg(all(target_arch = "x86_64", windows))]
        pub const LOAD32: (&[u8], u32) = (&[0x8b, 0x01, 0xc3], 0); // mov eax, [rcx]; ret
        #[cfg(target_arch = "aarch64")]
        pub const LOAD32: (&[u8], u32) = (&[0x00, 0x00, 0x40, 0xb9, 0xc0, 0x03, 0x5f, 0xd6], 0); // ldr w0, [x0]; ret
        #[cfg(target_arch = "riscv64")]
        pub const LOAD32: (&[u8], u32) = (&[0x03, 0x25, 0x05, 0x00, 0x67, 0x80, 0x00, 0x00], 0); // lw a0, 0(a0); ret
        #[cfg(target_arch = "s390x")]
        pub const LOAD32: (&[u8], u32) = (&[0xe3, 0x20, 0x20, 0x00, 0x00, 0x16, 0x07, 0xfe], 0);
        // llgf %r2, 0(%r2); br %r14
    }

    use crate::vm::code_memory::CodeMemory;
    use crate::vm::code_registry::{self, Registration};
    use crate::vm::mmap::Mmap;
    use kiln_artifact::traps::TrapTableBuilder;

    struct Loaded {
        // Dropped first: unregister before the code and table go away.
        _reg: Registration,
        code: CodeMemory,
        _traps: Vec<u8>,
    }

    impl Loaded {
        fn addr(&self) -> usize {
            self.code.text_ptr() as usize
        }
    }

    fn load(text: &[u8], sites: &[(u32, TrapCode)]) -> Loaded {
        let mut b = TrapTableBuilder::default();
        for &(o, c) in sites {
            b.push(o, c);
        }
        let traps = b.finish();
        let code = CodeMemory::copied(text).unwrap();
        // SAFETY: `code` holds exactly this text and `traps` its table;
        // both outlive the registration (field order of `Loaded`).
        let reg = unsafe { code_registry::register(code.text_ptr() as usize, code.text_len(), &traps) };
        Loaded { _reg: reg, code, _traps: traps }
    }

    fn load_trap() -> Loaded {
        load(code::TRAP.0, &[(code::TRAP.1, TrapCode::UnreachableCodeReached)])
    }

    /// Run `code::TRAP` under `catch_traps`.
    fn call_trap(addr: usize, limits: &VMRuntimeLimits) -> Result<(), TrapInfo> {
        // SAFETY: `addr` is registered `code::TRAP` text: a function of no
        // arguments that traps before it would need to return.
        let func: extern "C" fn() = unsafe { core::mem::transmute(addr) };
        // SAFETY: the closure owns nothing with a destructor; the code is
        // registered.
        unsafe { catch_traps(limits, 1 << 20, || func()) }
    }

    #[test]
    fn traps_ten_thousand_times() {
        let l = load_trap();
        let limits = VMRuntimeLimits::default();
        for _ in 0..10_000 {
            let trap = call_trap(l.addr(), &limits).unwrap_err();
            assert_eq!(trap.code, TrapCode::UnreachableCodeReached);
            assert_eq!(trap.pc, l.addr() + code::TRAP.1 as usize);
            assert_eq!(trap.backtrace.pcs(), [trap.pc]);
        }
        assert!(!in_wasm_activation());
    }

    /// A load from a guard page traps and the next call runs normally, a
    /// hundred times; `Err` describes what went wrong instead of
    /// panicking, so a child process can report it (see
    /// `sys::unix::signals`).
    pub(crate) fn guard_page_load_traps() -> Result<(), String> {
        let l = load(code::LOAD32.0, &[(code::LOAD32.1, TrapCode::MemoryOutOfBounds)]);
        // SAFETY: the text is a complete `u32 (*const u32)` C-ABI function.
        let load32: extern "C" fn(*const u32) -> u32 = unsafe { core::mem::transmute(l.addr()) };
        let page = sys::page_size();
        let mut mem = Mmap::reserve(2 * page).map_err(|e| e.to_string())?;
        mem.make_accessible(0, page).map_err(|e| e.to_string())?;
        // SAFETY: page 0 is read-write.
        unsafe { mem.as_mut_ptr().cast::<u32>().write(0xfeed) };
        let limits = VMRuntimeLimits::default();
        let (ok, guard) = (mem.as_ptr().cast::<u32>(), mem.as_ptr().wrapping_add(page).cast::<u32>());
        let mut v = 0;
        for _ in 0..100 {
            // SAFETY: the closure owns nothing with a destructor.
            let r = unsafe { catch_traps(&limits, 1 << 20, || v = load32(ok)) };
            if (r.clone(), v) != (Ok(()), 0xfeed) {
                return Err(format!("in bounds: {r:?}, {v:#x}"));
            }
            // SAFETY: as above.
            let r = unsafe { catch_traps(&limits, 1 << 20, || v = load32(guard)) };
            match r {
                Err(t) if t.code == TrapCode::MemoryOutOfBounds && t.pc == l.addr() => {}
                other => return Err(format!("guard page: {other:?}")),
            }
        }
        Ok(())
    }

    #[test]
    fn guard_page_access_traps_at_a_trap_site() {
        guard_page_load_traps().unwrap();
    }

    #[test]
    fn nested_activations_trap_to_the_innermost() {
        let l = load_trap();
        let limits = VMRuntimeLimits::default();
        let mut inner = None;
        // SAFETY: neither closure owns anything with a destructor.
        let outer = unsafe {
            catch_traps(&limits, 1 << 20, || {
                inner = Some(call_trap(l.addr(), &limits));
                assert!(in_wasm_activation(), "the outer activation is still there");
                let func: extern "C" fn() = core::mem::transmute(l.addr());
                func();
            })
        };
        assert_eq!(inner.unwrap().unwrap_err().code, TrapCode::UnreachableCodeReached);
        assert_eq!(outer.unwrap_err().code, TrapCode::UnreachableCodeReached);
        assert!(!in_wasm_activation());
    }

    #[test]
    fn traps_on_many_threads() {
        let l = load_trap();
        let addr = l.addr();
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(move || {
                    let limits = VMRuntimeLimits::default();
                    for _ in 0..1000 {
                        assert_eq!(call_trap(addr, &limits).unwrap_err().pc, addr + code::TRAP.1 as usize);
                    }
                });
            }
        });
    }

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
        let regs = |pc| sys::Registers { pc, fp: 0, sp: approximate_stack_pointer() };

        // 1. No activation on this thread: not claimed.
        assert!(claim_fault(regs(base + 8), None).is_none());

        let limits = VMRuntimeLimits::default();
        let mut inside = (None, None, None);
        // SAFETY: the closure owns nothing with a destructor and runs no wasm.
        let r = unsafe {
            catch_traps(&limits, 1 << 20, || {
                inside = (
                    claim_fault(regs(base + 8), None).map(|_| ()),
                    // 2. Kiln code, but not a trap site.
                    claim_fault(regs(base + 9), None).map(|_| ()),
                    // 3. Not kiln code at all (this very test's code).
                    claim_fault(
                        regs(claims_only_trap_sites_of_kiln_code_inside_an_activation as *const () as usize),
                        None,
                    )
                    .map(|_| ()),
                );
            })
        };
        // Claiming only records the trap; the closure went on and returned.
        assert_eq!(r, Ok(()));
        assert_eq!(inside, (Some(()), None, None));
        drop(reg);
    }

    /// In-place mode for real: the bytes sit in the test binary's own
    /// executable section, as `include_wasm!` places artifacts.
    #[test]
    fn in_place_code_traps() {
        #[cfg_attr(any(target_os = "linux", target_os = "android"), link_section = ".text.kiln_test_in_place")]
        #[cfg_attr(target_vendor = "apple", link_section = "__TEXT,__kiln_test,regular,pure_instructions")]
        #[cfg_attr(windows, link_section = ".text$kiln_test")]
        #[used]
        static TEXT: [u8; code::TRAP.0.len()] = {
            let mut t = [0; code::TRAP.0.len()];
            let mut i = 0;
            while i < t.len() {
                t[i] = code::TRAP.0[i];
                i += 1;
            }
            t
        };
        let mut b = TrapTableBuilder::default();
        b.push(code::TRAP.1, TrapCode::UnreachableCodeReached);
        let traps = b.finish();
        let code = CodeMemory::in_place(&TEXT);
        // SAFETY: `code` holds exactly this text, executable in the test
        // binary; `traps` outlives the registration (dropped below).
        let reg = unsafe { code_registry::register(code.text_ptr() as usize, code.text_len(), &traps) };
        let limits = VMRuntimeLimits::default();
        let trap = call_trap(TEXT.as_ptr() as usize, &limits).unwrap_err();
        assert_eq!(trap.pc, TEXT.as_ptr() as usize + code::TRAP.1 as usize);
        drop(reg);
    }

    /// Hand-written x86_64 code of several frames, and the SIGFPE path.
    #[cfg(all(target_arch = "x86_64", not(windows)))]
    mod x86_64 {
        use super::*;

        #[test]
        fn division_by_zero_is_sigfpe_at_a_trap_site() {
            // mov eax, edi; cdq; idiv esi; ret
            let l = load(&[0x89, 0xf8, 0x99, 0xf7, 0xfe, 0xc3], &[(3, TrapCode::IntegerDivisionByZero)]);
            // SAFETY: the text is a complete `i32 (i32, i32)` C-ABI function.
            let div: extern "C" fn(i32, i32) -> i32 = unsafe { core::mem::transmute(l.addr()) };
            let limits = VMRuntimeLimits::default();
            let mut q = 0;
            // SAFETY: the closure owns nothing with a destructor.
            let r = unsafe { catch_traps(&limits, 1 << 20, || q = div(7, 2)) };
            assert_eq!((r, q), (Ok(()), 3));
            // SAFETY: as above.
            let r = unsafe { catch_traps(&limits, 1 << 20, || q = div(7, 0)) };
            let trap = r.unwrap_err();
            assert_eq!(trap.code, TrapCode::IntegerDivisionByZero);
            assert_eq!(trap.pc, l.addr() + 3);
        }

        #[test]
        fn backtrace_follows_wasm_frames_and_stops_at_the_host() {
            // f:  push rbp; mov rbp, rsp; call g; pop rbp; ret
            // g:  push rbp; mov rbp, rsp; ud2
            let text = [
                0x55, 0x48, 0x89, 0xe5, // 0: f
                0xe8, 0x02, 0x00, 0x00, 0x00, // 4: call 11 (rel32 = 2)
                0x5d, 0xc3, // 9: pop rbp; ret
                0x55, 0x48, 0x89, 0xe5, // 11: g
                0x0f, 0x0b, // 15: ud2
            ];
            let l = load(&text, &[(15, TrapCode::UnreachableCodeReached)]);
            let limits = VMRuntimeLimits::default();
            let trap = call_trap(l.addr(), &limits).unwrap_err();
            let base = l.addr();
            assert_eq!(trap.pc, base + 15);
            assert_eq!(trap.backtrace.pcs(), [base + 15, base + 9]);
            assert!(!trap.backtrace.is_truncated());
        }

        #[test]
        fn deep_backtraces_are_truncated() {
            // Recurse `edi` times, then trap:
            // f: push rbp; mov rbp, rsp; dec edi; jz done; call f; pop rbp; ret
            // done: ud2
            let text = [
                0x55, 0x48, 0x89, 0xe5, // 0: push rbp; mov rbp, rsp
                0xff, 0xcf, // 4: dec edi
                0x74, 0x07, // 6: jz 15
                0xe8, 0xf3, 0xff, 0xff, 0xff, // 8: call 0 (rel32 = -13)
                0x5d, 0xc3, // 13: pop rbp; ret
                0x0f, 0x0b, // 15: ud2
            ];
            let l = load(&text, &[(15, TrapCode::StackOverflow)]);
            // SAFETY: a C-ABI function of one i32 that recurses and traps.
            let func: extern "C" fn(i32) = unsafe { core::mem::transmute(l.addr()) };
            let limits = VMRuntimeLimits::default();
            let base = l.addr();
            for depth in [1, 5, MAX_BACKTRACE_FRAMES as i32, 1000] {
                // SAFETY: the closure owns nothing with a destructor.
                let trap = unsafe { catch_traps(&limits, 1 << 20, || func(depth)) }.unwrap_err();
                let pcs = trap.backtrace.pcs();
                assert_eq!(pcs[0], base + 15);
                assert!(pcs[1..].iter().all(|&pc| pc == base + 13));
                assert_eq!(pcs.len(), (depth as usize).min(MAX_BACKTRACE_FRAMES));
                assert_eq!(trap.backtrace.is_truncated(), depth as usize > MAX_BACKTRACE_FRAMES);
            }
        }
    }
}
