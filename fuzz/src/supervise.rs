//! Running a target in child processes, so that a case that kills its
//! process is counted and kept rather than taking the run with it.
//!
//! Each child runs every `stride`-th seed from its first one, one at a
//! time, and tells its parent on stdout which seed it starts (`> seed`),
//! which found something (`! seed`), and its counters (`= name=value`,
//! added up by the parent). When a child dies, the parent records the seed it
//! was running, and starts a new child at the next one.

use crate::runner::{record, CaseReport, Finding, Summary};
use std::io::{BufRead, BufReader, IsTerminal, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The child's side: run the cases and report on stdout.
pub fn child(
    target: &str,
    first: u64,
    stride: u64,
    cases: u64,
    until: Option<Instant>,
    case: impl Fn(u64) -> CaseReport,
) {
    let findings = std::env::var_os("KILN_FUZZ_FINDINGS").unwrap_or_else(|| "fuzz-findings".into());
    let mut counts = std::collections::BTreeMap::<&str, u64>::new();
    // The supervisor's own test: a seed at which the child kills itself.
    let abort_at: Option<u64> = std::env::var("KILN_FUZZ_ABORT_AT").ok().and_then(|s| s.parse().ok());
    let mut out = std::io::stdout().lock();
    for i in 0..cases {
        if until.is_some_and(|t| Instant::now() >= t) {
            break;
        }
        let seed = first + i * stride;
        let _ = writeln!(out, "> {seed}");
        let _ = out.flush();
        if abort_at == Some(seed) {
            std::process::abort();
        }
        let report = case(seed);
        for (k, v) in report.counts {
            *counts.entry(k).or_default() += v;
        }
        if let Some(f) = report.finding {
            record(target, findings.as_ref(), seed, &f);
            let _ = writeln!(out, "! {seed}");
        }
        // Counters go out as they accumulate, so a crash loses few.
        if i % 1000 == 999 {
            for (k, v) in std::mem::take(&mut counts) {
                let _ = writeln!(out, "= {k}={v}");
            }
        }
    }
    for (k, v) in counts {
        let _ = writeln!(out, "= {k}={v}");
    }
}

/// The parent's side: `threads` children over interleaved seeds, restarted
/// after each crash, until the cases or the time run out. `reproduce`
/// rebuilds the input of a seed, to keep with a crash.
pub fn parent(
    target: &str,
    budget: &crate::runner::Budget,
    reproduce: impl Fn(u64) -> Finding + Sync,
) -> std::io::Result<Summary> {
    let started = Instant::now();
    let threads = budget.threads.max(1) as u64;
    let total = std::sync::Mutex::new(Summary::default());
    let exe = std::env::current_exe()?;
    let seen = AtomicU64::new(0);
    let lanes_running = AtomicU64::new(threads);
    std::thread::scope(|s| {
        for lane in 0..threads {
            let (exe, total, reproduce, seen, lanes_running) = (&exe, &total, &reproduce, &seen, &lanes_running);
            s.spawn(move || {
                let _running = LaneGuard(lanes_running);
                // This lane's cases: first + lane + k * threads.
                let lane_cases = budget.cases.map(|n| n / threads + u64::from(lane < n % threads));
                let mut next = 0u64; // k of the next case to run
                loop {
                    let remaining = lane_cases.map_or(u64::MAX, |n| n.saturating_sub(next));
                    let left = budget.time.map(|t| t.saturating_sub(started.elapsed()));
                    if remaining == 0 || left.is_some_and(|l| l.is_zero()) {
                        break;
                    }
                    let first = budget.first_seed + lane + next * threads;
                    let mut cmd = Command::new(exe);
                    cmd.args([target, "--child", "--seed", &first.to_string(), "--stride", &threads.to_string()]);
                    cmd.args(["--cases", &remaining.to_string()]);
                    if let Some(l) = left {
                        cmd.args(["--time", &l.as_secs_f64().to_string()]);
                    }
                    cmd.env("KILN_FUZZ_FINDINGS", &budget.findings).stdout(Stdio::piped()).stderr(Stdio::inherit());
                    let Ok(mut child) = cmd.spawn() else { break };
                    let mut current = None;
                    let mut done = 0u64;
                    let mut child_findings = 0u64;
                    let mut counts = Vec::new();
                    if let Some(stdout) = child.stdout.take() {
                        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                            if let Some(seed) = line.strip_prefix("> ") {
                                done += u64::from(current.is_some());
                                current = seed.parse::<u64>().ok();
                                seen.fetch_add(1, Ordering::Relaxed);
                            } else if line.starts_with("! ") {
                                child_findings += 1;
                            } else if let Some(kv) = line.strip_prefix("= ") {
                                if let Some((k, v)) = kv.split_once('=') {
                                    counts.push((k.to_string(), v.parse::<u64>().unwrap_or(0)));
                                }
                            }
                        }
                    }
                    let status = child.wait();
                    let crashed = !status.as_ref().is_ok_and(|s| s.success());
                    let mut sum = total.lock().unwrap_or_else(|p| p.into_inner());
                    sum.findings += child_findings;
                    for (k, v) in counts {
                        *sum.counts.entry(leak(k)).or_default() += v;
                    }
                    match (crashed, current) {
                        (true, Some(seed)) => {
                            sum.cases += done + 1;
                            sum.findings += 1;
                            *sum.counts.entry("abnormal exits").or_default() += 1;
                            drop(sum);
                            let mut f = reproduce(seed);
                            f.what = format!("the process died ({:?}) on: {}", status.ok(), f.what);
                            record(target, &budget.findings, seed, &f);
                            next = (seed - budget.first_seed - lane) / threads + 1;
                        }
                        (true, None) => {
                            // Died before its first case: nothing to blame.
                            *sum.counts.entry("abnormal exits").or_default() += 1;
                            sum.findings += 1;
                            break;
                        }
                        (false, _) => {
                            sum.cases += done + u64::from(current.is_some());
                            break;
                        }
                    }
                }
            });
        }
        let tick = if std::io::stderr().is_terminal() { Duration::from_secs(1) } else { Duration::from_secs(30) };
        let mut last = Instant::now();
        while lanes_running.load(Ordering::Relaxed) > 0 {
            std::thread::sleep(Duration::from_millis(200));
            if last.elapsed() >= tick {
                last = Instant::now();
                let n = seen.load(Ordering::Relaxed);
                let secs = started.elapsed().as_secs_f64();
                let f = total.lock().unwrap_or_else(|p| p.into_inner()).findings;
                eprintln!("{target}: {n} cases in {secs:.0} s ({:.1}/s), {f} findings so far", n as f64 / secs);
            }
        }
    });
    let mut sum = total.into_inner().unwrap_or_else(|p| p.into_inner());
    sum.elapsed = started.elapsed();
    Ok(sum)
}

/// Counts a lane as running until it ends, however it ends.
struct LaneGuard<'a>(&'a AtomicU64);

impl Drop for LaneGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Counter names come from the children as text; the summary keys are
/// static. There are a handful of names, leaked once each.
fn leak(name: String) -> &'static str {
    static NAMES: std::sync::Mutex<Vec<&'static str>> = std::sync::Mutex::new(Vec::new());
    let mut names = NAMES.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(n) = names.iter().find(|n| **n == name) {
        return n;
    }
    let n: &'static str = Box::leak(name.into_boxed_str());
    names.push(n);
    n
}
