//! Run many scripts on worker threads and summarise them.

use super::runner::{run_script, Counts, ScriptReport};
use std::borrow::Cow;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Native stack of each worker thread. Wasm may use up to the store's
/// limit (512 KiB by default) below the host frames that enter it, and
/// `assert_exhaustion` scripts recurse until that limit traps; the host
/// side (compiler, runner) needs room of its own on top.
pub const WORKER_STACK: usize = 8 << 20;

/// A script to run: its name in messages and its text.
#[derive(Debug, Clone)]
pub struct Script {
    /// `folder/file.wast` or a path.
    pub name: String,
    /// The script's text.
    pub contents: Cow<'static, str>,
    /// How its modules are compiled (target features, relaxed SIMD…).
    pub config: kiln_build::Config,
}

/// A script's report and how long it took.
#[derive(Debug, Clone)]
pub struct Timed {
    /// The results.
    pub report: ScriptReport,
    /// Wall-clock time of the script.
    pub elapsed: Duration,
}

/// Run `scripts` on `threads` workers (each with a [`WORKER_STACK`]
/// stack), largest first so the last script to start is a short one.
/// `on_done` sees each report as it finishes (e.g. to print a line).
/// Returns the reports in the order of `scripts`.
pub fn run_all(scripts: &[Script], threads: usize, on_done: impl Fn(&Timed) + Sync) -> Vec<Timed> {
    let mut order: Vec<usize> = (0..scripts.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(scripts[i].contents.len()));
    let next = AtomicUsize::new(0);
    let done: Mutex<Vec<Option<Timed>>> = Mutex::new(vec![None; scripts.len()]);
    std::thread::scope(|scope| {
        for w in 0..threads.max(1) {
            std::thread::Builder::new()
                .name(format!("wast-{w}"))
                .stack_size(WORKER_STACK)
                .spawn_scoped(scope, || {
                    while let Some(&i) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
                        let start = Instant::now();
                        let report = run_script(&scripts[i].name, &scripts[i].contents, &scripts[i].config);
                        let timed = Timed { report, elapsed: start.elapsed() };
                        on_done(&timed);
                        done.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(timed);
                    }
                })
                .expect("spawn a wast worker thread");
        }
    });
    done.into_inner().unwrap_or_else(|e| e.into_inner()).into_iter().flatten().collect()
}

/// The one-line summary of a script: `ok`/`FAIL`, name, counts, time.
pub fn file_line(t: &Timed) -> String {
    let c = t.report.counts();
    let status = if c.failed == 0 { "ok  " } else { "FAIL" };
    format!("{status} {} ({c}) {:.2}s", t.report.name, t.elapsed.as_secs_f64())
}

/// The final line CI reads: `spec: N passed, M failed, K skipped`.
pub fn spec_line(total: Counts) -> String {
    format!("spec: {total}")
}
