//! The loop every target runs in: seeds handed out to worker threads, a
//! progress line, findings written as files, a summary at the end.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub use kiln_fuzz_replay::panic_message;

/// Which seeds to run, and for how long at most.
#[derive(Debug, Clone)]
pub struct Budget {
    pub first_seed: u64,
    /// Stop after this many cases (None: until `time` runs out).
    pub cases: Option<u64>,
    pub time: Option<Duration>,
    pub threads: usize,
    /// Where findings are written.
    pub findings: PathBuf,
    /// A case running longer than this is a hang: recorded as a finding,
    /// and the run stops.
    pub case_limit: Duration,
}

/// What one case produced.
#[derive(Debug, Default)]
pub struct CaseReport {
    /// Named counters to add up (calls made, stack exhaustions, oracle
    /// disagreements...).
    pub counts: Vec<(&'static str, u64)>,
    /// A kiln bug: its description and the files that reproduce it.
    pub finding: Option<Finding>,
    /// Something to keep that is not a kiln bug (the oracles disagreeing
    /// with each other): written under `oracles/`, not counted as a finding.
    pub note: Option<Finding>,
}

#[derive(Debug)]
pub struct Finding {
    pub what: String,
    /// (file extension, contents)
    pub files: Vec<(&'static str, Vec<u8>)>,
}

impl CaseReport {
    pub fn count(&mut self, name: &'static str, n: u64) {
        self.counts.push((name, n));
    }
}

/// The totals of a run.
#[derive(Debug, Default)]
pub struct Summary {
    pub cases: u64,
    pub findings: u64,
    pub counts: BTreeMap<&'static str, u64>,
    pub elapsed: Duration,
}

impl Summary {
    pub fn line(&self, target: &str) -> String {
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        let mut s = format!(
            "{target}: {} cases in {:.0} s ({:.1}/s), {} findings",
            self.cases,
            secs,
            self.cases as f64 / secs,
            self.findings
        );
        for (k, v) in &self.counts {
            s.push_str(&format!(", {v} {k}"));
        }
        s
    }
}

/// Run `case` over the budget's seeds on its threads.
pub fn run(target: &str, budget: &Budget, case: impl Fn(u64) -> CaseReport + Sync) -> Summary {
    let next = AtomicU64::new(budget.first_seed);
    let end = budget.cases.map(|n| budget.first_seed.saturating_add(n));
    let stop = AtomicBool::new(false);
    let summary = Mutex::new(Summary::default());
    let started = Instant::now();
    let tty = std::io::stderr().is_terminal();
    // What each worker is running, for the hang check.
    let running: Vec<Mutex<Option<(u64, Instant)>>> = (0..budget.threads.max(1)).map(|_| Mutex::new(None)).collect();
    std::thread::scope(|s| {
        for slot in &running {
            let (next, stop, summary, case) = (&next, &stop, &summary, &case);
            s.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let seed = next.fetch_add(1, Ordering::Relaxed);
                    if end.is_some_and(|e| seed >= e) || budget.time.is_some_and(|t| started.elapsed() >= t) {
                        stop.store(true, Ordering::Relaxed);
                        break;
                    }
                    *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some((seed, Instant::now()));
                    // A panic is a finding like any other (the
                    // differential target catches its oracles' own).
                    let report =
                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| case(seed))).unwrap_or_else(|p| {
                            CaseReport {
                                finding: Some(Finding {
                                    what: format!("panicked: {}", panic_message(&*p)),
                                    files: Vec::new(),
                                }),
                                ..CaseReport::default()
                            }
                        });
                    *slot.lock().unwrap_or_else(|p| p.into_inner()) = None;
                    let mut sum = summary.lock().unwrap_or_else(|p| p.into_inner());
                    sum.cases += 1;
                    for (k, v) in report.counts {
                        *sum.counts.entry(k).or_default() += v;
                    }
                    if let Some(f) = report.finding {
                        sum.findings += 1;
                        drop(sum);
                        record(target, &budget.findings, seed, &f);
                    } else if let Some(n) = report.note {
                        drop(sum);
                        keep(target, &budget.findings.join("oracles"), seed, &n);
                    }
                }
            });
        }
        // The progress line.
        let mut last = Instant::now();
        while !stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(200));
            for slot in &running {
                if let Some((seed, since)) = *slot.lock().unwrap_or_else(|p| p.into_inner()) {
                    if since.elapsed() > budget.case_limit {
                        let what = format!("case still running after {:?} (a hang)", budget.case_limit);
                        record(target, &budget.findings, seed, &Finding { what, files: Vec::new() });
                        // The worker cannot be stopped from outside; the
                        // finding is written, so end the process.
                        std::process::exit(2);
                    }
                }
            }
            let every = if tty { Duration::from_secs(1) } else { Duration::from_secs(30) };
            if last.elapsed() >= every {
                last = Instant::now();
                let mut sum = summary.lock().unwrap_or_else(|p| p.into_inner());
                sum.elapsed = started.elapsed();
                let line = sum.line(target);
                drop(sum);
                if tty {
                    eprint!("\r{line}\x1b[K");
                } else {
                    eprintln!("{line}");
                }
            }
        }
    });
    if tty {
        eprintln!();
    }
    let mut sum = summary.into_inner().unwrap_or_else(|p| p.into_inner());
    sum.elapsed = started.elapsed();
    sum
}

/// Write a finding as `<dir>/<target>-<seed>.<ext>` files plus a `.txt`
/// saying what went wrong and how to run the case again.
pub fn record(target: &str, dir: &std::path::Path, seed: u64, f: &Finding) {
    let base = keep(target, dir, seed, f);
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "\nFINDING {target} seed {seed}: {}\n  written to {}.*", f.what, base.display());
}

/// Write the files of `f` quietly; returns their common stem.
fn keep(target: &str, dir: &std::path::Path, seed: u64, f: &Finding) -> PathBuf {
    let base = dir.join(format!("{target}-{seed}"));
    let _ = std::fs::create_dir_all(dir);
    for (ext, bytes) in &f.files {
        let _ = std::fs::write(base.with_extension(ext), bytes);
    }
    let text = format!("{}\nreproduce: kiln-fuzz {target} --seed {seed} --cases 1\n", f.what);
    let _ = std::fs::write(base.with_extension("txt"), &text);
    base
}

/// For cargo-fuzz targets: a finding becomes a panic, which libFuzzer
/// reports and keeps the input of.
pub fn fail_on_finding(report: CaseReport) {
    if let Some(f) = report.finding {
        panic!("{}", f.what);
    }
}

/// For cargo-fuzz targets driving a seeded case: the seed the input encodes.
pub fn seed_from_bytes(data: &[u8]) -> u64 {
    let mut b = [0; 8];
    let n = data.len().min(8);
    b[..n].copy_from_slice(&data[..n]);
    u64::from_le_bytes(b)
}
