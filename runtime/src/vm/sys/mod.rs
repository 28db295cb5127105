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
//! | `arch/x86_64.rs`, `arch/aarch64.rs`, `arch/riscv64.rs`, `arch/s390x.rs` | `enter`/`resume` (inline and naked assembly), the frame walk, cache maintenance instructions |
//! | this file | CPU feature detection, the shared [`Registers`] |
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
//! | [`flush_icache`] | make freshly written code visible to instruction fetch (no-op on x86_64 and s390x) |
//! | [`thread_stack_bounds`] | where the current thread's stack ends, to keep the wasm stack limit inside it |
//! | [`host_has_cpu_feature`] | whether the running CPU has a feature an artifact was compiled for |
//!
//! A fault handler reads [`Registers`] from the faulting context and asks
//! `traphandlers::claim_fault` whether the fault is a wasm trap; if so it
//! rewrites the context to continue in [`resume_entry`] with the resume
//! point it was given, and returns.

mod arch;
pub use arch::{enter, next_older_frame, resume, resume_entry, Callee, RESUMED};

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub use unix::*;

#[cfg(not(unix))]
compile_error!("kiln's runtime supports Unix hosts; porting starts in runtime/src/vm/sys/mod.rs");

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

/// Whether the running CPU has `feature`, named as Rust names target
/// features (`sse4.1`, `avx2`, `lse`, …: the names of `kiln-build`'s feature
/// table).
///
/// `Some(true)` / `Some(false)` when the feature is known on this
/// architecture and can be detected; `None` when it cannot be verified here
/// (an unknown name, a feature of another architecture, or one this platform
/// offers no way to detect). The loader treats `None` as "cannot verify".
pub fn host_has_cpu_feature(feature: &str) -> Option<bool> {
    detect::has(feature)
}

#[cfg(target_arch = "x86_64")]
mod detect {
    pub fn has(feature: &str) -> Option<bool> {
        // The macro wants a literal, hence one arm per name.
        Some(match feature {
            "sse3" => std::arch::is_x86_feature_detected!("sse3"),
            "ssse3" => std::arch::is_x86_feature_detected!("ssse3"),
            "cmpxchg16b" => std::arch::is_x86_feature_detected!("cmpxchg16b"),
            "sse4.1" => std::arch::is_x86_feature_detected!("sse4.1"),
            "sse4.2" => std::arch::is_x86_feature_detected!("sse4.2"),
            "popcnt" => std::arch::is_x86_feature_detected!("popcnt"),
            "avx" => std::arch::is_x86_feature_detected!("avx"),
            "avx2" => std::arch::is_x86_feature_detected!("avx2"),
            "fma" => std::arch::is_x86_feature_detected!("fma"),
            "bmi1" => std::arch::is_x86_feature_detected!("bmi1"),
            "bmi2" => std::arch::is_x86_feature_detected!("bmi2"),
            "lzcnt" => std::arch::is_x86_feature_detected!("lzcnt"),
            "avx512bitalg" => std::arch::is_x86_feature_detected!("avx512bitalg"),
            "avx512dq" => std::arch::is_x86_feature_detected!("avx512dq"),
            "avx512vl" => std::arch::is_x86_feature_detected!("avx512vl"),
            "avx512vbmi" => std::arch::is_x86_feature_detected!("avx512vbmi"),
            "avx512f" => std::arch::is_x86_feature_detected!("avx512f"),
            _ => return None,
        })
    }
}

#[cfg(target_arch = "aarch64")]
mod detect {
    pub fn has(feature: &str) -> Option<bool> {
        Some(match feature {
            "lse" => std::arch::is_aarch64_feature_detected!("lse"),
            "fp16" => std::arch::is_aarch64_feature_detected!("fp16"),
            "dotprod" => std::arch::is_aarch64_feature_detected!("dotprod"),
            "i8mm" => std::arch::is_aarch64_feature_detected!("i8mm"),
            _ => return None,
        })
    }
}

#[cfg(all(target_arch = "riscv64", target_os = "linux"))]
mod detect {
    /// Single-letter extensions are bits `letter - 'a'` of `AT_HWCAP` on
    /// Linux; the multi-letter ones (`zba`, …) are not reported there, so
    /// they cannot be verified.
    pub fn has(feature: &str) -> Option<bool> {
        let letter = match feature {
            "m" | "a" | "f" | "d" | "c" | "v" => feature.as_bytes()[0],
            _ => return None,
        };
        // SAFETY: `getauxval` only reads the process's auxiliary vector.
        let hwcap = unsafe { libc::getauxval(libc::AT_HWCAP) };
        Some(hwcap & (1 << (letter - b'a')) != 0)
    }
}

#[cfg(all(target_arch = "s390x", target_os = "linux"))]
mod detect {
    /// `HWCAP_S390_VXRS_EXT2` from the kernel's `asm/elf.h`.
    const HWCAP_S390_VXRS_EXT2: libc::c_ulong = 1 << 15;

    /// The vector-enhancements facility 2 is reported in `AT_HWCAP`; the
    /// miscellaneous-instruction-extensions facility 3 is not (only STFLE
    /// knows), so it cannot be verified here.
    pub fn has(feature: &str) -> Option<bool> {
        match feature {
            "vector-enhancements-2" => {
                // SAFETY: `getauxval` only reads the process's auxiliary vector.
                let hwcap = unsafe { libc::getauxval(libc::AT_HWCAP) };
                Some(hwcap & HWCAP_S390_VXRS_EXT2 != 0)
            }
            _ => None,
        }
    }
}

#[cfg(not(any(
    target_arch = "x86_64",
    target_arch = "aarch64",
    all(target_arch = "riscv64", target_os = "linux"),
    all(target_arch = "s390x", target_os = "linux"),
)))]
mod detect {
    pub fn has(_feature: &str) -> Option<bool> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_features_cannot_be_verified() {
        assert_eq!(host_has_cpu_feature("no-such-feature"), None);
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn x86_64_features_are_detected() {
        // Every x86_64 CPU that runs a 64-bit OS has SSE2, and the table's
        // names are all known to the detector.
        for f in [
            "sse3",
            "ssse3",
            "cmpxchg16b",
            "sse4.1",
            "sse4.2",
            "popcnt",
            "avx",
            "avx2",
            "fma",
            "bmi1",
            "bmi2",
            "lzcnt",
            "avx512bitalg",
            "avx512dq",
            "avx512vl",
            "avx512vbmi",
            "avx512f",
        ] {
            assert!(host_has_cpu_feature(f).is_some(), "{f}");
        }
        // A CPU with AVX2 has AVX: detection must be consistent.
        if host_has_cpu_feature("avx2") == Some(true) {
            assert_eq!(host_has_cpu_feature("avx"), Some(true));
        }
        assert_eq!(host_has_cpu_feature("lse"), None);
    }
}
