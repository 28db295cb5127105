//! Unix implementation of the platform seam: thin, checked wrappers over
//! `libc`. Each function does one system call and turns failures into
//! `io::Error`; policy lives in the callers (`vm::mmap`,
//! `vm::linear_memory`, `vm::traphandlers`). The fault handler is in
//! `signals.rs`.

mod signals;
pub use signals::{install_trap_handler, prepare_thread};

use core::ffi::{c_int, c_void};
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicUsize, Ordering};
use std::io;

use super::Protection;
#[cfg(any(target_os = "linux", target_os = "android"))]
use std::os::fd::FromRawFd;
use std::os::fd::{AsRawFd, OwnedFd};

/// The host's page size in bytes (a power of two).
pub fn page_size() -> usize {
    static PAGE_SIZE: AtomicUsize = AtomicUsize::new(0);
    match PAGE_SIZE.load(Ordering::Relaxed) {
        0 => {
            // SAFETY: `sysconf` only reads a system constant.
            let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
            // POSIX guarantees a positive page size; fall back to the
            // smallest one any supported host uses rather than panic.
            let n = if n > 0 { n as usize } else { 4096 };
            PAGE_SIZE.store(n, Ordering::Relaxed);
            n
        }
        n => n,
    }
}

impl Protection {
    fn bits(self) -> c_int {
        match self {
            Protection::None => libc::PROT_NONE,
            Protection::Read => libc::PROT_READ,
            Protection::ReadWrite => libc::PROT_READ | libc::PROT_WRITE,
            Protection::ReadExecute => libc::PROT_READ | libc::PROT_EXEC,
            Protection::ReadExecuteBti => libc::PROT_READ | libc::PROT_EXEC | PROT_BTI,
        }
    }
}

/// `PROT_BTI` from Linux's `asm/mman.h` on arm64 (not in `libc` for every
/// target); no flag elsewhere.
#[cfg(all(target_arch = "aarch64", any(target_os = "linux", target_os = "android")))]
const PROT_BTI: c_int = 0x10;
#[cfg(not(all(target_arch = "aarch64", any(target_os = "linux", target_os = "android"))))]
const PROT_BTI: c_int = 0;

/// Reserve `len` bytes of fresh, private, inaccessible address space.
///
/// `len` must be a non-zero multiple of [`page_size`]. Nothing is committed:
/// on Linux the mapping is `MAP_NORESERVE`, so a 6 GiB reservation costs no
/// swap or overcommit budget until pages are made accessible and touched.
pub fn mmap_reserve(len: usize) -> io::Result<NonNull<u8>> {
    if len == 0 || !len.is_multiple_of(page_size()) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "mmap length must be a non-zero multiple of the page size",
        ));
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let noreserve = libc::MAP_NORESERVE;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let noreserve = 0;
    // SAFETY: an anonymous mapping at an address of the kernel's choice
    // cannot overlap or alter any existing memory.
    let p = unsafe {
        libc::mmap(ptr::null_mut(), len, libc::PROT_NONE, libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | noreserve, -1, 0)
    };
    if p == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    NonNull::new(p.cast::<u8>()).ok_or_else(|| io::Error::other("mmap returned null"))
}

/// Throw away what was written to `[ptr, ptr + len)`, keeping its
/// protection: afterwards the pages read as they did when first mapped —
/// zero for anonymous memory, the file's contents for a private file
/// mapping ([`map_file_private`]). The pages go back to the kernel.
///
/// # Safety
/// The range must be page-aligned, inside mappings the caller owns, and no
/// longer in use: its contents are discarded.
pub unsafe fn discard(ptr: *mut u8, len: usize) -> io::Result<()> {
    if len == 0 {
        return Ok(());
    }
    // Linux guarantees these semantics for private mappings: the next
    // access faults in a zero page or the file's page again. One call, and
    // the mapping (its protection, its VMA) is left as it is.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        // SAFETY: the caller owns the range and no longer needs its contents.
        if unsafe { libc::madvise(ptr.cast::<c_void>(), len, libc::MADV_DONTNEED) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
    // Elsewhere `MADV_DONTNEED` may keep the contents, so replace the pages
    // with fresh zero ones (no file mappings exist there: images are
    // Linux-only).
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        // SAFETY: forwarded from the caller's contract; the pages are
        // read-write, as discarded pages of a linear memory are.
        unsafe { map_anonymous_fixed(ptr, len, Protection::ReadWrite) }
    }
}

/// Replace `[ptr, ptr + len)` with fresh private anonymous pages of
/// protection `prot` (zero when accessible), dropping whatever was mapped
/// there — e.g. a file mapping from [`map_file_private`].
///
/// # Safety
/// The range must be page-aligned, inside mappings the caller owns, and no
/// longer in use: its contents and any reference into it are invalidated
/// (and on failure the range may be left unmapped).
pub unsafe fn map_anonymous_fixed(ptr: *mut u8, len: usize, prot: Protection) -> io::Result<()> {
    if len == 0 {
        return Ok(());
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let noreserve = libc::MAP_NORESERVE;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let noreserve = 0;
    // SAFETY: `MAP_FIXED` replaces exactly the given range, which the caller
    // owns and no longer uses; nothing outside it is touched.
    let p = unsafe {
        libc::mmap(
            ptr.cast::<c_void>(),
            len,
            prot.bits(),
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED | noreserve,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Map `len` bytes of `file` from `offset` copy-on-write and read-write
/// over `[ptr, ptr + len)`, replacing what was there: reads see the file,
/// writes go to private pages, and [`discard`] returns the range to the
/// file's contents.
///
/// # Safety
/// The range must be page-aligned, inside mappings the caller owns, and no
/// longer in use: what was mapped there is replaced — and on failure it
/// may be gone, leaving a hole the caller must fill (e.g. with
/// [`map_anonymous_fixed`]). `offset` must be page-aligned and the file at
/// least `offset + len` bytes long, or accesses past its end fault.
pub unsafe fn map_file_private(ptr: *mut u8, len: usize, file: &ImageFile, offset: u64) -> io::Result<()> {
    if len == 0 {
        return Ok(());
    }
    let offset = libc::off_t::try_from(offset)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "file offset out of range"))?;
    // SAFETY: `MAP_FIXED` replaces exactly the given range, which the caller
    // owns and no longer uses; the descriptor is open for the duration of
    // the call (the mapping keeps its own reference to the file).
    let p = unsafe {
        libc::mmap(
            ptr.cast::<c_void>(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_FIXED,
            file.as_raw_fd(),
            offset,
        )
    };
    if p == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The file behind a copy-on-write memory image: a sealed memfd.
pub type ImageFile = OwnedFd;

/// A file that lives only in memory, `len` bytes long, holding `parts`
/// (each `(offset, bytes)`, written in order, so a later part wins where
/// they overlap) and zero elsewhere; sealed, so neither its size nor its
/// contents can change after this returns — private mappings of it are
/// copy-on-write images anyone can trust.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub fn sealed_memory_file<'a>(
    name: &core::ffi::CStr,
    len: u64,
    parts: impl IntoIterator<Item = (u64, &'a [u8])>,
) -> io::Result<OwnedFd> {
    use std::os::unix::fs::FileExt;
    // SAFETY: `name` is a valid NUL-terminated string; the flags ask for a
    // new descriptor, closed on exec, that may be sealed.
    let fd = unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `memfd_create` just returned this descriptor, owned by no one
    // else.
    let file = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) });
    file.set_len(len)?;
    for (offset, bytes) in parts {
        file.write_all_at(bytes, offset)?;
    }
    let seals = libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
    // SAFETY: `fcntl` on a descriptor this function owns; F_ADD_SEALS takes
    // an int argument.
    if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_ADD_SEALS, seals) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(OwnedFd::from(file))
}

/// In-memory files are Linux-only here: callers copy instead.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub fn sealed_memory_file<'a>(
    _name: &core::ffi::CStr,
    _len: u64,
    _parts: impl IntoIterator<Item = (u64, &'a [u8])>,
) -> io::Result<OwnedFd> {
    Err(io::Error::new(io::ErrorKind::Unsupported, "memory images need memfd_create (Linux)"))
}

/// The size of a transparent huge page (the PMD size: 2 MiB with 4 KiB
/// pages), or `None` where the kernel offers none. Read once.
pub fn huge_page_size() -> Option<usize> {
    #[cfg(target_os = "linux")]
    {
        // 0: not read yet; 1: none.
        static SIZE: AtomicUsize = AtomicUsize::new(0);
        let n = match SIZE.load(Ordering::Relaxed) {
            0 => {
                let n = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size")
                    .ok()
                    .and_then(|s| s.trim().parse::<usize>().ok())
                    .filter(|n| n.is_power_of_two() && *n > page_size())
                    .unwrap_or(1);
                SIZE.store(n, Ordering::Relaxed);
                n
            }
            n => n,
        };
        (n > 1).then_some(n)
    }
    #[cfg(not(target_os = "linux"))]
    None
}

/// Ask the kernel to back `[ptr, ptr + len)` with transparent huge pages
/// where it can: one fault (and one TLB entry) per huge page instead of
/// one per page. A hint: failure changes nothing.
///
/// # Safety
/// The range must be page-aligned and inside a mapping the caller owns.
pub unsafe fn advise_huge_pages(ptr: *mut u8, len: usize) {
    #[cfg(target_os = "linux")]
    // SAFETY: `MADV_HUGEPAGE` changes how future faults are served, never
    // the contents or protection of the range, which the caller owns.
    unsafe {
        hint(ptr, len, libc::MADV_HUGEPAGE);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (ptr, len);
}

/// Fault in `[ptr, ptr + len)` for writing now, in one system call, rather
/// than one fault per page as it is first written. A hint: where the
/// kernel cannot (before Linux 5.14, elsewhere), the pages fault in as
/// usual.
///
/// # Safety
/// The range must be page-aligned, read-write and inside a mapping the
/// caller owns.
pub unsafe fn prefault_writable(ptr: *mut u8, len: usize) {
    #[cfg(target_os = "linux")]
    // SAFETY: `MADV_POPULATE_WRITE` allocates the pages as a write would,
    // without changing their contents (fresh pages are zero either way) or
    // protection; the caller owns the read-write range.
    unsafe {
        hint(ptr, len, libc::MADV_POPULATE_WRITE);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (ptr, len);
}

/// `madvise` as a hint: a refusal (an old kernel, an unsupported advice)
/// changes nothing, so its result is ignored.
///
/// # Safety
/// `advice` must not change the contents or protection of the range, which
/// must be page-aligned and inside a mapping the caller owns.
#[cfg(target_os = "linux")]
unsafe fn hint(ptr: *mut u8, len: usize, advice: c_int) {
    // SAFETY: the caller's contract.
    unsafe { libc::madvise(ptr.cast::<c_void>(), len, advice) };
}

/// Change the protection of `[ptr, ptr + len)`.
///
/// # Safety
///
/// The range must be page-aligned, lie inside one mapping the caller owns,
/// and no live Rust reference may point into it whose validity the new
/// protection would break (e.g. a `&mut [u8]` into a range made read-only
/// or inaccessible), and no code may be executing in it if it stops being
/// executable.
pub unsafe fn mprotect(ptr: *mut u8, len: usize, prot: Protection) -> io::Result<()> {
    if len == 0 {
        return Ok(());
    }
    // SAFETY: the caller guarantees the range is owned and that the change
    // invalidates nothing still in use.
    if unsafe { libc::mprotect(ptr.cast::<c_void>(), len, prot.bits()) } != 0 {
        let err = io::Error::last_os_error();
        // A kernel or CPU without BTI refuses the flag: the landing pads
        // are hints then, and the code runs unguarded as on any other CPU.
        if prot == Protection::ReadExecuteBti && err.raw_os_error() == Some(libc::EINVAL) {
            // SAFETY: as above.
            return unsafe { mprotect(ptr, len, Protection::ReadExecute) };
        }
        return Err(err);
    }
    Ok(())
}

/// Unmap `[ptr, ptr + len)`.
///
/// # Safety
///
/// The range must be a mapping (or the rest of one) the caller owns, and
/// nothing may use it afterwards.
pub unsafe fn munmap(ptr: *mut u8, len: usize) -> io::Result<()> {
    if len == 0 {
        return Ok(());
    }
    // SAFETY: the caller owns the range and guarantees nothing uses it
    // afterwards.
    if unsafe { libc::munmap(ptr.cast::<c_void>(), len) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Thread stacks

/// The usable range `(lowest, highest)` of the current thread's stack,
/// excluding its guard region, if the platform can tell.
///
/// Threads the C library created (every `std::thread`) are described by
/// `pthread_getattr_np`, which both glibc and musl answer exactly. The main
/// thread is not: its stack grows on demand up to `RLIMIT_STACK`, and musl
/// reports only the part mapped so far (often a few pages), which would
/// leave wasm no stack at all. So the main thread's range is computed here
/// the way the kernel bounds it: from the top of the stack mapping down by
/// the soft limit.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub fn thread_stack_bounds() -> Option<(usize, usize)> {
    // SAFETY: `getpid` and `gettid` have no preconditions.
    let main_thread = unsafe { libc::getpid() == libc::gettid() };
    if main_thread {
        if let Some(bounds) = main_thread_stack_bounds() {
            return Some(bounds);
        }
    }
    pthread_stack_bounds()
}

/// What `pthread_getattr_np` says of the current thread's stack.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn pthread_stack_bounds() -> Option<(usize, usize)> {
    // SAFETY: an all-zero `pthread_attr_t` is a valid value for
    // `pthread_getattr_np` to overwrite.
    let mut attr: libc::pthread_attr_t = unsafe { core::mem::zeroed() };
    // SAFETY: `attr` is writable; on success it must be destroyed below.
    if unsafe { libc::pthread_getattr_np(libc::pthread_self(), &mut attr) } != 0 {
        return None;
    }
    let mut addr: *mut c_void = ptr::null_mut();
    let (mut size, mut guard) = (0usize, 0usize);
    // SAFETY: `attr` was initialised by `pthread_getattr_np`; the out
    // pointers are writable locals.
    let ok = unsafe {
        libc::pthread_attr_getstack(&attr, &mut addr, &mut size) == 0
            && libc::pthread_attr_getguardsize(&attr, &mut guard) == 0
    };
    // SAFETY: `attr` was initialised by `pthread_getattr_np`.
    unsafe { libc::pthread_attr_destroy(&mut attr) };
    if !ok || addr.is_null() {
        return None;
    }
    // glibc and musl count the guard inside the reported stack of
    // non-main threads.
    let low = (addr as usize).checked_add(guard)?;
    let high = (addr as usize).checked_add(size)?;
    (low < high).then_some((low, high))
}

/// The main thread's stack: the mapping that holds the stack pointer, from
/// its end down by `RLIMIT_STACK`, but not into the gap the kernel keeps
/// above the mapping under it. `None` when the limit is infinite or `/proc`
/// cannot be read.
/// Linux's default `stack_guard_gap`: a growing stack stops this many pages
/// short of the mapping below it.
#[cfg(any(target_os = "linux", target_os = "android"))]
const STACK_GUARD_GAP_PAGES: usize = 256;

#[cfg(any(target_os = "linux", target_os = "android"))]
fn main_thread_stack_bounds() -> Option<(usize, usize)> {
    // SAFETY: an all-zero `rlimit` is a valid value to be overwritten.
    let mut limit: libc::rlimit = unsafe { core::mem::zeroed() };
    // SAFETY: `limit` is writable.
    if unsafe { libc::getrlimit(libc::RLIMIT_STACK, &mut limit) } != 0 || limit.rlim_cur == libc::RLIM_INFINITY {
        return None;
    }
    let marker = 0u8;
    let sp = core::hint::black_box(&marker) as *const u8 as usize;
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    let (mut below, mut top) = (0usize, None);
    for line in maps.lines() {
        let range = line.split_whitespace().next()?;
        let (start, end) = range.split_once('-')?;
        let (start, end) = (usize::from_str_radix(start, 16).ok()?, usize::from_str_radix(end, 16).ok()?);
        if (start..end).contains(&sp) {
            top = Some(end);
            break;
        }
        below = end;
    }
    let top = top?;
    let low = top
        .saturating_sub(usize::try_from(limit.rlim_cur).unwrap_or(usize::MAX))
        .max(below + STACK_GUARD_GAP_PAGES * page_size());
    (low < sp).then_some((low, top))
}

/// The usable range of the current thread's stack, from the thread's own
/// description (Apple's C library answers for the main thread too).
#[cfg(target_vendor = "apple")]
pub fn thread_stack_bounds() -> Option<(usize, usize)> {
    // SAFETY: both calls only read the current thread's description.
    let (top, size) = unsafe {
        let me = libc::pthread_self();
        (libc::pthread_get_stackaddr_np(me) as usize, libc::pthread_get_stacksize_np(me))
    };
    let low = top.checked_sub(size)?;
    // The reported size includes the guard page of secondary threads.
    let low = low.checked_add(page_size())?;
    (low < top).then_some((low, top))
}

/// The usable range of the current thread's stack (unknown here).
#[cfg(not(any(target_os = "linux", target_os = "android", target_vendor = "apple")))]
pub fn thread_stack_bounds() -> Option<(usize, usize)> {
    None
}

// ---------------------------------------------------------------------------
// Instruction cache

/// Make code written to `[ptr, ptr + len)` visible to instruction fetch on
/// every core, before it is first executed.
///
/// x86_64 and s390x keep instruction fetch coherent with stores, so this is
/// a no-op there. aarch64 cleans the data cache and invalidates the
/// instruction cache by line, then makes every other thread synchronise
/// its pipeline; riscv64 asks the kernel to fence every hart.
///
/// # Safety
///
/// The range must be mapped readable.
pub unsafe fn flush_icache(ptr: *const u8, len: usize) {
    if len == 0 {
        return;
    }
    #[cfg(target_arch = "aarch64")]
    {
        // SAFETY: the caller guarantees the range is mapped readable, which
        // is all cache maintenance by virtual address needs at EL0.
        unsafe { super::arch::sync_icache(ptr as usize, len) };
        membarrier_sync_core();
    }
    #[cfg(all(target_arch = "riscv64", target_os = "linux"))]
    {
        // `__NR_riscv_flush_icache` (arch-specific syscall 15); flags 0
        // means every hart of the process, not only this one.
        const SYS_RISCV_FLUSH_ICACHE: libc::c_long = 244 + 15;
        let end = (ptr as usize).saturating_add(len);
        // SAFETY: the syscall only performs cache maintenance on the range.
        unsafe { libc::syscall(SYS_RISCV_FLUSH_ICACHE, ptr as usize, end, 0usize) };
    }
    #[cfg(not(any(target_arch = "aarch64", all(target_arch = "riscv64", target_os = "linux"))))]
    {
        let _ = ptr;
    }
}

/// Make every other thread of the process execute a context-synchronising
/// event, so none keeps stale prefetched instructions of a reused address.
/// Best effort: kernels without `membarrier` sync-core support are skipped
/// (elsewhere than Linux, the OS's own code-signing path does it).
#[cfg(target_arch = "aarch64")]
fn membarrier_sync_core() {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use std::sync::OnceLock;
        const CMD_PRIVATE_EXPEDITED_SYNC_CORE: c_int = 1 << 5;
        const CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE: c_int = 1 << 6;
        static REGISTERED: OnceLock<bool> = OnceLock::new();
        let registered = *REGISTERED.get_or_init(|| {
            // SAFETY: registering the process for a membarrier command has
            // no memory-safety preconditions.
            unsafe { libc::syscall(libc::SYS_membarrier, CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE, 0) == 0 }
        });
        if registered {
            // SAFETY: as above.
            unsafe { libc::syscall(libc::SYS_membarrier, CMD_PRIVATE_EXPEDITED_SYNC_CORE, 0) };
        }
    }
}

/// Where `perf` looks for the symbols of code it finds in anonymous
/// memory: `/tmp/perf-<pid>.map` (a Linux perf convention; other Unix
/// hosts have no such file).
pub fn perf_map_path() -> Option<std::path::PathBuf> {
    cfg!(any(target_os = "linux", target_os = "android"))
        .then(|| std::path::PathBuf::from(format!("/tmp/perf-{}.map", std::process::id())))
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
    fn reserve_rejects_bad_lengths() {
        assert!(mmap_reserve(0).is_err());
        assert!(mmap_reserve(page_size() + 1).is_err());
    }

    #[test]
    fn reserve_protect_unmap() {
        let len = 4 * page_size();
        let p = mmap_reserve(len).unwrap().as_ptr();
        // SAFETY: the range was just reserved by this test and is owned by it.
        unsafe {
            mprotect(p, page_size(), Protection::ReadWrite).unwrap();
            p.write(7);
            assert_eq!(p.read(), 7);
            mprotect(p, page_size(), Protection::Read).unwrap();
            assert_eq!(p.read(), 7);
            munmap(p, len).unwrap();
        }
    }

    #[test]
    fn thread_stack_bounds_contain_a_local() {
        let local = 0u8;
        let at = &local as *const u8 as usize;
        if let Some((low, high)) = thread_stack_bounds() {
            assert!(low < at && at < high, "{low:#x} < {at:#x} < {high:#x}");
        }
    }
}
