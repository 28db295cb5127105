//! What to compile for and how.

use crate::error::{Error, Result};
use kiln_artifact::engine::Tunables;
use std::str::FromStr;
use target_lexicon::Triple;

/// Cranelift optimisation level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OptLevel {
    /// No optimisation: fastest compile.
    None,
    /// Optimise for speed (the default).
    Speed,
    /// Optimise for speed and size.
    SpeedAndSize,
}

impl OptLevel {
    pub(crate) fn cranelift_name(self) -> &'static str {
        match self {
            OptLevel::None => "none",
            OptLevel::Speed => "speed",
            OptLevel::SpeedAndSize => "speed_and_size",
        }
    }
}

/// Environment variable set by [`crate::configure`] in build scripts: the
/// target triple of the crate being built.
pub const ENV_TARGET: &str = "KILN_TARGET";
/// Environment variable set by [`crate::configure`]: the target features
/// rustc enables (cargo's `CARGO_CFG_TARGET_FEATURE`, comma-separated).
pub const ENV_TARGET_FEATURES: &str = "KILN_TARGET_FEATURES";
/// Environment variable set by [`crate::configure`]: the cargo profile's
/// opt-level (`0`…`3`, `s`, `z`).
pub const ENV_OPT_LEVEL: &str = "KILN_OPT_LEVEL";

/// Environment variable (`1`/`0`) set by the build.rs helper: compile in
/// fuel metering.
pub const ENV_CONSUME_FUEL: &str = "KILN_CONSUME_FUEL";
/// Environment variable (`1`/`0`) set by the build.rs helper: compile in
/// epoch-deadline checks.
pub const ENV_EPOCH_INTERRUPTION: &str = "KILN_EPOCH_INTERRUPTION";

/// Environment variable (`1`/`0`) set by the build.rs helper: aarch64
/// branch protection.
pub const ENV_BRANCH_PROTECTION: &str = "KILN_BRANCH_PROTECTION";

/// Environment variable (`1`/`0`) set by the build.rs helper: write
/// source locations from the module's DWARF (on for profiles with debug
/// info, as cargo's `DEBUG` says, unless the build script chose).
pub const ENV_DEBUG_INFO: &str = "KILN_DEBUG_INFO";

fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| matches!(v.as_str(), "1" | "true" | "yes"))
}

/// Compilation settings. Everything here is recorded in the artifact's
/// `.kiln.engine` section and in the cache key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub(crate) triple: Triple,
    pub(crate) target_features: Vec<String>,
    pub(crate) opt_level: OptLevel,
    pub(crate) tunables: Tunables,
    pub(crate) parallel: bool,
    pub(crate) features: crate::features::FeatureSet,
    pub(crate) relaxed_simd_deterministic: bool,
    pub(crate) branch_protection: bool,
    pub(crate) debug_info: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config::host()
    }
}

impl Config {
    /// Compile for the machine running the compiler, with the triple's
    /// baseline CPU features only.
    pub fn host() -> Config {
        Config {
            triple: Triple::host(),
            target_features: Vec::new(),
            opt_level: OptLevel::Speed,
            tunables: Tunables::default(),
            parallel: true,
            features: crate::features::FeatureSet::defaults(),
            relaxed_simd_deterministic: false,
            branch_protection: false,
            debug_info: false,
        }
    }

    /// Compile for the machine running the compiler, with every CPU
    /// feature of it that Cranelift can use (as Wasmtime compiles by
    /// default): the fastest code for this machine, which the loader
    /// refuses on a CPU that lacks one of the features.
    pub fn native() -> Config {
        Config {
            target_features: kiln_artifact::cpu::host_features().into_iter().map(str::to_owned).collect(),
            ..Config::host()
        }
    }

    /// Compile for `triple` (e.g. `aarch64-unknown-linux-gnu`) with its
    /// baseline CPU features.
    pub fn for_target(triple: &str) -> Result<Config> {
        let triple =
            Triple::from_str(triple).map_err(|e| Error::target(format!("unknown target triple `{triple}`: {e}")))?;
        Ok(Config { triple, ..Config::host() })
    }

    /// The settings handed over by [`crate::configure`] from a build script
    /// (target triple, target features, opt-level, interruption), or the
    /// host's when the crate has no such build script.
    pub fn from_build_env() -> Result<Config> {
        let mut config = match std::env::var(ENV_TARGET) {
            Ok(t) if !t.is_empty() => Config::for_target(&t)?,
            _ => Config::host(),
        };
        if let Ok(features) = std::env::var(ENV_TARGET_FEATURES) {
            config.target_features = features.split(',').filter(|f| !f.is_empty()).map(str::to_owned).collect();
        }
        config.tunables.consume_fuel = env_flag(ENV_CONSUME_FUEL);
        config.tunables.epoch_interruption = env_flag(ENV_EPOCH_INTERRUPTION);
        config.branch_protection = env_flag(ENV_BRANCH_PROTECTION);
        config.debug_info = env_flag(ENV_DEBUG_INFO);
        if let Ok(level) = std::env::var(ENV_OPT_LEVEL) {
            config.opt_level = match level.as_str() {
                "0" => OptLevel::None,
                "s" | "z" => OptLevel::SpeedAndSize,
                _ => OptLevel::Speed,
            };
        }
        Ok(config)
    }

    /// Whether `feature` (a Rust target-feature name) is among the target
    /// features to compile for.
    pub fn has_target_feature(&self, feature: &str) -> bool {
        self.target_features.iter().any(|f| f.trim_start_matches('+') == feature)
    }

    /// Target features as rustc names them (`sse4.1`, `avx2`, `lse`…),
    /// replacing the ones set before. Features Cranelift does not use are
    /// ignored; the others are recorded and checked against the running
    /// CPU by the loader.
    pub fn target_features<I, S>(&mut self, features: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.target_features = features.into_iter().map(Into::into).collect();
        self
    }

    /// Cranelift optimisation level.
    pub fn opt_level(&mut self, level: OptLevel) -> &mut Self {
        self.opt_level = level;
        self
    }

    /// Compile in fuel accounting.
    pub fn consume_fuel(&mut self, enable: bool) -> &mut Self {
        self.tunables.consume_fuel = enable;
        self
    }

    /// Compile in epoch-deadline checks.
    pub fn epoch_interruption(&mut self, enable: bool) -> &mut Self {
        self.tunables.epoch_interruption = enable;
        self
    }

    /// Switch a WebAssembly feature on or off by name (`tail-call`,
    /// `memory64`, `threads`… — see [`crate::features::FEATURES`]): what
    /// `-W name=y|n` does. A module that uses a feature that is off fails
    /// validation with an error naming it. Unknown names, and features kiln
    /// cannot compile, are an error.
    pub fn wasm_feature(&mut self, name: &str, enable: bool) -> Result<&mut Self> {
        self.features.set(name, enable)?;
        Ok(self)
    }

    /// Replace every feature switch at once (e.g. with
    /// [`FeatureSet::wasm2`](crate::features::FeatureSet::wasm2)).
    pub fn wasm_features(&mut self, features: crate::features::FeatureSet) -> &mut Self {
        self.features = features;
        self
    }

    /// The feature switches.
    pub fn features(&self) -> crate::features::FeatureSet {
        self.features
    }

    /// Accept the SIMD and relaxed-SIMD instructions and the `v128` type
    /// (the default). When off, a module using them fails validation with
    /// an error naming the instruction and its offset.
    pub fn wasm_simd(&mut self, enable: bool) -> &mut Self {
        self.feature("simd", enable).feature("relaxed-simd", enable)
    }

    /// Accept modules with several memories (part of wasm 3.0; on by
    /// default).
    pub fn wasm_multi_memory(&mut self, enable: bool) -> &mut Self {
        self.feature("multi-memory", enable)
    }

    /// Tail calls: `return_call`, `return_call_indirect`, `return_call_ref`
    /// (wasm 3.0; on by default). Every wasm function uses Cranelift's
    /// `tail` calling convention either way.
    pub fn wasm_tail_call(&mut self, enable: bool) -> &mut Self {
        self.feature("tail-call", enable)
    }

    /// Typed function references: `(ref $t)`, `call_ref`,
    /// `ref.as_non_null`, `br_on_null`, `br_on_non_null` (wasm 3.0; on by
    /// default).
    pub fn wasm_function_references(&mut self, enable: bool) -> &mut Self {
        self.feature("function-references", enable)
    }

    /// 64-bit memories and tables (wasm 3.0; on by default).
    pub fn wasm_memory64(&mut self, enable: bool) -> &mut Self {
        self.feature("memory64", enable)
    }

    /// `i64.add128`, `i64.sub128`, `i64.mul_wide_s/u` (off by default).
    pub fn wasm_wide_arithmetic(&mut self, enable: bool) -> &mut Self {
        self.feature("wide-arithmetic", enable)
    }

    /// Shared memories, atomics, `memory.atomic.wait`/`notify` (off by
    /// default: threads are not part of WebAssembly 3.0).
    pub fn wasm_threads(&mut self, enable: bool) -> &mut Self {
        self.feature("threads", enable)
    }

    /// Memories with 1-byte pages (off by default).
    pub fn wasm_custom_page_sizes(&mut self, enable: bool) -> &mut Self {
        self.feature("custom-page-sizes", enable)
    }

    /// [`Config::wasm_feature`] for a feature kiln supports, which cannot
    /// fail.
    fn feature(&mut self, name: &str, enable: bool) -> &mut Self {
        let set = self.features.set(name, enable);
        debug_assert!(set.is_ok(), "{name}: {set:?}");
        self
    }

    /// Give relaxed-SIMD instructions the proposal's deterministic results,
    /// the same on every target — up to NaN payloads, which wasm leaves
    /// open for every float instruction (`relaxed_min` is `f32x4.min` here,
    /// and a NaN's payload may differ between CPU levels). Off by default: each target then uses its
    /// fastest instructions (this only changes code for x86_64). Either way
    /// the choice is fixed in the artifact and recorded in `.kiln.engine`,
    /// so an artifact behaves the same on every machine that loads it.
    pub fn relaxed_simd_deterministic(&mut self, enable: bool) -> &mut Self {
        self.relaxed_simd_deterministic = enable;
        self
    }

    /// aarch64 branch protection (BTI): every function entry and every
    /// indirect jump target gets a landing pad, and the runtime maps copied
    /// code with `PROT_BTI` where the kernel supports it, so an indirect
    /// branch into the middle of the code faults instead of running a
    /// gadget. No effect on other architectures; off by default.
    pub fn branch_protection(&mut self, enable: bool) -> &mut Self {
        self.branch_protection = enable;
        self
    }

    /// Source locations: when the module carries DWARF (the `.debug_*`
    /// sections of a debug build), write a table from wasm offsets to
    /// source file, line, column and function, inlined functions included
    /// (`.kiln.srclocs`), so that backtraces name them. Costs artifact
    /// size (about 8 bytes per line-table row) and build time, nothing at
    /// load or run time. Off by default; the build.rs helper turns it on
    /// for cargo profiles with debug info.
    pub fn debug_info(&mut self, enable: bool) -> &mut Self {
        self.debug_info = enable;
        self
    }

    /// Compile functions on all cores (the default) or on one.
    pub fn parallel(&mut self, enable: bool) -> &mut Self {
        self.parallel = enable;
        self
    }

    /// The target triple.
    pub fn triple(&self) -> &Triple {
        &self.triple
    }

    /// The tunables recorded in the artifact.
    pub fn tunables(&self) -> &Tunables {
        &self.tunables
    }

    /// A stable description of every setting, for the cache key.
    pub(crate) fn cache_key(&self) -> String {
        let mut features = self.target_features.clone();
        features.sort();
        format!(
            "{}|{}|{:?}|{:?}|features={}|relaxed-deterministic={}|bti={}|debug-info={}",
            self.triple,
            features.join(","),
            self.opt_level,
            self.tunables,
            self.features.names().collect::<Vec<_>>().join(","),
            self.relaxed_simd_deterministic,
            self.branch_protection,
            self.debug_info
        )
    }
}
