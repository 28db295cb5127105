//! The differential target: a wasm-smith module run in kiln and in both
//! oracles, everything observable compared.
//!
//! A case where kiln disagrees with both oracles, and they agree, is a
//! kiln bug. A case where the oracles disagree with each other is counted
//! as an oracle disagreement and kept, not chased; if kiln then matches
//! neither, it is a three-way disagreement, kept and counted apart.

use crate::engines::{kiln, wasmi1, wasmi2};
use crate::generate;
use crate::generate::Plan;
use crate::outcome::{compare, Run};
use crate::rng::Rng;
use crate::runner::panic_message;
use crate::runner::{CaseReport, Finding};

/// The module of case `seed` (None if wasm-smith gave up), and the
/// generator positioned to draw its arguments.
pub fn module(seed: u64) -> (Option<Vec<u8>>, Rng) {
    let mut rng = Rng::new("differential", seed);
    let config = generate::differential_config(&mut rng);
    (generate::smith(config, &mut rng, true), rng)
}

/// Run a case from raw fuzzer input: wasm-smith reads the module from it
/// (as cargo-fuzz targets do, so coverage guides the generator).
pub fn case_from_bytes(data: &[u8]) -> CaseReport {
    let mut report = CaseReport::default();
    let mut rng = Rng::new("differential bytes", data.len() as u64);
    let config = generate::differential_config(&mut rng);
    let Ok(mut module) = wasm_smith::Module::new(config, &mut arbitrary::Unstructured::new(data)) else {
        return report;
    };
    if module.ensure_termination(generate::FUEL).is_err() {
        return report;
    }
    let native_cpu = data.first().is_some_and(|b| b & 1 == 1);
    let wasm = crate::canon::canonicalize_nans(module.to_bytes());
    check(&wasm, &mut rng, native_cpu, &mut report);
    report
}

/// Run differential case `seed`.
pub fn case(seed: u64) -> CaseReport {
    let mut report = CaseReport::default();
    let (Some(wasm), mut rng) = module(seed) else {
        report.count("generator give-ups", 1);
        return report;
    };
    let native_cpu = rng.chance(1, 2);
    check(&wasm, &mut rng, native_cpu, &mut report);
    report
}

/// Both oracles' runs of `plan`: wasmi 2, then wasmi 1. An oracle that
/// panics gives an error starting with "panicked".
pub fn oracles(wasm: &[u8], plan: &Plan) -> (Result<Run, String>, Result<Run, String>) {
    let oracle = |engine: fn(&[u8], &Plan) -> Result<Run, String>| {
        std::panic::catch_unwind(|| engine(wasm, plan))
            .unwrap_or_else(|p| Err(format!("panicked: {}", panic_message(&*p))))
    };
    (oracle(wasmi2), oracle(wasmi1))
}

/// Run one module (from a seed or a file) in all three engines and
/// compare; `rng` draws the arguments.
pub fn check(wasm: &[u8], rng: &mut Rng, native_cpu: bool, report: &mut CaseReport) {
    let finding = |what: String| Finding { what, files: vec![("wasm", wasm.to_vec())] };
    let plan = match generate::plan(wasm, rng) {
        Ok(p) => p,
        Err(e) => {
            report.finding = Some(finding(format!("wasm-smith wrote a module wasmparser cannot read: {e}")));
            return;
        }
    };
    // An oracle that cannot run the module, or crashes on it (wasmi 2.0.0
    // panics translating some stores), judges nothing; a crash is kept.
    let (a, b) = match oracles(wasm, &plan) {
        (Ok(a), Ok(b)) => (a, b),
        (a, b) => {
            report.count("modules an oracle refused", 1);
            let crash = [("wasmi 2", a.err()), ("wasmi 1", b.err())]
                .into_iter()
                .find_map(|(name, e)| Some((name, e.filter(|e| e.starts_with("panicked"))?)));
            if let Some((name, e)) = crash {
                report.count("oracle crashes", 1);
                report.note = Some(finding(format!("{name} {e}")));
            }
            return;
        }
    };
    let artifact = match kiln::compile(wasm, native_cpu) {
        Ok(bytes) => bytes,
        Err(e) => {
            report.finding = Some(finding(format!("kiln refused a module both oracles run: {e}")));
            return;
        }
    };
    // SAFETY: the bytes come straight from kiln_build::compile in this
    // process; nothing has touched them.
    let k: Run = match unsafe { kiln::run(&artifact, &plan) } {
        Ok(run) => run,
        Err(e) => {
            report.finding = Some(finding(format!("kiln could not run the case: {e}")));
            return;
        }
    };
    report.count("calls", k.calls.len() as u64);
    if k.instantiation.is_some() {
        report.count("instantiation failures", 1);
    }
    if k.exhausted_stack() || a.exhausted_stack() || b.exhausted_stack() {
        report.count("stack exhaustions", 1);
    }
    if std::env::var_os("KILN_FUZZ_VERBOSE").is_some() {
        for (name, run) in [("kiln", &k), ("wasmi 2", &a), ("wasmi 1", &b)] {
            eprintln!(
                "{name}: instantiation {:?}\n  calls {:?}\n  globals {:?}",
                run.instantiation, run.calls, run.globals
            );
        }
    }
    let oracles = compare(&plan.calls, &a, &b);
    let vs_a = compare(&plan.calls, &k, &a);
    let vs_b = compare(&plan.calls, &k, &b);
    if let Some(d) = &oracles {
        report.count("oracle disagreements", 1);
        report.note = Some(finding(format!(
            "wasmi 2 and wasmi 1 disagree: {d}; kiln agrees with wasmi {}",
            if vs_a.is_none() { "2" } else { "1" }
        )));
    }
    if let (Some(da), Some(db), Some(d)) = (&vs_a, &vs_b, &oracles) {
        // Three answers: at most one is right, and which cannot be told
        // here. Kept, and counted apart. (On s390x both wasmi versions get
        // some v128 results wrong, each differently: kiln there computes
        // what every engine computes on x86_64.)
        report.count("three-way disagreements", 1);
        report.note =
            Some(finding(format!("three-way: wasmi 2 vs wasmi 1: {d}; kiln vs wasmi 2: {da}; kiln vs wasmi 1: {db}")));
        return;
    }
    if let (Some(da), Some(db)) = (vs_a, vs_b) {
        let what = if da == db {
            format!("kiln differs from both oracles: {da}")
        } else {
            format!("kiln differs from both oracles: wasmi 2: {da}; wasmi 1: {db}")
        };
        let cpu = if native_cpu { "this CPU's features" } else { "the baseline CPU" };
        report.finding = Some(finding(format!("{what} (compiled for {cpu})")));
    }
}
