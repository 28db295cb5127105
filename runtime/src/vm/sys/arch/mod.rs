//! Per-architecture pieces of the platform seam: what an OS family cannot
//! decide for itself.
//!
//! Each file gives, for one instruction set:
//!
//! | item | what it does |
//! |---|---|
//! | `enter` | call an array entry point with a resume point (a `setjmp` that lives in one frame) |
//! | `resume` | jump back to a resume point (the matching `longjmp`) |
//! | `next_older_frame` | one step of the frame-pointer walk over compiled code |
//! | `resume_to_handler` | jump to an exception landing pad with its stack and frame pointers |
//! | `sync_icache` | instruction-cache maintenance the ISA exposes to user code (aarch64 only) |
//!
//! Everything is Rust inline or naked assembly: the runtime has no C, so a
//! cross build needs only a linker.
//!
//! `enter` saves every register the platform ABI calls callee-saved (or,
//! on x86_64, tells the compiler they are clobbered so it saves the live
//! ones), records the stack pointer as the resume point, and calls the
//! entry point. A normal return restores them and hands back the entry
//! point's byte. `resume` sets the stack pointer to the resume point,
//! restores the same registers and returns [`RESUMED`] from `enter`
//! instead: every frame in between is abandoned without running any of its
//! code, which is sound only for plain old frames (see
//! `vm::traphandlers::catch_traps`).
//!
//! Neither touches the signal mask. A trap resumes through the signal
//! context (the handler returns into `resume`, see `sys::unix`), so the
//! kernel restores the mask itself; builtins that raise a trap call
//! `resume` directly and never ran with a changed mask.

use core::ffi::c_void;

/// A function [`enter`] calls: four pointer-sized arguments, a byte back
/// (the shape of compiled code's array-call entry points).
pub type Callee = unsafe extern "C" fn(*mut c_void, *mut c_void, *mut c_void, usize) -> u8;

/// What [`enter`] returns when [`resume`] jumped back.
pub const RESUMED: u32 = 0x100;

#[cfg(all(target_arch = "x86_64", not(miri)))]
mod x86_64;
#[cfg(all(target_arch = "x86_64", not(miri)))]
pub use x86_64::*;

#[cfg(all(target_arch = "aarch64", not(miri)))]
mod aarch64;
#[cfg(all(target_arch = "aarch64", not(miri)))]
pub use aarch64::*;

#[cfg(all(target_arch = "riscv64", not(miri)))]
mod riscv64;
#[cfg(all(target_arch = "riscv64", not(miri)))]
pub use riscv64::*;

#[cfg(all(target_arch = "s390x", not(miri)))]
mod s390x;
#[cfg(all(target_arch = "s390x", not(miri)))]
pub use s390x::*;

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64", target_arch = "riscv64", target_arch = "s390x")))]
compile_error!(
    "porting: kiln runs on x86_64, aarch64, riscv64 and s390x; a new architecture needs a file in \
     runtime/src/vm/sys/arch/ (enter, resume, next_older_frame)"
);

/// The frame record of a frame pointer `fp` on the architectures whose
/// compiled code keeps `[fp] = caller's fp, [fp + 8] = return address`:
/// x86_64 (`push rbp; mov rbp, rsp`), aarch64 (`stp x29, x30, [sp, #-16]!;
/// mov x29, sp`) and riscv64 as Cranelift lays it out (`sd ra, 8(sp); sd
/// fp, 0(sp); mv fp, sp`). Returns `(return address, caller's fp)`, or
/// `None` if the record is not inside `[low, high)`.
///
/// # Safety
///
/// `[low, high)` must be readable memory.
#[cfg(all(any(target_arch = "x86_64", target_arch = "aarch64", target_arch = "riscv64"), not(miri)))]
#[inline]
unsafe fn frame_record_at(fp: usize, low: usize, high: usize) -> Option<(usize, usize)> {
    let word = core::mem::size_of::<usize>();
    let end = fp.checked_add(2 * word)?;
    if fp < low || end > high || !fp.is_multiple_of(word) {
        return None;
    }
    let record = fp as *const usize;
    // SAFETY: both words lie inside `[low, high)`, which the caller
    // guarantees is readable; `fp` is word-aligned.
    Some(unsafe { (record.add(1).read(), record.read()) })
}

/// The stack pointer at a call of the wasm frame the walk knows as `fp`,
/// given the call site's frame offset (Cranelift's distance from the frame
/// pointer down to the stack pointer). On s390x the walk already tracks
/// each frame's stack pointer, which calls do not move.
#[inline]
pub fn stack_pointer_at_call(fp: usize, frame_offset: u32) -> Option<usize> {
    if cfg!(target_arch = "s390x") {
        Some(fp)
    } else {
        fp.checked_sub(frame_offset as usize)
    }
}

#[cfg(all(test, not(miri)))]
mod tests {
    use super::*;

    /// `enter` returns the callee's byte, passes the four arguments in
    /// order, and keeps every callee-saved register of the caller (the
    /// compiler relies on them across the call).
    #[test]
    fn enter_calls_and_returns() {
        unsafe extern "C" fn callee(a: *mut c_void, b: *mut c_void, c: *mut c_void, d: usize) -> u8 {
            (a as usize + 2 * b as usize + 3 * c as usize + 4 * d) as u8
        }
        let mut point = core::ptr::null();
        for i in 0..100usize {
            let args = [i, i + 1, i + 2, i + 3].map(|v| v as *mut c_void);
            // SAFETY: `callee` is a plain function of four arguments; `point`
            // is writable.
            let r = unsafe { enter(&mut point, callee, args[0], args[1], args[2], i + 3) };
            assert_eq!(r, ((i + 2 * (i + 1) + 3 * (i + 2) + 4 * (i + 3)) as u8) as u32);
            assert!(!point.is_null());
        }
    }

    /// `resume` from inside the callee lands in `enter`, which returns
    /// `RESUMED`, with the caller's state intact: values live across the
    /// call (in callee-saved registers or on the stack) are unchanged.
    #[test]
    fn resume_returns_resumed() {
        struct Slot(core::cell::Cell<*const c_void>);
        unsafe extern "C" fn jumper(slot: *mut c_void, _: *mut c_void, _: *mut c_void, _: usize) -> u8 {
            // SAFETY: the test passes a live `Slot`, written by `enter`.
            let point = unsafe { (*slot.cast::<Slot>()).0.get() };
            // Clobber what the compiler may keep in callee-saved registers.
            core::hint::black_box([1.5f64; 16]);
            // SAFETY: `enter` is running on this thread with this point; the
            // frames in between are this function's, which owns nothing.
            unsafe { resume(point) }
        }
        let slot = Slot(core::cell::Cell::new(core::ptr::null()));
        let mut live = [0u64; 8];
        for round in 0..1000u64 {
            for (i, v) in live.iter_mut().enumerate() {
                *v = round * 31 + i as u64;
            }
            let x = core::hint::black_box(round as f64 * 0.5);
            // SAFETY: `jumper` resumes to the point `enter` records, while
            // `enter` runs; `slot` outlives the call.
            let r = unsafe {
                enter(
                    slot.0.as_ptr(),
                    jumper,
                    &slot as *const Slot as *mut c_void,
                    core::ptr::null_mut(),
                    core::ptr::null_mut(),
                    0,
                )
            };
            assert_eq!(r, RESUMED);
            assert_eq!(x, round as f64 * 0.5);
            for (i, v) in live.iter().enumerate() {
                assert_eq!(*v, round * 31 + i as u64);
            }
        }
    }
}
