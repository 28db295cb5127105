//! Unix implementation of the platform seam: thin, checked wrappers over
//! `libc`. Each function does one system call (or one architecture-specific
//! register read) and turns failures into `io::Error`; policy lives in the
//! callers (`vm::mmap`, `vm::signals`, `vm::traphandlers`).

#[cfg(not(target_arch = "x86_64"))]
use core::ffi::c_uint;
use core::ffi::{c_int, c_void};
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicUsize, Ordering};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

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

/// The protections kiln ever gives memory. There is deliberately no
/// writable-and-executable variant: code is written while `ReadWrite` and
/// only then switched to `ReadExecute` (W^X).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protection {
    /// Inaccessible: reservations and guard regions.
    None,
    /// Read-only.
    Read,
    /// Readable and writable data.
    ReadWrite,
    /// Readable and executable code.
    ReadExecute,
}

impl Protection {
    fn bits(self) -> c_int {
        match self {
            Protection::None => libc::PROT_NONE,
            Protection::Read => libc::PROT_READ,
            Protection::ReadWrite => libc::PROT_READ | libc::PROT_WRITE,
            Protection::ReadExecute => libc::PROT_READ | libc::PROT_EXEC,
        }
    }
}

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
pub unsafe fn map_file_private(ptr: *mut u8, len: usize, file: BorrowedFd<'_>, offset: u64) -> io::Result<()> {
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
        return Err(io::Error::last_os_error());
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
// Signals

/// A three-argument (`SA_SIGINFO`) signal handler.
pub type SignalHandler = extern "C" fn(c_int, *mut libc::siginfo_t, *mut c_void);

/// Install `handler` for `signum` with `flags` and an empty mask, writing
/// the disposition it replaces to `previous`.
///
/// # Safety
///
/// `previous` must be valid for a write of a `libc::sigaction` and stay
/// valid for as long as the handler may read it. `handler` must be
/// async-signal-safe.
pub unsafe fn install_signal_handler(
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

/// Make `action` the disposition of `signum` again (async-signal-safe).
pub fn restore_signal_action(signum: c_int, action: &libc::sigaction) -> io::Result<()> {
    // SAFETY: `action` is a valid `sigaction`; no old action is requested.
    if unsafe { libc::sigaction(signum, action, ptr::null_mut()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Reset `signum` to its default disposition (async-signal-safe).
pub fn reset_signal_to_default(signum: c_int) -> io::Result<()> {
    // SAFETY: an all-zero `sigaction` is SIG_DFL with no flags and an empty
    // mask.
    let dfl: libc::sigaction = unsafe { core::mem::zeroed() };
    restore_signal_action(signum, &dfl)
}

/// Send `signum` to the calling thread (async-signal-safe).
pub fn raise(signum: c_int) {
    // SAFETY: `raise` has no memory-safety preconditions.
    unsafe { libc::raise(signum) };
}

/// Where this thread's `errno` lives, so a signal handler that makes system
/// calls can restore it before returning to the interrupted code.
#[cfg(target_os = "linux")]
pub fn errno_location() -> *mut c_int {
    // SAFETY: `__errno_location` returns this thread's errno slot.
    unsafe { libc::__errno_location() }
}

/// The thread's current alternate signal stack as `(lowest address, size)`,
/// or `None` when it has none.
pub fn current_alt_stack() -> io::Result<Option<(*mut u8, usize)>> {
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
pub unsafe fn set_alt_stack(sp: *mut u8, size: usize) -> io::Result<()> {
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

/// Registers of the interrupted code that the trap handler needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Registers {
    /// Program counter: the faulting instruction for the signals kiln handles.
    pub pc: usize,
    /// Frame pointer.
    pub fp: usize,
    /// Stack pointer.
    pub sp: usize,
}

/// The PC, frame pointer and stack pointer of the interrupted code, read
/// from the `ucontext_t` a `SA_SIGINFO` handler receives.
///
/// # Safety
///
/// `ctx` must be the third argument of a running `SA_SIGINFO` handler.
#[cfg(target_os = "linux")]
pub unsafe fn ucontext_registers(ctx: *const c_void) -> Registers {
    // SAFETY: the caller passes the kernel-provided context of the current
    // signal, which is a valid `ucontext_t`.
    let uc = unsafe { &*ctx.cast::<libc::ucontext_t>() };
    let mc = &uc.uc_mcontext;
    #[cfg(target_arch = "x86_64")]
    let (pc, fp, sp) = (
        mc.gregs[libc::REG_RIP as usize] as usize,
        mc.gregs[libc::REG_RBP as usize] as usize,
        mc.gregs[libc::REG_RSP as usize] as usize,
    );
    // x29 is the frame pointer in AAPCS64.
    #[cfg(target_arch = "aarch64")]
    let (pc, fp, sp) = (mc.pc as usize, mc.regs[29] as usize, mc.sp as usize);
    // The kernel stores pc in slot 0 (where x0, always zero, would be);
    // sp is x2 and s0/fp is x8.
    #[cfg(target_arch = "riscv64")]
    let (pc, fp, sp) = (mc.__gregs[0] as usize, mc.__gregs[8] as usize, mc.__gregs[2] as usize);
    // The PSW address is the PC; Cranelift uses r11 as s390x frame
    // pointer; r15 is the stack pointer.
    #[cfg(target_arch = "s390x")]
    let (pc, fp, sp) = (mc.psw.addr as usize, mc.gregs[11] as usize, mc.gregs[15] as usize);
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64", target_arch = "riscv64", target_arch = "s390x")))]
    compile_error!("porting: read PC, FP and SP from ucontext_t for this architecture in vm/sys/unix.rs");
    Registers { pc, fp, sp }
}

#[cfg(not(target_os = "linux"))]
compile_error!("porting: read PC, FP and SP from ucontext_t for this OS in vm/sys/unix.rs (ucontext_registers)");

// ---------------------------------------------------------------------------
// The resume point of an activation (unix/helpers.c)

/// A function [`enter`] calls: four pointer-sized arguments, a byte back
/// (the shape of compiled code's array-call entry points).
pub type Callee = unsafe extern "C" fn(*mut c_void, *mut c_void, *mut c_void, *mut c_void) -> u8;

/// What [`enter`] returns when [`resume`] jumped back.
pub const RESUMED: u32 = 0x100;

extern "C" {
    #[cfg(not(target_arch = "x86_64"))]
    fn kiln_enter(
        resume_out: *mut *const c_void,
        callee: Callee,
        a: *mut c_void,
        b: *mut c_void,
        c: *mut c_void,
        d: *mut c_void,
    ) -> c_uint;
    fn kiln_resume(resume_point: *const c_void) -> !;
}

/// Call `callee(a, b, c, d)` with a resume point: while it runs,
/// `*resume_out` holds a resume point that [`resume`] can jump to. Returns
/// the callee's byte, or [`RESUMED`] if [`resume`] was called.
///
/// # Safety
///
/// `resume_out` must be valid for a write; `callee` must be safe to call
/// with these arguments and must not unwind. Every frame between this call
/// and a [`resume`] must be a "plain old frame": nothing in it may have a
/// destructor or other cleanup that skipping it would leave undone.
#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
pub unsafe fn enter(
    resume_out: *mut *const c_void,
    callee: Callee,
    a: *mut c_void,
    b: *mut c_void,
    c: *mut c_void,
    d: *mut c_void,
) -> u32 {
    // SAFETY: forwarded from the caller's contract.
    unsafe { kiln_enter(resume_out, callee, a, b, c, d) }
}

/// Call `callee(a, b, c, d)` with a resume point: while it runs,
/// `*resume_out` holds a resume point that [`resume`] can jump to. Returns
/// the callee's byte, or [`RESUMED`] if [`resume`] was called.
///
/// On x86_64 the resume point is made right here, inline: the compiler is
/// told that the call clobbers every register a resume does not restore,
/// so it saves only what it needs around it, and the frame pointer, `rbx`
/// (which inline assembly may not name) and the address to resume at are
/// pushed below the caller's frame. The resume point is the stack pointer
/// that addresses them (see `kiln_resume` in `unix/helpers.c`).
///
/// # Safety
///
/// `resume_out` must be valid for a write; `callee` must be safe to call
/// with these arguments and must not unwind. Every frame between this call
/// and a [`resume`] must be a "plain old frame": nothing in it may have a
/// destructor or other cleanup that skipping it would leave undone.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub unsafe fn enter(
    resume_out: *mut *const c_void,
    callee: Callee,
    a: *mut c_void,
    b: *mut c_void,
    c: *mut c_void,
    d: *mut c_void,
) -> u32 {
    let ret: u32;
    // SAFETY: the block leaves the stack pointer as it found it (four
    // pushes undone on both paths), keeps it 16-byte aligned at the call
    // (aligned on entry, as inline assembly guarantees when `nostack` is
    // not given), restores `rbx` and `rbp` itself and declares every other
    // register a resume may leave changed as clobbered. `resume_out` is
    // writable and `callee` callable with these arguments (the caller's
    // contract); a resume lands on `2:` with the stack pointer at the saved
    // `rbx`.
    unsafe {
        core::arch::asm!(
            "push rbx",
            "lea rax, [rip + 2f]",
            "push rax",
            "push rbp",
            "sub rsp, 8",
            "mov qword ptr [{resume_out}], rsp",
            "call {callee}",
            "movzx eax, al",
            "add rsp, 24",
            "jmp 3f",
            "2:",
            "mov eax, {resumed}",
            "3:",
            "pop rbx",
            resume_out = in(reg) resume_out,
            callee = in(reg) callee,
            resumed = const RESUMED,
            in("rdi") a,
            in("rsi") b,
            in("rdx") c,
            in("rcx") d,
            out("rax") ret,
            out("r12") _,
            out("r13") _,
            out("r14") _,
            out("r15") _,
            clobber_abi("C"),
        );
    }
    ret
}

/// Jump back to the resume point of a running [`enter`], which then
/// returns [`RESUMED`].
///
/// # Safety
///
/// `resume_point` must have been written by an [`enter`] whose callee is
/// still running on this thread, and every frame above it must be a plain
/// old frame (see there).
pub unsafe fn resume(resume_point: *const c_void) -> ! {
    // SAFETY: forwarded from the caller's contract.
    unsafe { kiln_resume(resume_point) }
}

// ---------------------------------------------------------------------------
// Thread stacks

/// The usable range `(lowest, highest)` of the current thread's stack,
/// excluding its guard region, if the platform can tell.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub fn thread_stack_bounds() -> Option<(usize, usize)> {
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
    // glibc counts the guard inside the reported stack of non-main threads.
    let low = (addr as usize).checked_add(guard)?;
    let high = (addr as usize).checked_add(size)?;
    (low < high).then_some((low, high))
}

/// The usable range of the current thread's stack (unknown here).
#[cfg(not(any(target_os = "linux", target_os = "android")))]
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
/// instruction cache by line; riscv64 asks the kernel to fence every hart.
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
        unsafe { aarch64_sync_caches(ptr as usize, len) };
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

/// Clean D-cache lines to the point of unification, invalidate the I-cache
/// lines, then synchronise this core's pipeline.
///
/// # Safety
///
/// `[start, start + len)` must be mapped readable.
#[cfg(target_arch = "aarch64")]
unsafe fn aarch64_sync_caches(start: usize, len: usize) {
    use core::arch::asm;
    let ctr: u64;
    // SAFETY: CTR_EL0 is readable from EL0 on every OS kiln supports (Linux
    // traps and emulates it where the hardware forbids it).
    unsafe { asm!("mrs {}, ctr_el0", out(reg) ctr, options(nomem, nostack, preserves_flags)) };
    let dline = 4usize << ((ctr >> 16) & 0xf);
    let iline = 4usize << (ctr & 0xf);
    let end = start.saturating_add(len);
    // CTR_EL0.IDC: no D-cache clean needed for I/D coherence.
    if ctr & (1 << 28) == 0 {
        let mut a = start & !(dline - 1);
        while a < end {
            // SAFETY: `a` lies in (or on the line of) the readable range.
            unsafe { asm!("dc cvau, {}", in(reg) a, options(nostack, preserves_flags)) };
            a += dline;
        }
    }
    // SAFETY: barriers have no memory-safety preconditions.
    unsafe { asm!("dsb ish", options(nostack, preserves_flags)) };
    // CTR_EL0.DIC: no I-cache invalidation needed.
    if ctr & (1 << 29) == 0 {
        let mut a = start & !(iline - 1);
        while a < end {
            // SAFETY: `a` lies in (or on the line of) the readable range.
            unsafe { asm!("ic ivau, {}", in(reg) a, options(nostack, preserves_flags)) };
            a += iline;
        }
        // SAFETY: barriers have no memory-safety preconditions.
        unsafe { asm!("dsb ish", options(nostack, preserves_flags)) };
    }
    // SAFETY: barriers have no memory-safety preconditions.
    unsafe { asm!("isb", options(nostack, preserves_flags)) };
}

/// Make every other thread of the process execute a context-synchronising
/// event, so none keeps stale prefetched instructions of a reused address.
/// Best effort: kernels without `membarrier` sync-core support are skipped.
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
