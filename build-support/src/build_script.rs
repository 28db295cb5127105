//! The one-line build.rs helper: tells `include_wasm!` what cargo is building.
//!
//! A proc macro runs inside rustc and sees rustc's environment, in which
//! cargo puts `CARGO_MANIFEST_DIR` but not the target triple, the target
//! features or the profile: those only reach build scripts. [`configure`]
//! forwards them with `cargo:rustc-env`, which cargo applies to rustc for the
//! crate's own compilation, where [`Config::from_build_env`] picks them up.
//!
//! [`Config::from_build_env`]: crate::Config::from_build_env

use crate::config::{
    Config, OptLevel, ENV_BRANCH_PROTECTION, ENV_CONSUME_FUEL, ENV_DEBUG_INFO, ENV_EPOCH_INTERRUPTION, ENV_OPT_LEVEL,
    ENV_TARGET, ENV_TARGET_FEATURES,
};
use crate::error::Result;

/// Forward cargo's build settings to `include_wasm!`, so that it compiles
/// modules for the target being built (and its CPU features and
/// opt-level) instead of for the host.
///
/// Call it from the build script of every crate that uses
/// `include_wasm!`:
///
/// ```toml
/// # Cargo.toml
/// [build-dependencies]
/// kiln-build = "0.1"
/// ```
///
/// ```no_run
/// // build.rs
/// fn main() {
///     kiln_build::configure();
/// }
/// ```
///
/// Without it, `include_wasm!` compiles for the host with the baseline CPU
/// features of its triple, and the expansion refuses to build for any other
/// architecture or OS.
///
/// It forwards:
///
/// | cargo sets (build script) | rustc gets (macro)     |
/// |---------------------------|------------------------|
/// | `TARGET`                  | `KILN_TARGET`          |
/// | `CARGO_CFG_TARGET_FEATURE`| `KILN_TARGET_FEATURES` |
/// | `OPT_LEVEL`               | `KILN_OPT_LEVEL`       |
/// | `DEBUG`                   | `KILN_DEBUG_INFO`      |
///
/// Target features come from `RUSTFLAGS` (`-C target-cpu=…`,
/// `-C target-feature=…`), and cargo does not rerun build scripts for every
/// way those can change, so this also prints `cargo:rerun-if-env-changed`
/// for the variables that carry them. Like any `rerun-if` line, that turns off
/// cargo's default of rerunning the build script whenever a file of the
/// package changes: a build script that needs that should print its own
/// `cargo:rerun-if-changed` lines.
///
/// Outside a build script (no `TARGET`), it prints nothing.
// The example is a build script: its `main` is the point.
#[allow(clippy::needless_doctest_main)]
pub fn configure() {
    print!("{}", directives(|name| std::env::var(name).ok()));
}

/// [`configure`] with choices of the build: interruption checks compiled
/// into every module `include_wasm!` (and [`Plugins`](crate::Plugins))
/// compile for this crate.
///
/// ```no_run
/// // build.rs: every plugin of this host can be stopped by an epoch deadline.
/// fn main() {
///     kiln_build::Configure::new().epoch_interruption(true).emit();
/// }
/// ```
// The example is a build script: its `main` is the point.
#[allow(clippy::needless_doctest_main)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Configure {
    consume_fuel: bool,
    epoch_interruption: bool,
    branch_protection: bool,
    debug_info: Option<bool>,
}

impl Configure {
    /// The settings of [`configure`]: no interruption checks.
    pub fn new() -> Configure {
        Configure::default()
    }

    /// Compile in fuel metering (stores must then call `Store::set_fuel`).
    pub fn consume_fuel(mut self, enable: bool) -> Configure {
        self.consume_fuel = enable;
        self
    }

    /// Compile in epoch-deadline checks (stores must then call
    /// `Store::set_epoch_deadline`).
    pub fn epoch_interruption(mut self, enable: bool) -> Configure {
        self.epoch_interruption = enable;
        self
    }

    /// Compile aarch64 modules with branch protection (see
    /// [`Config::branch_protection`]).
    pub fn branch_protection(mut self, enable: bool) -> Configure {
        self.branch_protection = enable;
        self
    }

    /// Write source locations from the modules' DWARF (see
    /// [`Config::debug_info`]) whatever the profile; by default they follow
    /// the profile's debug info.
    pub fn debug_info(mut self, enable: bool) -> Configure {
        self.debug_info = Some(enable);
        self
    }

    /// Print the cargo directives.
    // The example is a build script: its `main` is the point.
    #[allow(clippy::needless_doctest_main)]
    pub fn emit(self) {
        print!("{}", self.directives(|name| std::env::var(name).ok()));
    }

    fn directives(self, env: impl Fn(&str) -> Option<String>) -> String {
        let mut out = directives_with(env, self.debug_info);
        if out.is_empty() {
            return out;
        }
        let flag = |b: bool| if b { "1" } else { "0" };
        out += &format!("cargo:rustc-env={ENV_CONSUME_FUEL}={}\n", flag(self.consume_fuel));
        out += &format!("cargo:rustc-env={ENV_EPOCH_INTERRUPTION}={}\n", flag(self.epoch_interruption));
        out += &format!("cargo:rustc-env={ENV_BRANCH_PROTECTION}={}\n", flag(self.branch_protection));
        out
    }
}

/// The lines [`configure`] prints, given cargo's build-script environment.
fn directives(env: impl Fn(&str) -> Option<String>) -> String {
    directives_with(env, None)
}

/// [`directives`], with source locations on or off by choice (`Some`) or
/// by the profile (`None`).
fn directives_with(env: impl Fn(&str) -> Option<String>, debug_info: Option<bool>) -> String {
    let Some(target) = env("TARGET") else {
        return String::new();
    };
    let features = target_features(&env).join(",");
    let mut out = format!("cargo:rustc-env={ENV_TARGET}={target}\n");
    out += &format!("cargo:rustc-env={ENV_TARGET_FEATURES}={features}\n");
    if let Some(level) = env("OPT_LEVEL") {
        out += &format!("cargo:rustc-env={ENV_OPT_LEVEL}={level}\n");
    }
    let debug_info = debug_info.unwrap_or_else(|| profile_debug_info(&env));
    out += &format!("cargo:rustc-env={ENV_DEBUG_INFO}={}\n", if debug_info { 1 } else { 0 });
    out += &rustflags_directives();
    out
}

/// Whether the cargo profile being built has debug info (cargo's `DEBUG`,
/// `true` for any `debug` setting but none).
fn profile_debug_info(env: &impl Fn(&str) -> Option<String>) -> bool {
    env("DEBUG").is_some_and(|v| v == "true")
}

/// The target features of the build: those rustc reports
/// (`CARGO_CFG_TARGET_FEATURE`), and those `-C target-feature` turns on or
/// off in the build's flags (`CARGO_ENCODED_RUSTFLAGS`, as cargo hands
/// them to build scripts). The second matters for features rustc does not
/// report on a stable toolchain because it deems them unstable — riscv64's
/// `v` among them — though it compiles with them.
fn target_features(env: &impl Fn(&str) -> Option<String>) -> Vec<String> {
    let mut features: Vec<String> = env("CARGO_CFG_TARGET_FEATURE")
        .unwrap_or_default()
        .split(',')
        .filter(|f| !f.is_empty())
        .map(str::to_owned)
        .collect();
    let flags = env("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    let mut args = flags.split('\x1f');
    while let Some(arg) = args.next() {
        let list = match arg {
            "-C" | "--codegen" => match args.next().and_then(|a| a.strip_prefix("target-feature=")) {
                Some(list) => list,
                None => continue,
            },
            _ => {
                match arg.strip_prefix("-Ctarget-feature=").or_else(|| arg.strip_prefix("--codegen=target-feature=")) {
                    Some(list) => list,
                    None => continue,
                }
            }
        };
        for item in list.split(',') {
            if let Some(f) = item.strip_prefix('+') {
                if !features.iter().any(|x| x == f) {
                    features.push(f.to_owned());
                }
            } else if let Some(f) = item.strip_prefix('-') {
                features.retain(|x| x != f);
            }
        }
    }
    features
}

/// `cargo:rerun-if-env-changed` for the variables that carry target
/// features. cargo compares these with its own environment, so they catch
/// flags set by the user in the shell; flags from config files are part of
/// the build script's fingerprint already.
pub(crate) fn rustflags_directives() -> String {
    ["RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS", "CARGO_BUILD_RUSTFLAGS"]
        .iter()
        .map(|var| format!("cargo:rerun-if-env-changed={var}\n"))
        .collect()
}

/// The settings cargo gives a build script (`TARGET`,
/// `CARGO_CFG_TARGET_FEATURE`, `OPT_LEVEL`) as a [`Config`]: what
/// [`Config::from_build_env`] reads after [`configure`] has forwarded them,
/// for code that compiles inside the build script itself
/// ([`Plugins`](crate::Plugins)), with fuel and epoch checks when
/// `KILN_CONSUME_FUEL` / `KILN_EPOCH_INTERRUPTION` are set. The host's
/// settings outside a build script.
pub(crate) fn build_script_config(env: impl Fn(&str) -> Option<String>) -> Result<Config> {
    let mut config = match env("TARGET") {
        Some(target) if !target.is_empty() => Config::for_target(&target)?,
        _ => return Ok(Config::host()),
    };
    config.target_features(target_features(&env));
    // The same mapping as `Config::from_build_env` applies to KILN_OPT_LEVEL.
    if let Some(level) = env("OPT_LEVEL") {
        config.opt_level(match level.as_str() {
            "0" => OptLevel::None,
            "s" | "z" => OptLevel::SpeedAndSize,
            _ => OptLevel::Speed,
        });
    }
    // Interruption is the build's choice, in the same variables the macro
    // reads.
    let flag = |name: &str| env(name).is_some_and(|v| matches!(v.as_str(), "1" | "true" | "yes"));
    config.consume_fuel(flag(ENV_CONSUME_FUEL));
    config.epoch_interruption(flag(ENV_EPOCH_INTERRUPTION));
    config.branch_protection(flag(ENV_BRANCH_PROTECTION));
    config.debug_info(match env(ENV_DEBUG_INFO) {
        Some(_) => flag(ENV_DEBUG_INFO),
        None => profile_debug_info(&env),
    });
    Ok(config)
}

#[cfg(test)]
mod configure_tests {
    use super::*;

    #[test]
    fn configure_forwards_interruption_choices() {
        let env = |name: &str| (name == "TARGET").then(|| "x86_64-unknown-linux-gnu".to_string());
        let lines = Configure::new().epoch_interruption(true).directives(env);
        assert!(lines.contains("cargo:rustc-env=KILN_EPOCH_INTERRUPTION=1\n"), "{lines}");
        assert!(lines.contains("cargo:rustc-env=KILN_CONSUME_FUEL=0\n"), "{lines}");
        assert!(Configure::new().directives(|_| None).is_empty());
    }

    /// Source locations follow the profile's debug info unless the build
    /// script chose, and the choice is printed once.
    #[test]
    fn debug_info_follows_the_profile_or_the_choice() {
        let debug = |name: &str| match name {
            "TARGET" => Some("x86_64-unknown-linux-gnu".to_string()),
            "DEBUG" => Some("true".to_string()),
            _ => None,
        };
        let lines = Configure::new().directives(debug);
        assert_eq!(lines.matches("KILN_DEBUG_INFO").count(), 1, "{lines}");
        assert!(lines.contains("cargo:rustc-env=KILN_DEBUG_INFO=1\n"), "{lines}");
        let lines = Configure::new().debug_info(false).directives(debug);
        assert!(lines.contains("cargo:rustc-env=KILN_DEBUG_INFO=0\n"), "{lines}");
        assert!(build_script_config(debug).unwrap().debug_info);
        let release = |name: &str| (name == "TARGET").then(|| "x86_64-unknown-linux-gnu".to_string());
        assert!(!build_script_config(release).unwrap().debug_info);
    }
}

#[cfg(test)]
mod tests {
    use super::directives;

    fn env<'a>(vars: &'a [(&str, &str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
    }

    #[test]
    fn forwards_cargo_settings() {
        let out = directives(env(&[
            ("TARGET", "aarch64-unknown-linux-gnu"),
            ("CARGO_CFG_TARGET_FEATURE", "lse,neon"),
            ("OPT_LEVEL", "3"),
            ("DEBUG", "true"),
        ]));
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[..4],
            [
                "cargo:rustc-env=KILN_TARGET=aarch64-unknown-linux-gnu",
                "cargo:rustc-env=KILN_TARGET_FEATURES=lse,neon",
                "cargo:rustc-env=KILN_OPT_LEVEL=3",
                "cargo:rustc-env=KILN_DEBUG_INFO=1",
            ]
        );
        assert!(lines[4..].iter().all(|l| l.starts_with("cargo:rerun-if-env-changed=")));
        assert!(lines.contains(&"cargo:rerun-if-env-changed=RUSTFLAGS"));
    }

    /// A feature rustc keeps out of `cfg` on stable (riscv64's `v`) still
    /// reaches kiln through the flags; `-feature` takes one away.
    #[test]
    fn features_from_rustflags() {
        let out = directives(env(&[
            ("TARGET", "riscv64gc-unknown-linux-gnu"),
            ("CARGO_CFG_TARGET_FEATURE", "a,c,d,f,m"),
            ("CARGO_ENCODED_RUSTFLAGS", "-C\x1ftarget-feature=+v,-c\x1f-Copt-level=3\x1f-Ctarget-feature=+zba"),
        ]));
        assert!(out.contains("cargo:rustc-env=KILN_TARGET_FEATURES=a,d,f,m,v,zba\n"), "{out}");
    }

    #[test]
    fn no_features_still_overrides_a_stale_value() {
        let out = directives(env(&[("TARGET", "x86_64-unknown-linux-gnu")]));
        assert!(out.contains("cargo:rustc-env=KILN_TARGET_FEATURES=\n"), "{out}");
    }

    #[test]
    fn build_script_settings_become_a_config() {
        let config = super::build_script_config(env(&[
            ("TARGET", "aarch64-unknown-linux-gnu"),
            ("CARGO_CFG_TARGET_FEATURE", "lse,neon"),
            ("OPT_LEVEL", "0"),
        ]))
        .unwrap();
        let mut expected = crate::Config::for_target("aarch64-unknown-linux-gnu").unwrap();
        expected.target_features(["lse", "neon"]).opt_level(crate::OptLevel::None);
        assert_eq!(config, expected);
        assert_eq!(super::build_script_config(env(&[])).unwrap(), crate::Config::host());
    }

    #[test]
    fn silent_outside_a_build_script() {
        assert_eq!(directives(env(&[])), "");
    }
}
