//! `.kiln.engine`: what the artifact was compiled for and with, so the
//! loader can refuse anything it cannot run correctly.
//!
//! ```text
//! ┌────────────────┬──────────┬──────────────────┬──────────────────────┐
//! │ format_version │ n: u8    │ kiln version:    │ postcard EngineInfo  │
//! │ u8             │          │ [u8; n] (UTF-8)  │ (rest of the section)│
//! └────────────────┴──────────┴──────────────────┴──────────────────────┘
//! ```
//!
//! The prefix has a fixed layout that never changes between versions, so a
//! loader of any version can say precisely "this artifact is format 3 from
//! kiln 0.4.0" before touching postcard data whose shape it may not know.

use crate::DecodeError;
use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

/// The results relaxed-SIMD instructions give, fixed at build time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RelaxedSimd {
    /// The deterministic profile of the proposal: the same results on
    /// every target.
    Deterministic,
    /// x86_64's own instructions (`pshufb`, `cvttps2dq`, `blendv`,
    /// `minps`, `pmulhrsw`, `pmaddubsw`; multiply-add unfused without FMA).
    X86,
}

impl RelaxedSimd {
    /// The name used in messages and tools.
    pub fn name(self) -> &'static str {
        match self {
            RelaxedSimd::Deterministic => "deterministic",
            RelaxedSimd::X86 => "x86",
        }
    }
}

/// How memory accesses are kept inside linear memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BoundsChecks {
    /// 32-bit memories reserve `memory_reservation` bytes of address space
    /// plus `memory_guard_size` of guard; accesses whose static offset fits
    /// the guard carry no check and fault into the guard instead.
    GuardPages,
    /// Every access compares against the current length.
    Explicit,
}

/// Settings the compiled code depends on and the runtime must honour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tunables {
    /// Address space reserved for each 32-bit linear memory (bytes).
    pub memory_reservation: u64,
    /// Inaccessible bytes after the reservation (bytes).
    pub memory_guard_size: u64,
    /// Bounds-check strategy.
    pub bounds_checks: BoundsChecks,
    /// Whether fuel checks are compiled in.
    pub consume_fuel: bool,
    /// Whether epoch-deadline checks are compiled in.
    pub epoch_interruption: bool,
}

impl Default for Tunables {
    fn default() -> Self {
        Tunables {
            memory_reservation: 1 << 32,
            memory_guard_size: 2 << 30,
            bounds_checks: BoundsChecks::GuardPages,
            consume_fuel: false,
            epoch_interruption: false,
        }
    }
}

/// The compatibility header. Strings are `S`: the writer owns them
/// (`String`, the default); the loader borrows them from the section
/// ([`RawStr`], see [`decode_info_borrowed`]), so checking an artifact
/// copies none of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineInfo<S = String> {
    /// Target triple the code was generated for (e.g. `x86_64-unknown-linux-gnu`).
    pub triple: S,
    /// CPU features the code may use beyond the triple's baseline, as Rust
    /// names them (`sse4.1`, `avx2`, `lse`…). The loader checks the running
    /// CPU has each of them.
    pub cpu_features: Vec<S>,
    /// Cranelift settings the code was generated with, `name=value`
    /// separated by spaces (one string: decoding it is one allocation on
    /// the load path, not one per setting), for diagnostics and for the
    /// settings the runtime relies on, which come first (see
    /// [`REQUIRED_CODEGEN_FLAGS`]).
    pub codegen_flags: S,
    /// The WebAssembly feature switches that were on (`-W` names, such as
    /// `simd memory64`), separated by spaces.
    pub wasm_features: S,
    /// The results relaxed-SIMD instructions give.
    pub relaxed_simd: RelaxedSimd,
    /// aarch64 branch protection: every indirect branch target of the code
    /// is a BTI landing pad, so copied code is mapped with `PROT_BTI`
    /// where the kernel enforces it. Always false on other architectures.
    pub branch_protection: bool,
    /// Settings shared by compiled code and runtime.
    pub tunables: Tunables,
}

/// Codegen settings the runtime relies on; the loader refuses an artifact
/// that lacks one of them. The compiler writes them first in
/// `codegen_flags`, so the loader finds them without scanning the rest.
pub const REQUIRED_CODEGEN_FLAGS: &[&str] = &["preserve_frame_pointers=true"];

/// Encode the whole section.
pub fn encode(info: &EngineInfo) -> Vec<u8> {
    let mut out = Vec::new();
    out.push(crate::FORMAT_VERSION);
    let v = crate::KILN_VERSION.as_bytes();
    out.push(v.len() as u8);
    out.extend_from_slice(v);
    out.extend_from_slice(&crate::encode_postcard(info));
    out
}

/// The fixed-layout prefix of the section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prefix<'a> {
    /// Artifact format version.
    pub format_version: u8,
    /// kiln version that wrote the artifact.
    pub kiln_version: &'a str,
    /// The postcard-encoded `EngineInfo` that follows.
    pub rest: &'a [u8],
}

/// Read the fixed prefix only.
pub fn decode_prefix(bytes: &[u8]) -> Result<Prefix<'_>, DecodeError> {
    const S: &str = crate::sections::ENGINE;
    let (&format_version, tail) = bytes.split_first().ok_or_else(|| DecodeError::new(S, "empty section"))?;
    let (&n, tail) =
        tail.split_first().ok_or_else(|| DecodeError::new(S, "truncated before the kiln version length"))?;
    let version = tail.get(..n as usize).ok_or_else(|| DecodeError::new(S, "truncated inside the kiln version"))?;
    let kiln_version = core::str::from_utf8(version).map_err(|_| DecodeError::new(S, "kiln version is not UTF-8"))?;
    Ok(Prefix { format_version, kiln_version, rest: &tail[n as usize..] })
}

/// Decode the `EngineInfo` after the prefix.
pub fn decode_info(prefix: &Prefix<'_>) -> Result<EngineInfo, DecodeError> {
    crate::decode_postcard(crate::sections::ENGINE, prefix.rest)
}

/// A string of the section, borrowed and not yet checked to be UTF-8:
/// the loader compares some as bytes and never reads others (the codegen
/// flags alone are over a kilobyte), so it checks only those it reads as
/// text. Encoded like `str`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawStr<'a>(pub &'a [u8]);

impl<'a> RawStr<'a> {
    /// The string, if it is UTF-8.
    pub fn to_str(self) -> Option<&'a str> {
        core::str::from_utf8(self.0).ok()
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for RawStr<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = RawStr<'de>;
            fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str("a borrowed string")
            }
            fn visit_borrowed_bytes<E: serde::de::Error>(self, v: &'de [u8]) -> Result<Self::Value, E> {
                Ok(RawStr(v))
            }
            fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(RawStr(v.as_bytes()))
            }
        }
        d.deserialize_bytes(V)
    }
}

/// Decode the `EngineInfo` after the prefix, borrowing its strings from
/// the section without checking them (see [`RawStr`]).
pub fn decode_info_borrowed<'a>(prefix: &Prefix<'a>) -> Result<EngineInfo<RawStr<'a>>, DecodeError> {
    crate::decode_postcard(crate::sections::ENGINE, prefix.rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let info = EngineInfo {
            triple: "x86_64-unknown-linux-gnu".into(),
            cpu_features: alloc::vec!["sse4.1".into()],
            codegen_flags: "opt_level=speed preserve_frame_pointers=true".into(),
            wasm_features: "bulk-memory".into(),
            relaxed_simd: RelaxedSimd::Deterministic,
            branch_protection: true,
            tunables: Tunables::default(),
        };
        let bytes = encode(&info);
        let p = decode_prefix(&bytes).unwrap();
        assert_eq!(p.format_version, crate::FORMAT_VERSION);
        assert_eq!(p.kiln_version, crate::KILN_VERSION);
        assert_eq!(decode_info(&p).unwrap(), info);
        let borrowed = decode_info_borrowed(&p).unwrap();
        assert_eq!(borrowed.triple.to_str(), Some(&*info.triple));
        assert_eq!(borrowed.cpu_features, [RawStr(b"sse4.1")]);
        assert_eq!(borrowed.codegen_flags.0, info.codegen_flags.as_bytes());
        assert_eq!(borrowed.wasm_features.0, info.wasm_features.as_bytes());
        assert_eq!((borrowed.relaxed_simd, &borrowed.tunables), (info.relaxed_simd, &info.tunables));
        assert!(decode_prefix(&bytes[..1]).is_err());
        assert!(decode_prefix(&bytes[..3]).is_err());
    }
}
