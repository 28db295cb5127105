//! `kiln-fuzz-replay DIR`: run the recorded cases in DIR (written by
//! `kiln-fuzz cross`) on this machine and compare what kiln does with what
//! both oracles did where they were recorded. Exits non-zero on a finding:
//! each is written to `--findings` (default `fuzz-findings`) as the module
//! and a `.txt` saying what differed and how to repeat it.

use kiln_fuzz_replay::case::Case;
use kiln_fuzz_replay::outcome::Run;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

#[derive(Default)]
struct Totals {
    cases: u64,
    calls: u64,
    stack_exhaustions: u64,
    instantiation_failures: u64,
    findings: Vec<String>,
}

fn main() -> ExitCode {
    let (dir, findings_dir) = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("kiln-fuzz-replay: {e}\nusage: kiln-fuzz-replay DIR [--findings DIR]");
            return ExitCode::FAILURE;
        }
    };
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "case"))
            .collect(),
        Err(e) => {
            eprintln!("kiln-fuzz-replay: {}: {e}", dir.display());
            return ExitCode::FAILURE;
        }
    };
    files.sort();
    if files.is_empty() {
        eprintln!("kiln-fuzz-replay: no .case files in {}", dir.display());
        return ExitCode::FAILURE;
    }
    let started = Instant::now();
    let next = AtomicUsize::new(0);
    let totals = Mutex::new(Totals::default());
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                while let Some(path) = files.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let result = replay(path, &findings_dir);
                    let mut t = totals.lock().unwrap_or_else(|e| e.into_inner());
                    t.cases += 1;
                    match result {
                        Ok(run) => {
                            t.calls += run.calls.len() as u64;
                            t.stack_exhaustions += u64::from(run.exhausted_stack());
                            t.instantiation_failures += u64::from(run.instantiation.is_some());
                        }
                        Err(finding) => {
                            println!("finding: {finding}");
                            t.findings.push(finding);
                        }
                    }
                }
            });
        }
    });
    let t = totals.into_inner().unwrap_or_else(|e| e.into_inner());
    println!(
        "replay on {}: {} cases in {:.0} s, {} findings, {} calls, {} instantiation failures, {} stack exhaustions",
        std::env::consts::ARCH,
        t.cases,
        started.elapsed().as_secs_f64(),
        t.findings.len(),
        t.calls,
        t.instantiation_failures,
        t.stack_exhaustions
    );
    if t.findings.is_empty() {
        ExitCode::SUCCESS
    } else {
        println!("findings written to {}", findings_dir.display());
        ExitCode::FAILURE
    }
}

fn parse_args() -> Result<(PathBuf, PathBuf), String> {
    let mut args = std::env::args_os().skip(1);
    let (mut dir, mut findings) = (None, PathBuf::from("fuzz-findings"));
    while let Some(arg) = args.next() {
        if arg == "--findings" {
            findings = args.next().ok_or("--findings needs a directory")?.into();
        } else if dir.is_none() {
            dir = Some(PathBuf::from(arg));
        } else {
            return Err(format!("unexpected argument {arg:?}"));
        }
    }
    Ok((dir.ok_or("which directory?")?, findings))
}

/// Replay one case: its kiln run, or a finding (already written down).
fn replay(path: &Path, findings_dir: &Path) -> Result<Run, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let case = Case::decode(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    if std::env::var_os("KILN_FUZZ_VERBOSE").is_some() {
        eprintln!("case {}", case.seed);
    }
    kiln_fuzz_replay::case::judge(&case).map_err(|what| record(&case, findings_dir, &what))
}

/// Write a finding's module and description; the line to print.
fn record(case: &Case, dir: &Path, what: &str) -> String {
    let line = format!("seed {} ({} {:?}): {what}", case.seed, case.triple, case.cpu_features);
    let stem = dir.join(format!("cross-{}-{}", std::env::consts::ARCH, case.seed));
    let text = format!(
        "{line}\n\nrepeat: on the host, `kiln-fuzz cross --triple {} --seed {} --cases 1 --out DIR`, then \
         `kiln-fuzz-replay DIR` on the target; `kiln-fuzz differential --seed {} --cases 1` runs the same \
         module and arguments on the host\n",
        case.triple, case.seed, case.seed
    );
    let written = std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::write(stem.with_extension("wasm"), &case.wasm))
        .and_then(|()| std::fs::write(stem.with_extension("txt"), text));
    match written {
        Ok(()) => line,
        Err(e) => format!("{line} (not written to {}: {e})", dir.display()),
    }
}
