//! The unsafe core of the runtime. Every `unsafe` block in kiln lives in
//! this directory and carries a `// SAFETY:` comment that proves it from the
//! surrounding function; everything outside `vm/` is safe Rust.
//!
//! | file | holds |
//! |---|---|
//! | `sys/` | the platform seam — porting starts here: memory mapping, the fault handler (signals, or a vectored exception handler), entering and resuming wasm per architecture, icache flush, CPU feature detection |
//! | `mmap.rs` | safe owner of a mapping: reserve, make accessible, make executable |
//! | `code_memory.rs` | where the text runs: in place (embedded) or copied to a fresh R-X mapping (huge pages for large code), kept metadata read-only after it |
//! | `loaded_code.rs` | the text, the metadata sections a module keeps and the trap registration, owned together |
//! | `code_registry.rs` | lock-free PC → loaded code lookup for the signal handler |
//! | `traphandlers.rs` | `catch_traps`: per-thread activations, the resume point, which faults are traps (`claim_fault`) |
//! | `linear_memory.rs` | 4 GiB + guard reservations, growth by protection change, the pool of reusable reservations |
//! | `memory_image.rs` | copy-on-write images of a module's initial memory contents |
//! | `vmctx.rs` | the `repr(C)` structures compiled code sees, tested against `VMOffsets` |
//! | `elf.rs` | the bounds-checked section-table walk of artifact bytes |
//! | `instance.rs` | allocate and initialise a VMContext; table and memory storage of an instance |
//! | `libcalls.rs` | the builtins compiled code calls |
//! | `throw.rs` | throwing: the exception builtins and the unwinder that finds a landing pad |
//! | `exn.rs` | exception objects (what an `exnref` points to) and when they are freed |
//! | `shared_memory.rs` | a memory several stores and threads use at once: one definition, growth under a lock, raw byte copies |
//! | `parking.rs` | `memory.atomic.wait`/`notify`: threads parked on shared-memory addresses |
//! | `entry.rs` | raw calls host → wasm through array trampolines, and wasm → host shims |

#![allow(unsafe_code)]

pub mod code_memory;
pub mod code_registry;
pub mod elf;
pub mod entry;
pub mod exn;
pub mod gdb_jit;
pub mod instance;
pub mod libcalls;
pub mod linear_memory;
pub mod loaded_code;
pub mod memory_image;
pub mod mmap;
pub mod parking;
pub mod raw_box;
pub mod shared_memory;
pub mod sys;
pub mod throw;
pub mod traphandlers;
pub mod vmctx;

#[cfg(test)]
pub(crate) mod testing;
