//! The platform seam — **porting starts here**.
//!
//! Everything the runtime needs from the operating system and the CPU goes
//! through this module, so a new platform means new code here and nowhere
//! else. One file (or folder) per OS family, one per architecture:
//!
//! | file | holds |
//! |---|---|
//! | `unix/mod.rs` | Linux, Android, macOS, iOS: mmap/mprotect/madvise, memfd images, thread stack bounds, icache flush |
//! | `unix/signals.rs` | the SIGSEGV/SIGBUS/SIGILL/SIGFPE handler: install once, chain, read and rewrite the signal context per OS × architecture, the per-thread signal stack |
//! | `windows/mod.rs` | Windows: VirtualAlloc reserve/commit/decommit, thread stack bounds, icache flush |
//! | `windows/exceptions.rs` | the vectored exception handler: read and rewrite the `CONTEXT` |
//! | `arch/x86_64.rs`, `arch/aarch64.rs`, `arch/riscv64.rs`, `arch/s390x.rs` | `enter`/`resume` (inline and naked assembly), the frame walk, cache maintenance instructions |
//! | `miri.rs` | the stand-in under Miri: heap allocations for mappings, no compiled code (see there) |
//! | this file | the shared [`Registers`] |
//!
//! What the rest of the runtime uses:
//!
//! | item | what it is for |
//! |---|---|
//! | [`page_size`] | granularity of every mapping and protection change |
//! | [`mmap_reserve`], [`mprotect`], [`munmap`] | the raw mapping calls behind `vm::mmap` |
//! | [`discard`], [`map_anonymous_fixed`], [`map_file_private`] | resetting pooled linear memories and mapping copy-on-write images over them |
//! | [`sealed_memory_file`] | the immutable in-memory file behind a memory image (`memfd`; other hosts return `Unsupported` and callers copy) |
//! | [`Protection`] | the only protections kiln ever asks for; no writable+executable variant exists |
//! | [`prepare_thread`] | before a thread first runs wasm: the process-wide fault handler (installed once) and whatever the thread needs (a signal stack) |
//! | [`enter`], [`resume`], [`resume_entry`] | the resume point of a wasm activation: call compiled code so that a trap can come back |
//! | [`next_older_frame`] | one step of a frame walk over compiled code |
//! | [`resume_to_handler`] | continue at an exception handler's landing pad in an older wasm frame |
//! | [`flush_icache`] | make freshly written code visible to instruction fetch (no-op on x86_64 and s390x) |
//! | [`thread_stack_bounds`] | where the current thread's stack ends, to keep the wasm stack limit inside it |
//! | [`perf_map_path`] | the file Linux `perf` reads names of anonymous code from, if the host has one |
//!
//! A fault handler reads [`Registers`] from the faulting context and asks
//! `traphandlers::claim_fault` whether the fault is a wasm trap; if so it
//! rewrites the context to continue in [`resume_entry`] with the resume
//! point it was given, and returns.

mod arch;
#[cfg(not(miri))]
pub use arch::{enter, next_older_frame, resume, resume_entry, resume_to_handler};
pub use arch::{stack_pointer_at_call, Callee, RESUMED};

#[cfg(all(unix, not(miri)))]
mod unix;
#[cfg(all(unix, not(miri)))]
pub use unix::*;

#[cfg(all(windows, not(miri)))]
mod windows;
#[cfg(all(windows, not(miri)))]
pub use windows::*;

#[cfg(miri)]
mod miri;
#[cfg(miri)]
pub use miri::*;

#[cfg(not(any(unix, windows)))]
compile_error!("kiln's runtime supports Unix and Windows hosts; porting starts in runtime/src/vm/sys/mod.rs");

/// The protections kiln ever gives memory. There is deliberately no
/// writable-and-executable variant: code is written while `ReadWrite` and
/// only then switched to `ReadExecute` (W^X). Each OS family maps them to
/// its own flags; under Miri they are recorded nowhere.
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
    /// Readable and executable code whose indirect branch targets are all
    /// landing pads: on aarch64 Linux, `PROT_BTI` makes the CPU fault on an
    /// indirect branch anywhere else. Elsewhere the same as `ReadExecute`.
    ReadExecuteBti,
}

/// The most address space one linear memory may reserve, where reserving
/// costs memory: under Miri every reserved byte is backed, and since no
/// compiled code runs there nothing needs guard regions or the
/// reservation compiled code assumes, so a memory reserves only what it
/// may grow to, up to this. `None` on real hosts, where a reservation is
/// only address space.
pub const RESERVATION_LIMIT: Option<u64> = if cfg!(miri) { Some(64 << 20) } else { None };

/// Registers of the interrupted code that the trap handler needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Registers {
    /// Program counter, as the trap table records the faulting instruction.
    pub pc: usize,
    /// Where the architecture's frame walk starts: the frame pointer (the
    /// stack pointer on s390x, whose frames keep a backchain there).
    pub fp: usize,
    /// Stack pointer.
    pub sp: usize,
}
