//! The WebAssembly features a module may use: one table, with the name
//! each has on the command line (`-W name=y|n`), whether it is on by
//! default, and the validator's flags behind it.
//!
//! On by default: everything standardized in WebAssembly 3.0 that kiln
//! implements. Off by default: proposals outside the standard (threads,
//! wide arithmetic, custom page sizes, the legacy exception instructions).
//! A feature kiln cannot compile yet is listed with `supported: false`:
//! switching it on is an error that names it, and a module using it fails
//! validation with the validator's message, which names it too.
//! The features an artifact was compiled with are recorded in its
//! `.kiln.engine`.

use crate::error::{Error, Result};
use wasmparser::WasmFeatures;

/// One feature kiln knows.
#[derive(Debug, Clone, Copy)]
pub struct Feature {
    /// Its name, as `-W` and [`crate::Config::wasm_feature`] take it.
    pub name: &'static str,
    /// On unless switched off.
    pub default: bool,
    /// Whether kiln can compile modules that use it; switching on one it
    /// cannot is an error naming it.
    pub supported: bool,
    /// What it is, for `--help` texts and errors.
    pub description: &'static str,
    flags: WasmFeatures,
}

macro_rules! features {
    ($($name:literal, $default:literal, $supported:literal, $flags:expr, $description:literal;)*) => {
        /// Every feature, in the order tools list them.
        pub const FEATURES: &[Feature] = &[
            $(Feature { name: $name, default: $default, supported: $supported, description: $description, flags: $flags },)*
        ];
    };
}

features! {
    "reference-types", true, true, WasmFeatures::REFERENCE_TYPES,
        "funcref/externref, several tables (part of 2.0)";
    "simd", true, true, WasmFeatures::SIMD, "128-bit vectors (v128)";
    "relaxed-simd", true, true, WasmFeatures::RELAXED_SIMD, "relaxed vector instructions";
    "multi-memory", true, true, WasmFeatures::MULTI_MEMORY, "several memories per module";
    "extended-const", true, true, WasmFeatures::EXTENDED_CONST, "arithmetic in constant expressions";
    "tail-call", true, true, WasmFeatures::TAIL_CALL, "return_call, return_call_indirect";
    // 3.0 folded GC's type-section and constant-expression rules (recursive
    // groups, declared subtypes, global.get of any immutable global) into
    // the language: the validator applies them with this feature, and kiln
    // refuses GC heap types and instructions itself, naming them.
    "function-references", true, true, WasmFeatures::FUNCTION_REFERENCES.union(WasmFeatures::GC_TYPES).union(WasmFeatures::GC),
        "(ref $t), call_ref, br_on_null, rec groups, subtypes";
    "memory64", true, true, WasmFeatures::MEMORY64, "64-bit memories and tables";
    "exceptions", true, true, WasmFeatures::EXCEPTIONS, "tags, throw, throw_ref, try_table, exnref";
    "legacy-exceptions", false, true, WasmFeatures::LEGACY_EXCEPTIONS,
        "pre-standard try, catch, catch_all, rethrow, delegate";
    "threads", false, true, WasmFeatures::THREADS, "shared memories, atomics, wait and notify";
    "wide-arithmetic", false, true, WasmFeatures::WIDE_ARITHMETIC, "i64.add128, i64.sub128, i64.mul_wide_s/u";
    "custom-page-sizes", false, true, WasmFeatures::CUSTOM_PAGE_SIZES, "memories with 1-byte pages";
    "gc", false, false, WasmFeatures::GC, "structs, arrays, i31 and the GC type hierarchy";
}

/// A set of [`FEATURES`], as bits in table order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FeatureSet(u32);

impl FeatureSet {
    /// The defaults: WebAssembly 3.0 as far as kiln implements it.
    pub fn defaults() -> FeatureSet {
        let mut s = FeatureSet(0);
        for (i, f) in FEATURES.iter().enumerate() {
            if f.default && f.supported {
                s.0 |= 1 << i;
            }
        }
        s
    }

    /// WebAssembly 2.0 and nothing more (SIMD and reference types are
    /// part of 2.0).
    pub fn wasm2() -> FeatureSet {
        let mut s = FeatureSet(0);
        s.set("simd", true).expect("simd is a feature");
        s.set("reference-types", true).expect("reference-types is a feature");
        s
    }

    fn index(name: &str) -> Result<usize> {
        FEATURES.iter().position(|f| f.name == name).ok_or_else(|| {
            let known: Vec<&str> = FEATURES.iter().map(|f| f.name).collect();
            Error::config(format!("unknown WebAssembly feature `{name}` (known: {})", known.join(", ")))
        })
    }

    /// Switch `name` on or off.
    pub fn set(&mut self, name: &str, enable: bool) -> Result<()> {
        let i = Self::index(name)?;
        if enable && !FEATURES[i].supported {
            return Err(Error::config(format!(
                "the WebAssembly feature `{name}` ({}) is not supported by kiln yet",
                FEATURES[i].description
            )));
        }
        if enable {
            self.0 |= 1 << i;
        } else {
            self.0 &= !(1 << i);
        }
        Ok(())
    }

    /// Whether `name` is on (false for an unknown name).
    pub fn contains(&self, name: &str) -> bool {
        Self::index(name).is_ok_and(|i| self.0 & (1 << i) != 0)
    }

    /// The names of the features that are on, in table order.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        FEATURES.iter().enumerate().filter(|(i, _)| self.0 & (1 << i) != 0).map(|(_, f)| f.name)
    }

    /// The validator's flags: WebAssembly 2.0 always, plus every feature
    /// that is on.
    pub(crate) fn wasmparser(&self) -> WasmFeatures {
        let mut w = WasmFeatures::WASM2 - WasmFeatures::SIMD - WasmFeatures::REFERENCE_TYPES;
        for (i, f) in FEATURES.iter().enumerate() {
            if self.0 & (1 << i) != 0 {
                w |= f.flags;
            }
        }
        // Relaxed SIMD extends SIMD: without vectors it cannot be on.
        if !w.contains(WasmFeatures::SIMD) {
            w -= WasmFeatures::RELAXED_SIMD;
        }
        w
    }

    /// Parse `name=y|n` (also `name`, meaning on), as `-W` takes it.
    pub fn apply_switch(&mut self, switch: &str) -> Result<()> {
        let (name, value) = switch.split_once('=').unwrap_or((switch, "y"));
        let enable = match value {
            "y" | "yes" | "true" | "on" => true,
            "n" | "no" | "false" | "off" => false,
            other => return Err(Error::config(format!("-W {name}={other}: expected `y` or `n`"))),
        };
        self.set(name, enable)
    }
}

impl Default for FeatureSet {
    fn default() -> Self {
        FeatureSet::defaults()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn switches_by_name() {
        let mut s = FeatureSet::defaults();
        assert!(s.contains("multi-memory") && !s.contains("wide-arithmetic"));
        s.apply_switch("wide-arithmetic=y").unwrap();
        s.apply_switch("multi-memory=n").unwrap();
        assert!(s.contains("wide-arithmetic") && !s.contains("multi-memory"));
        assert!(s.wasmparser().contains(WasmFeatures::WIDE_ARITHMETIC));
        assert!(!s.wasmparser().contains(WasmFeatures::MULTI_MEMORY));
        let e = s.apply_switch("no-such=y").unwrap_err().to_string();
        assert!(e.contains("unknown WebAssembly feature `no-such`") && e.contains("memory64"), "{e}");
        let e = s.apply_switch("gc=y").unwrap_err().to_string();
        assert!(e.contains("`gc`") && e.contains("not supported"), "{e}");
        assert!(s.apply_switch("simd=maybe").is_err());
    }

    #[test]
    fn defaults_are_the_supported_standard() {
        for f in FEATURES {
            assert_eq!(FeatureSet::defaults().contains(f.name), f.default && f.supported, "{}", f.name);
        }
    }

    #[test]
    fn wasm2_is_the_baseline() {
        let w = FeatureSet::wasm2().wasmparser();
        assert!(w.contains(WasmFeatures::WASM2));
        assert!(!w.contains(WasmFeatures::MULTI_MEMORY) && !w.contains(WasmFeatures::TAIL_CALL));
    }
}
