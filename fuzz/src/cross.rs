//! The cross-architecture target: differential cases recorded here and
//! replayed on another architecture. Each case's module and arguments are
//! those of the differential case with the same seed; both oracles run
//! here, on the host; the module is compiled here for the other triple;
//! the case file goes to `kiln-fuzz-replay`, which needs only the runtime
//! on the target. So the compiler never runs under emulation, and a
//! big-endian target is judged by oracles on a little-endian host.

use crate::differential;
use crate::generate;
use crate::outcome::compare;
use crate::runner::{CaseReport, Finding};
use kiln_fuzz_replay::case::Case;
use std::path::Path;

/// The triples cases are recorded for, each with the CPU feature levels a
/// case picks from: the baseline, and a richer level that CI's emulators
/// implement. riscv64 always has V: kiln's SIMD needs it.
pub const TARGETS: &[(&str, [&[&str]; 2])] = &[
    ("aarch64-unknown-linux-gnu", [&[], &["lse", "fp16", "dotprod", "i8mm"]]),
    ("riscv64gc-unknown-linux-gnu", [&["v"], &["v", "zba", "zbb", "zbs"]]),
    ("s390x-unknown-linux-gnu", [&[], &["miscellaneous-extensions-3", "vector-enhancements-2"]]),
    ("x86_64-unknown-linux-gnu", [&[], &["sse3", "ssse3", "sse4.1", "sse4.2", "popcnt"]]),
];

/// The CPU levels of `triple`, or an error listing the triples known.
pub fn levels(triple: &str) -> Result<[&'static [&'static str]; 2], String> {
    TARGETS.iter().find(|(t, _)| *t == triple).map(|(_, l)| *l).ok_or_else(|| {
        let known: Vec<&str> = TARGETS.iter().map(|(t, _)| *t).collect();
        format!("no cross levels for `{triple}`; known: {}", known.join(", "))
    })
}

/// Record case `seed` for `triple` in `dir` (a case the oracles cannot
/// judge is counted and skipped).
pub fn case(seed: u64, triple: &str, dir: &Path) -> CaseReport {
    let mut report = CaseReport::default();
    let (Some(wasm), mut rng) = differential::module(seed) else {
        report.count("generator give-ups", 1);
        return report;
    };
    let finding = |what: String| Finding { what, files: vec![("wasm", wasm.clone())] };
    // Drawn as the differential case draws its CPU level, so the plan's
    // arguments are that case's too.
    let rich = rng.chance(1, 2);
    let plan = match generate::plan(&wasm, &mut rng) {
        Ok(p) => p,
        Err(e) => {
            report.finding = Some(finding(format!("wasm-smith wrote a module wasmparser cannot read: {e}")));
            return report;
        }
    };
    let expected = match differential::oracles(&wasm, &plan) {
        (Ok(a), Ok(b)) if a.exhausted_stack() || b.exhausted_stack() => {
            report.count("skipped: stack exhaustion in an oracle", 1);
            return report;
        }
        (Ok(a), Ok(b)) if compare(&plan.calls, &a, &b).is_none() => a,
        (Ok(_), Ok(_)) => {
            report.count("skipped: oracles disagree", 1);
            return report;
        }
        _ => {
            report.count("skipped: an oracle refused", 1);
            return report;
        }
    };
    let levels = match levels(triple) {
        Ok(l) => l,
        Err(e) => {
            report.finding = Some(finding(e));
            return report;
        }
    };
    let cpu_features: Vec<String> = levels[usize::from(rich)].iter().map(|f| f.to_string()).collect();
    let artifact = match compile(&wasm, triple, &cpu_features) {
        Ok(a) => a,
        Err(e) => {
            report.finding = Some(finding(format!("kiln refused for {triple} a module both oracles run: {e}")));
            return report;
        }
    };
    report.count("calls", plan.calls.len() as u64);
    let case = Case { seed, triple: triple.to_owned(), cpu_features, wasm: wasm.clone(), artifact, plan, expected };
    if let Err(e) = std::fs::write(dir.join(Case::file_name(seed)), case.encode()) {
        report.finding = Some(finding(format!("cannot write the case to {}: {e}", dir.display())));
    }
    report
}

/// The differential target's compiler configuration, for `triple`.
fn compile(wasm: &[u8], triple: &str, cpu_features: &[String]) -> Result<Vec<u8>, String> {
    let mut config = kiln_build::Config::for_target(triple).map_err(|e| e.to_string())?;
    config.target_features(cpu_features);
    crate::engines::kiln::settings(&mut config);
    kiln_build::compile(wasm, &config).map_err(|e| e.to_string())
}
