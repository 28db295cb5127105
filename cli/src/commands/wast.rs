//! `kiln wast FILE...`: run `.wast` scripts (or every `.wast` file of a
//! directory) through compile → artifact → load → run, in parallel.

use crate::wast::{file_line, run_all, spec_line, Counts, Script};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Run the scripts at `paths` (files, or directories of `.wast` files) and
/// print one line per script, each failure as `file:line:col: …`, and the
/// final `spec: N passed, M failed, K skipped` line. Fails if any test
/// failed or a file could not be read.
pub fn wast(args: &[String]) -> ExitCode {
    let mut config = kiln_build::Config::host();
    let mut switches = Vec::new();
    let mut paths = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match super::feature_switch(a, &mut it) {
            Some(Ok(s)) => switches.push(s),
            Some(Err(e)) => return usage(&e),
            None if a.starts_with('-') => return usage(&format!("unknown flag `{a}`")),
            None => paths.push(a),
        }
    }
    if let Err(e) = super::apply_feature_switches(&mut config, &switches) {
        return usage(&e);
    }
    if paths.is_empty() {
        return usage("no script given");
    }
    let mut files = Vec::new();
    for p in paths {
        if let Err(e) = collect(Path::new(p), &mut files) {
            eprintln!("kiln wast: {p}: {e}");
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

fn usage(message: &str) -> ExitCode {
    eprintln!("kiln wast: {message}");
    ExitCode::from(2)
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
