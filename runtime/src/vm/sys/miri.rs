//! The platform seam under Miri, the interpreter that checks unsafe Rust
//! for undefined behaviour.
//!
//! Miri cannot execute machine code, map memory with protections, or take
//! a signal, so this backend stands in for `unix`/`windows` and the
//! assembly of `arch`: a reservation is a zeroed heap allocation, a
//! protection change is a no-op, and `enter` calls its callee as an
//! ordinary Rust function. Compiled code never reaches `enter`:
//! `vm::entry` refuses a call whose entry point lies in a loaded module's
//! code (see `refuse_compiled_code` there). Everything else the runtime
//! does — parsing and relocating an artifact, instantiation, linear
//! memories, tables, globals, externrefs, host functions called from the
//! host, and all the checks on handles — runs here as it does on a real
//! host, so Miri checks its unsafe code.
//!
//! What Miri cannot check this way: that guard pages stop wasm (there is
//! no wasm running), and the fault handler itself.

use super::arch::Callee;
use super::Protection;
use core::ffi::c_void;
use core::ptr::NonNull;
use std::alloc::{self, Layout};
use std::io;

/// A fixed page size: Miri has no host to ask.
pub fn page_size() -> usize {
    4096
}

fn layout(len: usize) -> io::Result<Layout> {
    Layout::from_size_align(len, page_size()).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))
}

/// A zeroed, page-aligned allocation of `len` bytes standing for a
/// reservation (`len` a non-zero multiple of [`page_size`]).
pub fn mmap_reserve(len: usize) -> io::Result<NonNull<u8>> {
    if len == 0 || !len.is_multiple_of(page_size()) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "mmap length must be a non-zero multiple of the page size",
        ));
    }
    let layout = layout(len)?;
    // SAFETY: `layout` has a non-zero size.
    let p = unsafe { alloc::alloc_zeroed(layout) };
    NonNull::new(p).ok_or_else(|| io::Error::new(io::ErrorKind::OutOfMemory, format!("cannot allocate {len} bytes")))
}

/// Zero `[ptr, ptr + len)`, as discarding anonymous pages does.
///
/// # Safety
/// The range must lie inside an allocation of [`mmap_reserve`] the caller
/// owns and no longer uses.
pub unsafe fn discard(ptr: *mut u8, len: usize) -> io::Result<()> {
    // SAFETY: the caller's contract.
    unsafe { ptr.write_bytes(0, len) };
    Ok(())
}

/// Zero `[ptr, ptr + len)`, as a fresh anonymous mapping would read.
///
/// # Safety
/// As for [`discard`].
pub unsafe fn map_anonymous_fixed(ptr: *mut u8, len: usize, _prot: Protection) -> io::Result<()> {
    // SAFETY: the caller's contract.
    unsafe { ptr.write_bytes(0, len) };
    Ok(())
}

/// Memory images are copied instead of mapped here.
pub type ImageFile = std::fs::File;

/// Never called: [`sealed_memory_file`] makes no file.
///
/// # Safety
/// None needed; the signature matches the real hosts'.
pub unsafe fn map_file_private(_ptr: *mut u8, _len: usize, _file: &ImageFile, _offset: u64) -> io::Result<()> {
    Err(io::Error::new(io::ErrorKind::Unsupported, "no file mappings under Miri"))
}

/// Callers copy images instead.
pub fn sealed_memory_file<'a>(
    _name: &core::ffi::CStr,
    _len: u64,
    _parts: impl IntoIterator<Item = (u64, &'a [u8])>,
) -> io::Result<ImageFile> {
    Err(io::Error::new(io::ErrorKind::Unsupported, "no in-memory files under Miri"))
}

/// No huge pages: code is placed in ordinary pages.
pub fn huge_page_size() -> Option<usize> {
    None
}

/// # Safety
/// None: a hint that does nothing here.
pub unsafe fn advise_huge_pages(_ptr: *mut u8, _len: usize) {}

/// # Safety
/// None: a hint that does nothing here.
pub unsafe fn prefault_writable(_ptr: *mut u8, _len: usize) {}

/// Accepted and ignored: an allocation has no protection to change.
///
/// # Safety
/// The range must lie inside an allocation of [`mmap_reserve`].
pub unsafe fn mprotect(_ptr: *mut u8, _len: usize, _prot: Protection) -> io::Result<()> {
    Ok(())
}

/// Free a whole reservation.
///
/// # Safety
/// `ptr` and `len` must be exactly what [`mmap_reserve`] returned and was
/// given, and nothing may use the memory afterwards.
pub unsafe fn munmap(ptr: *mut u8, len: usize) -> io::Result<()> {
    let layout = layout(len)?;
    // SAFETY: the caller's contract: allocated by `mmap_reserve` with
    // this layout.
    unsafe { alloc::dealloc(ptr, layout) };
    Ok(())
}

/// No fault handler: no compiled code runs to fault.
pub fn install_trap_handler() {}

/// Nothing to prepare.
pub fn prepare_thread() {}

/// Unknown: the wasm stack limit then falls back to its default.
pub fn thread_stack_bounds() -> Option<(usize, usize)> {
    None
}

/// # Safety
/// None: nothing to flush.
pub unsafe fn flush_icache(_ptr: *const u8, _len: usize) {}

/// No `perf` here.
pub fn perf_map_path() -> Option<std::path::PathBuf> {
    None
}

/// Call `callee` as a Rust function: under Miri it is always a host
/// function's shim or a closure runner, never compiled code.
///
/// # Safety
/// As on real hosts; in addition `callee` must be a Rust function.
pub unsafe fn enter(
    resume_out: *mut *const c_void,
    callee: Callee,
    a: *mut c_void,
    b: *mut c_void,
    c: *mut c_void,
    d: usize,
) -> u32 {
    // SAFETY: `resume_out` is writable (the caller's contract). Nothing can
    // resume to it: only compiled code and the fault handler do.
    unsafe { resume_out.write(NonNull::<u8>::dangling().as_ptr().cast_const().cast()) };
    // SAFETY: the caller's contract.
    u32::from(unsafe { callee(a, b, c, d) })
}

/// Unreachable under Miri: only a trap raised by compiled code resumes.
///
/// # Safety
/// Never sound to call here.
pub unsafe fn resume(_resume_point: *const c_void) -> ! {
    std::process::abort()
}

/// No resume entry: nothing resumes under Miri.
pub fn resume_entry() -> usize {
    0
}

/// No compiled frames exist to walk.
///
/// # Safety
/// None.
pub unsafe fn next_older_frame(_fp: usize, _low: usize, _high: usize) -> Option<(usize, usize)> {
    None
}

/// Unreachable under Miri: no compiled code throws.
///
/// # Safety
/// Never sound to call here.
pub unsafe fn resume_to_handler(_pc: usize, _sp: usize, _fp: usize, _exn: usize) -> ! {
    std::process::abort()
}
