//! Compare an artifact's `.kiln.engine` with this runtime, topic by topic;
//! each check says exactly what differs.

use crate::error::{Error, Result};
use kiln_artifact::engine::{self, BoundsChecks, EngineInfo, RawStr, Tunables, REQUIRED_CODEGEN_FLAGS};
use kiln_artifact::sections::ENGINE;
use kiln_artifact::{FORMAT_VERSION, KILN_VERSION};

/// What a module keeps of its `.kiln.engine` once checked.
#[derive(Debug)]
pub(crate) struct Engine {
    /// The target triple the code was compiled for.
    pub triple: Box<str>,
    /// Settings shared by compiled code and runtime.
    pub tunables: Tunables,
    /// aarch64 branch protection: copied code is mapped to enforce it.
    pub branch_protection: bool,
}

/// Decode and check the section. Its strings are borrowed, not copied,
/// while they are checked, and only those read as text are checked to be
/// UTF-8.
pub(crate) fn check(bytes: &[u8]) -> Result<Engine> {
    let prefix = engine::decode_prefix(bytes).map_err(|e| Error::load(ENGINE, e.reason))?;
    check_version(prefix.format_version, prefix.kiln_version)?;
    let info: EngineInfo<RawStr<'_>> =
        engine::decode_info_borrowed(&prefix).map_err(|e| Error::load(ENGINE, e.reason))?;
    fn text(s: RawStr<'_>) -> Result<&str> {
        s.to_str().ok_or_else(|| Error::load(ENGINE, "a triple or CPU feature is not UTF-8"))
    }
    let triple = text(info.triple)?;
    check_triple(triple)?;
    for &f in &info.cpu_features {
        check_cpu_feature(text(f)?)?;
    }
    check_codegen_flags(info.codegen_flags.0)?;
    check_tunables(&info.tunables)?;
    Ok(Engine { triple: triple.into(), tunables: info.tunables, branch_protection: info.branch_protection })
}

fn check_version(format: u8, kiln: &str) -> Result<()> {
    if format != FORMAT_VERSION {
        return Err(Error::load(
            ENGINE,
            format!("artifact format version {format} (kiln {kiln}); this runtime (kiln {KILN_VERSION}) reads version {FORMAT_VERSION}: recompile the module"),
        ));
    }
    if kiln != KILN_VERSION {
        return Err(Error::load(
            ENGINE,
            format!("artifact was compiled by kiln {kiln}; this runtime is kiln {KILN_VERSION}: recompile the module"),
        ));
    }
    Ok(())
}

/// The architecture and OS parts of a triple, normalised to Rust's
/// `std::env::consts` names.
fn arch_os(triple: &str) -> (&str, &'static str) {
    let mut parts = triple.split('-');
    let arch = parts.next().unwrap_or("");
    let arch = match arch {
        a if a.starts_with("riscv64") => "riscv64",
        "arm64" => "aarch64",
        a => a,
    };
    let os = ["linux", "android", "macos", "darwin", "ios", "freebsd", "netbsd", "openbsd", "windows", "none"]
        .into_iter()
        .find(|os| parts.clone().any(|p| p.starts_with(os)))
        .map(|os| if os == "darwin" { "macos" } else { os })
        .unwrap_or("unknown");
    (arch, os)
}

fn check_triple(triple: &str) -> Result<()> {
    let (arch, os) = arch_os(triple);
    let (host_arch, host_os) = (std::env::consts::ARCH, std::env::consts::OS);
    if arch != host_arch || os != host_os {
        return Err(Error::load(
            ENGINE,
            format!("artifact was compiled for `{triple}` ({arch}/{os}); this host is {host_arch}/{host_os}"),
        ));
    }
    Ok(())
}

fn check_cpu_feature(f: &str) -> Result<()> {
    if kiln_artifact::cpu::host_has(f) == Some(false) {
        return Err(Error::load(
            ENGINE,
            format!("artifact uses CPU feature `{f}`, which this CPU does not have: recompile without it (e.g. without -C target-cpu=native)"),
        ));
    }
    Ok(())
}

fn check_codegen_flags(flags: &[u8]) -> Result<()> {
    for required in REQUIRED_CODEGEN_FLAGS {
        // kiln-build writes the required flags first: look there before
        // scanning the whole list (an artifact written otherwise is still
        // checked, only more slowly).
        let is = |f: &[u8]| f == required.as_bytes();
        let mut first = flags.split(|&b| b == b' ').take(REQUIRED_CODEGEN_FLAGS.len());
        if !first.any(is) && !flags.split(|&b| b == b' ').any(is) {
            return Err(Error::load(
                ENGINE,
                format!("artifact was compiled without `{required}`, which this runtime needs"),
            ));
        }
    }
    Ok(())
}

fn check_tunables(t: &Tunables) -> Result<()> {
    let page = crate::vm::sys::page_size() as u64;
    if !t.memory_reservation.is_multiple_of(page) || !t.memory_guard_size.is_multiple_of(page) {
        return Err(Error::load(ENGINE, "memory reservation and guard size must be multiples of the page size"));
    }
    if t.bounds_checks == BoundsChecks::GuardPages && usize::BITS < 64 {
        return Err(Error::load(ENGINE, "guard-page bounds checks need a 64-bit host"));
    }
    if t.memory_reservation.checked_add(t.memory_guard_size).is_none_or(|n| n > 1 << 46) {
        return Err(Error::load(ENGINE, "memory reservation plus guard exceeds the address space"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host() -> EngineInfo {
        EngineInfo {
            triple: format!("{}-unknown-{}-gnu", std::env::consts::ARCH, std::env::consts::OS),
            cpu_features: vec![],
            codegen_flags: REQUIRED_CODEGEN_FLAGS.join(" "),
            wasm_features: String::new(),
            relaxed_simd: kiln_artifact::engine::RelaxedSimd::Deterministic,
            branch_protection: false,
            tunables: Tunables::default(),
        }
    }

    fn check_info(info: &EngineInfo) -> Result<Engine> {
        check(&engine::encode(info))
    }

    #[test]
    fn accepts_host() {
        check_info(&host()).unwrap();
    }

    #[test]
    fn refuses_other_format_version() {
        let mut bytes = engine::encode(&host());
        bytes[0] = FORMAT_VERSION + 1;
        let e = check(&bytes).unwrap_err().to_string();
        assert!(e.contains("format version"), "{e}");
    }

    #[test]
    fn refuses_other_kiln_version() {
        let e = check_version(FORMAT_VERSION, "0.0.0-other").unwrap_err().to_string();
        assert!(e.contains("kiln 0.0.0-other"), "{e}");
    }

    #[test]
    fn refuses_other_triple() {
        let mut info = host();
        info.triple =
            if cfg!(target_arch = "s390x") { "x86_64-unknown-linux-gnu" } else { "s390x-unknown-linux-gnu" }.into();
        let e = check_info(&info).unwrap_err().to_string();
        assert!(e.contains("compiled for"), "{e}");
    }

    #[test]
    fn refuses_missing_cpu_feature() {
        let mut info = host();
        // A feature the build machine lacks, when one can be found.
        let candidates = ["avx512vbmi", "avx512f", "avx512bitalg", "i8mm"];
        if let Some(f) = candidates.iter().find(|f| kiln_artifact::cpu::host_has(f) == Some(false)) {
            info.cpu_features = vec![f.to_string()];
            let e = check_info(&info).unwrap_err().to_string();
            assert!(e.contains(f), "{e}");
        }
    }

    #[test]
    fn refuses_missing_codegen_flag() {
        let mut info = host();
        info.codegen_flags.clear();
        assert!(check_info(&info).unwrap_err().to_string().contains("preserve_frame_pointers"));
    }

    /// The compiler writes the required flags first; written anywhere else
    /// they are still found, and a wrong value is still refused.
    #[test]
    fn finds_required_flags_anywhere() {
        let mut info = host();
        info.codegen_flags = format!("opt_level=speed is_pic=false {}", REQUIRED_CODEGEN_FLAGS.join(" "));
        check_info(&info).unwrap();
        info.codegen_flags = "opt_level=speed preserve_frame_pointers=false".into();
        assert!(check_info(&info).unwrap_err().to_string().contains("preserve_frame_pointers"));
    }

    #[test]
    fn refuses_odd_tunables() {
        let mut info = host();
        info.tunables.memory_guard_size = 12345;
        assert!(check_info(&info).is_err());
    }

    #[test]
    fn refuses_truncated_section() {
        let bytes = engine::encode(&host());
        assert!(check(&bytes[..bytes.len() - 3]).is_err());
        assert!(check(&[]).is_err());
    }
}
