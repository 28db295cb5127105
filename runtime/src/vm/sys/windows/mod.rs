//! Windows implementation of the platform seam, over `windows-sys`. The
//! same contract as `sys::unix`, with Windows' two-step memory model: a
//! range is first reserved (address space only, `MEM_RESERVE`), then
//! committed when it becomes accessible (`MEM_COMMIT`), and decommitted
//! when it stops being so — which is also how its pages return to zero.
//! The fault handler is in `exceptions.rs`.

mod exceptions;
pub use exceptions::{install_trap_handler, prepare_thread};

use core::ffi::c_void;
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicUsize, Ordering};
use std::io;

use super::Protection;
use windows_sys::Win32::System::Memory::{
    VirtualAlloc, VirtualFree, VirtualProtect, MEM_COMMIT, MEM_DECOMMIT, MEM_RELEASE, MEM_RESERVE, PAGE_EXECUTE_READ,
    PAGE_NOACCESS, PAGE_PROTECTION_FLAGS, PAGE_READONLY, PAGE_READWRITE,
};

/// The host's page size in bytes (a power of two).
pub fn page_size() -> usize {
    static PAGE_SIZE: AtomicUsize = AtomicUsize::new(0);
    match PAGE_SIZE.load(Ordering::Relaxed) {
        0 => {
            // SAFETY: an all-zero SYSTEM_INFO is a valid value for
            // `GetSystemInfo` to overwrite, which it always does.
            let mut info = unsafe { core::mem::zeroed() };
            // SAFETY: `info` is writable.
            unsafe { windows_sys::Win32::System::SystemInformation::GetSystemInfo(&mut info) };
            let n = info.dwPageSize as usize;
            let n = if n.is_power_of_two() { n } else { 4096 };
            PAGE_SIZE.store(n, Ordering::Relaxed);
            n
        }
        n => n,
    }
}

impl Protection {
    /// `None` decommits. Windows has no page-level enforcement of landing
    /// pads (CFG works differently): `ReadExecuteBti` is `ReadExecute`.
    fn flags(self) -> PAGE_PROTECTION_FLAGS {
        match self {
            Protection::None => PAGE_NOACCESS,
            Protection::Read => PAGE_READONLY,
            Protection::ReadWrite => PAGE_READWRITE,
            Protection::ReadExecute | Protection::ReadExecuteBti => PAGE_EXECUTE_READ,
        }
    }
}

/// Reserve `len` bytes of fresh, inaccessible address space. `len` must be
/// a non-zero multiple of [`page_size`]. Nothing is committed, so a 6 GiB
/// reservation costs no commit charge until pages are made accessible.
pub fn mmap_reserve(len: usize) -> io::Result<NonNull<u8>> {
    if len == 0 || !len.is_multiple_of(page_size()) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "mmap length must be a non-zero multiple of the page size",
        ));
    }
    // SAFETY: a reservation at an address of the system's choice cannot
    // overlap or alter any existing memory.
    let p = unsafe { VirtualAlloc(ptr::null(), len, MEM_RESERVE, PAGE_NOACCESS) };
    NonNull::new(p.cast::<u8>()).ok_or_else(io::Error::last_os_error)
}

/// Commit `[ptr, ptr + len)` (fresh pages read as zero; committed ones keep
/// their contents) with protection `prot`.
///
/// # Safety
/// The range must be page-aligned and inside a reservation the caller owns.
unsafe fn commit(ptr: *mut u8, len: usize, prot: Protection) -> io::Result<()> {
    // SAFETY: the caller owns the range; committing changes no page that is
    // already committed except, below, its protection.
    if unsafe { VirtualAlloc(ptr.cast::<c_void>(), len, MEM_COMMIT, PAGE_READWRITE) }.is_null() {
        return Err(io::Error::last_os_error());
    }
    if prot != Protection::ReadWrite {
        let mut old = 0;
        // SAFETY: as above; the range is committed now.
        if unsafe { VirtualProtect(ptr.cast::<c_void>(), len, prot.flags(), &mut old) } == 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Decommit `[ptr, ptr + len)`: its pages are gone (and read as zero when
/// committed again); accessing it faults.
///
/// # Safety
/// The range must be page-aligned, inside a reservation the caller owns,
/// and no longer in use.
unsafe fn decommit(ptr: *mut u8, len: usize) -> io::Result<()> {
    // SAFETY: the caller's contract.
    if unsafe { VirtualFree(ptr.cast::<c_void>(), len, MEM_DECOMMIT) } == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Throw away what was written to `[ptr, ptr + len)`, keeping it
/// accessible read-write: afterwards the pages read as zero, and their
/// memory went back to the system.
///
/// # Safety
/// The range must be page-aligned, inside mappings the caller owns, read-
/// write, and no longer in use: its contents are discarded.
pub unsafe fn discard(ptr: *mut u8, len: usize) -> io::Result<()> {
    // SAFETY: forwarded from the caller's contract.
    unsafe { map_anonymous_fixed(ptr, len, Protection::ReadWrite) }
}

/// Replace `[ptr, ptr + len)` with fresh pages of protection `prot` (zero
/// when accessible).
///
/// # Safety
/// The range must be page-aligned, inside mappings the caller owns, and no
/// longer in use: its contents and any reference into it are invalidated.
pub unsafe fn map_anonymous_fixed(ptr: *mut u8, len: usize, prot: Protection) -> io::Result<()> {
    if len == 0 {
        return Ok(());
    }
    // SAFETY: the caller's contract; decommitting then committing leaves
    // fresh zero pages.
    unsafe {
        decommit(ptr, len)?;
        if prot != Protection::None {
            commit(ptr, len, prot)?;
        }
    }
    Ok(())
}

/// The file behind a copy-on-write memory image. Windows cannot map a file
/// view into part of an existing reservation without the placeholder APIs
/// of recent versions, so kiln copies data segments there instead: no value
/// of this type exists.
#[derive(Debug)]
pub enum ImageFile {}

/// Not available on Windows (see [`ImageFile`]): callers copy.
pub fn sealed_memory_file<'a>(
    _name: &core::ffi::CStr,
    _len: u64,
    _parts: impl IntoIterator<Item = (u64, &'a [u8])>,
) -> io::Result<ImageFile> {
    Err(io::Error::new(io::ErrorKind::Unsupported, "memory images need file views inside reservations"))
}

/// Never called: no [`ImageFile`] exists on Windows.
///
/// # Safety
/// None needed: uncallable.
pub unsafe fn map_file_private(_ptr: *mut u8, _len: usize, file: &ImageFile, _offset: u64) -> io::Result<()> {
    match *file {}
}

/// Large pages need a privilege hosts rarely grant: none.
pub fn huge_page_size() -> Option<usize> {
    None
}

/// A hint; nothing to do on Windows.
///
/// # Safety
/// The range must be page-aligned and inside a mapping the caller owns.
pub unsafe fn advise_huge_pages(ptr: *mut u8, len: usize) {
    let _ = (ptr, len);
}

/// A hint; committed pages fault in on first touch on Windows.
///
/// # Safety
/// The range must be page-aligned, read-write and inside a mapping the
/// caller owns.
pub unsafe fn prefault_writable(ptr: *mut u8, len: usize) {
    let _ = (ptr, len);
}

/// Change the protection of `[ptr, ptr + len)`: commit it when it becomes
/// accessible, decommit it when it becomes inaccessible.
///
/// # Safety
///
/// The range must be page-aligned, lie inside one reservation the caller
/// owns, and no live Rust reference may point into it whose validity the
/// new protection would break, and no code may be executing in it if it
/// stops being executable. Making a range inaccessible discards its
/// contents.
pub unsafe fn mprotect(ptr: *mut u8, len: usize, prot: Protection) -> io::Result<()> {
    if len == 0 {
        return Ok(());
    }
    // SAFETY: the caller's contract.
    unsafe {
        match prot {
            Protection::None => decommit(ptr, len),
            _ => commit(ptr, len, prot),
        }
    }
}

/// Release the reservation at `ptr` (of `len` bytes).
///
/// # Safety
///
/// `ptr` must be the start of a whole reservation the caller owns (Windows
/// releases reservations only whole), and nothing may use it afterwards.
pub unsafe fn munmap(ptr: *mut u8, len: usize) -> io::Result<()> {
    if len == 0 {
        return Ok(());
    }
    // SAFETY: the caller's contract.
    if unsafe { VirtualFree(ptr.cast::<c_void>(), 0, MEM_RELEASE) } == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The usable range `(lowest, highest)` of the current thread's stack: the
/// whole reservation the system made for it. Its lowest pages are the
/// guard pages that commit the stack as it grows, which the wasm stack
/// limit stays well above (`traphandlers::HOST_STACK_RESERVE`).
pub fn thread_stack_bounds() -> Option<(usize, usize)> {
    let (mut low, mut high) = (0usize, 0usize);
    // SAFETY: both out pointers are writable locals.
    unsafe { windows_sys::Win32::System::Threading::GetCurrentThreadStackLimits(&mut low, &mut high) };
    (low < high).then_some((low, high))
}

/// Make code written to `[ptr, ptr + len)` visible to instruction fetch
/// before it is first executed.
///
/// # Safety
///
/// The range must be mapped readable.
pub unsafe fn flush_icache(ptr: *const u8, len: usize) {
    if len == 0 {
        return;
    }
    // SAFETY: the call only performs cache maintenance on this process's
    // own range.
    unsafe {
        windows_sys::Win32::System::Diagnostics::Debug::FlushInstructionCache(
            windows_sys::Win32::System::Threading::GetCurrentProcess(),
            ptr.cast::<c_void>(),
            len,
        )
    };
}

/// Windows profilers have no perf map convention.
pub fn perf_map_path() -> Option<std::path::PathBuf> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_size_is_a_power_of_two() {
        assert!(page_size().is_power_of_two());
        assert!(page_size() >= 4096);
    }

    #[test]
    fn reserve_commit_decommit_release() {
        let len = 4 * page_size();
        let p = mmap_reserve(len).unwrap().as_ptr();
        // SAFETY: the range was just reserved by this test and is owned by it.
        unsafe {
            mprotect(p, page_size(), Protection::ReadWrite).unwrap();
            p.write(7);
            assert_eq!(p.read(), 7);
            mprotect(p, page_size(), Protection::Read).unwrap();
            assert_eq!(p.read(), 7);
            map_anonymous_fixed(p, page_size(), Protection::ReadWrite).unwrap();
            assert_eq!(p.read(), 0, "fresh pages read as zero");
            p.write(9);
            discard(p, page_size()).unwrap();
            assert_eq!(p.read(), 0);
            munmap(p, len).unwrap();
        }
    }

    #[test]
    fn thread_stack_bounds_contain_a_local() {
        let local = 0u8;
        let at = &local as *const u8 as usize;
        let (low, high) = thread_stack_bounds().expect("Windows knows every thread's stack");
        assert!(low < at && at < high, "{low:#x} < {at:#x} < {high:#x}");
    }
}
