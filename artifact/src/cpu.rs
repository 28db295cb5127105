//! CPU features an artifact may be compiled for: the one table of names
//! (Rust's target-feature names, recorded in `.kiln.engine`, and the
//! Cranelift setting each turns on) and, with the `std` feature, whether
//! the running CPU has them — for the compiler's `Config::native` and for
//! the loader, which refuses an artifact the CPU cannot run.

/// Rust target-feature names and the Cranelift ISA setting each enables.
/// Features not listed are not used by Cranelift and are not recorded.
pub const FEATURES: &[(&str, &str)] = &[
    // x86_64
    ("sse3", "has_sse3"),
    ("ssse3", "has_ssse3"),
    ("cmpxchg16b", "has_cmpxchg16b"),
    ("sse4.1", "has_sse41"),
    ("sse4.2", "has_sse42"),
    ("popcnt", "has_popcnt"),
    ("avx", "has_avx"),
    ("avx2", "has_avx2"),
    ("fma", "has_fma"),
    ("bmi1", "has_bmi1"),
    ("bmi2", "has_bmi2"),
    ("lzcnt", "has_lzcnt"),
    ("avx512bitalg", "has_avx512bitalg"),
    ("avx512dq", "has_avx512dq"),
    ("avx512vl", "has_avx512vl"),
    ("avx512vbmi", "has_avx512vbmi"),
    ("avx512f", "has_avx512f"),
    // aarch64
    ("lse", "has_lse"),
    ("fp16", "has_fp16"),
    ("dotprod", "has_dotprod"),
    ("i8mm", "has_i8mm"),
    // riscv64
    ("m", "has_m"),
    ("a", "has_a"),
    ("f", "has_f"),
    ("d", "has_d"),
    ("c", "has_c"),
    ("v", "has_v"),
    ("zba", "has_zba"),
    ("zbb", "has_zbb"),
    ("zbc", "has_zbc"),
    ("zbs", "has_zbs"),
    ("zicsr", "has_zicsr"),
    ("zifencei", "has_zifencei"),
    ("zicond", "has_zicond"),
    ("zfa", "has_zfa"),
    // s390x
    ("miscellaneous-extensions-3", "has_mie3"),
    ("vector-enhancements-2", "has_vxrs_ext2"),
];

/// Whether the running CPU has `feature` (a name of [`FEATURES`]).
///
/// `Some(true)` / `Some(false)` when the feature belongs to this
/// architecture and can be detected; `None` when it cannot be verified
/// here (an unknown name, a feature of another architecture, or one this
/// platform offers no way to detect: riscv64's multi-letter extensions).
#[cfg(feature = "std")]
pub fn host_has(feature: &str) -> Option<bool> {
    detect::has(feature)
}

/// Every feature of [`FEATURES`] the running CPU is known to have.
#[cfg(feature = "std")]
pub fn host_features() -> alloc::vec::Vec<&'static str> {
    FEATURES.iter().map(|(rust, _)| *rust).filter(|f| host_has(f) == Some(true)).collect()
}

#[cfg(all(feature = "std", target_arch = "x86_64"))]
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

#[cfg(all(feature = "std", target_arch = "aarch64"))]
mod detect {
    pub fn has(feature: &str) -> Option<bool> {
        Some(match feature {
            "lse" => std::arch::is_aarch64_feature_detected!("lse"),
            "fp16" => std::arch::is_aarch64_feature_detected!("fp16"),
            "dotprod" => std::arch::is_aarch64_feature_detected!("dotprod"),
            "i8mm" => std::arch::is_aarch64_feature_detected!("i8mm"),
            // Not a feature code is compiled for (branch protection is its
            // own setting), but whether landing pads are enforced.
            "bti" => std::arch::is_aarch64_feature_detected!("bti"),
            _ => return None,
        })
    }
}

#[cfg(all(feature = "std", target_arch = "s390x"))]
mod detect {
    pub fn has(feature: &str) -> Option<bool> {
        Some(match feature {
            "miscellaneous-extensions-3" => std::arch::is_s390x_feature_detected!("miscellaneous-extensions-3"),
            "vector-enhancements-2" => std::arch::is_s390x_feature_detected!("vector-enhancements-2"),
            _ => return None,
        })
    }
}

/// The standard library's detection is not stable for riscv64: the
/// single-letter extensions are bits `letter - 'a'` of `AT_HWCAP`, read once
/// from `/proc/self/auxv` (pairs of native-endian words). The multi-letter
/// ones (`zba`, …) are not reported there and cannot be verified.
#[cfg(all(feature = "std", target_arch = "riscv64"))]
mod detect {
    pub fn has(feature: &str) -> Option<bool> {
        let letter = match feature.as_bytes() {
            [l @ (b'm' | b'a' | b'f' | b'd' | b'c' | b'v')] => *l,
            _ => return None,
        };
        let hwcap = hwcap()?;
        Some(hwcap & (1 << (letter - b'a')) != 0)
    }

    fn hwcap() -> Option<u64> {
        static HWCAP: std::sync::OnceLock<Option<u64>> = std::sync::OnceLock::new();
        *HWCAP.get_or_init(|| {
            const AT_HWCAP: u64 = 16;
            let auxv = std::fs::read("/proc/self/auxv").ok()?;
            let mut words = auxv.chunks_exact(8).map(|w| {
                let mut b = [0; 8];
                b.copy_from_slice(w);
                u64::from_ne_bytes(b)
            });
            while let (Some(key), Some(value)) = (words.next(), words.next()) {
                if key == AT_HWCAP {
                    return Some(value);
                }
            }
            None
        })
    }
}

#[cfg(all(
    feature = "std",
    not(any(target_arch = "x86_64", target_arch = "aarch64", target_arch = "s390x", target_arch = "riscv64"))
))]
mod detect {
    pub fn has(_feature: &str) -> Option<bool> {
        None
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;

    #[test]
    fn unknown_features_cannot_be_verified() {
        assert_eq!(host_has("no-such-feature"), None);
    }

    /// The x86_64 names of the table are all known to the detector, and
    /// detection is consistent with itself.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn x86_64_features_are_detected() {
        for (f, setting) in &FEATURES[..17] {
            assert!(setting.starts_with("has_"), "{f}");
            assert!(host_has(f).is_some(), "{f}");
        }
        if host_has("avx2") == Some(true) {
            assert_eq!(host_has("avx"), Some(true));
        }
        assert_eq!(host_has("lse"), None);
        assert!(host_features().iter().all(|f| host_has(f) == Some(true)));
    }
}
