//! Target triple and CPU features → a Cranelift ISA with kiln's settings.

use crate::config::Config;
use crate::error::{Error, Result};
use cranelift_codegen::isa::{self, OwnedTargetIsa};
use cranelift_codegen::settings::{self, Configurable};
use target_lexicon::Architecture;

use kiln_artifact::cpu::FEATURES;

/// Cranelift shared settings kiln compiles with. The runtime relies on some
/// of them (see `kiln_artifact::engine::REQUIRED_CODEGEN_FLAGS`).
fn shared_flags(config: &Config) -> Result<settings::Flags> {
    let mut b = settings::builder();
    let mut set = |name: &str, value: &str| {
        b.set(name, value).map_err(|e| Error::target(format!("cranelift setting {name}={value}: {e}")))
    };
    set("opt_level", config.opt_level.cranelift_name())?;
    // Backtraces walk the frame-pointer chain.
    set("preserve_frame_pointers", "true")?;
    // Stack overflow is caught by the prologue check against the store's
    // limit, which accounts for the frame size. Windows commits a thread's
    // stack one guard page at a time, so there a frame larger than a page
    // must touch its pages in order: inline probes. Elsewhere none.
    if config.triple.operating_system == target_lexicon::OperatingSystem::Windows {
        set("enable_probestack", "true")?;
        set("probestack_strategy", "inline")?;
    } else {
        set("enable_probestack", "false")?;
    }
    // Nothing unwinds through wasm frames: traps longjmp out, host panics
    // are carried across as values.
    set("unwind_info", "false")?;
    set("enable_verifier", if cfg!(debug_assertions) { "true" } else { "false" })?;
    // No libcalls or external symbols are used; all calls are colocated.
    set("is_pic", "false")?;
    set("enable_heap_access_spectre_mitigation", "false")?;
    set("enable_table_access_spectre_mitigation", "false")?;
    Ok(settings::Flags::new(b))
}

/// Build the ISA for `config`, and the list of CPU features it records.
pub fn build(config: &Config) -> Result<(OwnedTargetIsa, Vec<String>)> {
    match config.triple.architecture {
        Architecture::X86_64 | Architecture::Aarch64(_) | Architecture::Riscv64(_) | Architecture::S390x => {}
        other => {
            return Err(Error::target(format!(
                "target `{}`: architecture {other} is not supported (kiln supports x86_64, aarch64, riscv64 and s390x)",
                config.triple
            )))
        }
    }
    let mut builder =
        isa::lookup(config.triple.clone()).map_err(|e| Error::target(format!("target `{}`: {e}", config.triple)))?;
    let mut recorded = Vec::new();
    for feature in &config.target_features {
        let feature = feature.trim_start_matches('+');
        if let Some((_, setting)) = FEATURES.iter().find(|(rust, _)| *rust == feature) {
            // A setting of another architecture is simply not there.
            if builder.enable(setting).is_ok() {
                recorded.push(feature.to_string());
            }
        }
    }
    recorded.sort();
    recorded.dedup();
    if config.branch_protection && matches!(config.triple.architecture, Architecture::Aarch64(_)) {
        builder.enable("use_bti").map_err(|e| Error::target(format!("branch protection: {e}")))?;
    }
    let isa =
        builder.finish(shared_flags(config)?).map_err(|e| Error::target(format!("target `{}`: {e}", config.triple)))?;
    Ok((isa, recorded))
}

/// The settings to record in `.kiln.engine`, as `name=value`.
pub fn recorded_flags(isa: &dyn isa::TargetIsa) -> Vec<String> {
    let mut v: Vec<String> = isa.flags().iter().map(|f| format!("{}={}", f.name, f.value_string())).collect();
    v.extend(isa.isa_flags().iter().map(|f| format!("{}={}", f.name, f.value_string())));
    // The settings the runtime checks go first, so the loader finds them
    // without scanning the rest (see `REQUIRED_CODEGEN_FLAGS`).
    v.sort_by_key(|f| !kiln_artifact::engine::REQUIRED_CODEGEN_FLAGS.contains(&f.as_str()));
    v
}

#[cfg(test)]
mod recorded_flags_tests {
    /// The settings the loader checks come first, where it looks for them.
    #[test]
    fn required_flags_come_first() {
        let config = crate::Config::host();
        let (isa, _) = super::build(&config).unwrap();
        let flags = super::recorded_flags(&*isa);
        let required = kiln_artifact::engine::REQUIRED_CODEGEN_FLAGS;
        assert_eq!(&flags[..required.len()], required);
    }
}
