//! `kiln wast FILE...`: run `.wast` scripts (or every `.wast` file of a
//! directory) through compile → artifact → load → run, in parallel.

use crate::wast::{file_line, run_all, spec_line, Counts, Script};
use clap::Args;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `kiln wast`.
#[derive(Debug, Args)]
pub struct WastArgs {
    /// Switch a WebAssembly feature on or off (repeatable; see `kiln --help`).
    #[arg(short = 'W', value_name = "FEATURE=y|n")]
    pub features: Vec<String>,
    /// Scripts, or directories searched for `.wast` files.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
}

/// Run the scripts at `paths` (files, or directories of `.wast` files) and
/// print one line per script, each failure as `file:line:col: …`, and the
/// final `spec: N passed, M failed, K skipped` line. Fails if any test
/// failed or a file could not be read.
pub fn wast(args: &WastArgs) -> ExitCode {
    let mut config = kiln_build::Config::host();
    if let Err(e) = super::apply_feature_switches(&mut config, &args.features) {
        eprintln!("kiln wast: {e}");
        return ExitCode::from(2);
    }
    let mut files = Vec::new();
    for p in &args.paths {
        if let Err(e) = collect(p, &mut files) {
            eprintln!("kiln wast: {}: {e}", p.display());
            return ExitCode::FAILURE;
        }
    }
    let mut scripts = Vec::new();
    for f in files {
        match std::fs::read_to_string(&f) {
            Ok(text) => {
                scripts.push(Script { name: f.display().to_string(), contents: text.into(), config: config.clone() })
            }
            Err(e) => {
                eprintln!("kiln wast: {}: {e}", f.display());
                return ExitCode::FAILURE;
            }
        }
    }
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let reports = run_all(&scripts, threads, |t| {
        let mut out = file_line(t);
        for (_, failure) in t.report.failures() {
            out.push_str("\n  ");
            out.push_str(&failure);
        }
        println!("{out}");
    });
    let mut total = Counts::default();
    for t in &reports {
        total += t.report.counts();
    }
    println!("{}", spec_line(total));
    if total.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn collect(path: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> =
            std::fs::read_dir(path)?.map(|e| e.map(|e| e.path())).collect::<Result<_, _>>()?;
        entries.sort();
        for e in entries {
            if e.is_dir() || e.extension().is_some_and(|x| x == "wast") {
                collect(&e, out)?;
            }
        }
    } else {
        std::fs::metadata(path)?;
        out.push(path.to_path_buf());
    }
    Ok(())
}
