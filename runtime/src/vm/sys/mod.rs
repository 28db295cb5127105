//! The platform seam — **porting starts here**.
//!
//! Everything the runtime needs from the operating system and the CPU goes
//! through this module, so a new platform means new code here and nowhere
//! else:
//!
//! | item | what it is for |
//! |---|---|
//! | [`page_size`] | granularity of every mapping and protection change |
//! | [`mmap_reserve`], [`mprotect`], [`munmap`] | the raw mapping calls behind `vm::mmap` |
//! | [`discard`], [`map_anonymous_fixed`], [`map_file_private`] | resetting pooled linear memories and mapping copy-on-write images over them |
//! | [`sealed_memory_file`] | the immutable in-memory file behind a memory image (`memfd`; other hosts return `Unsupported` and callers copy) |
//! | [`Protection`] | the only protections kiln ever asks for; no writable+executable variant exists |
//! | [`install_signal_handler`], [`restore_signal_action`] | `sigaction` for `vm::signals` |
//! | [`enter`], [`resume`] | the resume point of a wasm activation: call compiled code so that a trap can jump back |
//! | [`current_alt_stack`], [`set_alt_stack`] | the per-thread signal stack of `vm::traphandlers` |
//! | [`ucontext_registers`] | the faulting PC, frame pointer and stack pointer from a signal context, per architecture |
//! | [`next_older_frame`], [`FRAME_RECORD_SIZE`] | one step of a frame-pointer walk, per architecture |
//! | [`flush_icache`] | make freshly written code visible to instruction fetch (no-op on x86_64) |
//! | [`thread_stack_bounds`] | where the current thread's stack ends, to keep the wasm stack limit inside it |
//! | [`errno_location`] | saving `errno` across a chained signal handler |
//! | [`host_has_cpu_feature`] | whether the running CPU has a feature an artifact was compiled for |
//!
//! Only Unix is implemented (in `unix.rs`, with a small C helper for the
//! resume point in `unix/helpers.c`, built by `runtime/build.rs`: a few
//! instructions of assembly on x86_64, `sigsetjmp`/`siglongjmp` elsewhere).
//! Reading registers from a signal context is implemented for Linux on
//! x86_64, aarch64, riscv64 and s390x.

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub use unix::*;

#[cfg(not(unix))]
compile_error!("kiln's runtime only supports Unix hosts so far; porting starts in runtime/src/vm/sys/mod.rs");

/// Size of the frame record a frame pointer points to: the caller's frame
/// pointer, then the return address.
pub const FRAME_RECORD_SIZE: usize = 2 * core::mem::size_of::<usize>();

/// The return address and the caller's frame pointer saved in the frame
/// record at `fp`, or `None` where the frame layout is not known.
///
/// x86_64 (`push rbp; mov rbp, rsp`), aarch64 (`stp x29, x30, [sp, #-16]!;
/// mov x29, sp`) and riscv64 as Cranelift lays it out (`sd ra, 8(sp); sd
/// fp, 0(sp); mv fp, sp`) all store `[fp] = caller's fp`, `[fp + 8] =
/// return address`. s390x frames are not walked yet.
///
/// # Safety
///
/// `[fp, fp + FRAME_RECORD_SIZE)` must be readable memory.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64", target_arch = "riscv64"))]
#[inline]
pub unsafe fn next_older_frame(fp: usize) -> Option<(usize, usize)> {
    let record = fp as *const usize;
    // SAFETY: the caller guarantees the two words at `fp` are readable.
    Some(unsafe { (record.add(1).read(), record.read()) })
}

/// The frame layout of this architecture is not known: no walk.
///
/// # Safety
///
/// None needed; `unsafe` only to match the other architectures.
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64", target_arch = "riscv64")))]
#[inline]
pub unsafe fn next_older_frame(_fp: usize) -> Option<(usize, usize)> {
    None
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
