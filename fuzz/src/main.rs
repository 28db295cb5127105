//! `kiln-fuzz TARGET`: run a fuzz target over a range of seeds, for a
//! number of cases or seconds, with a progress line; findings are written
//! as files that reproduce them. Exits non-zero if anything was found.

use clap::{Parser, ValueEnum};
use kiln_fuzz::runner::{self, Budget, CaseReport};
use kiln_fuzz::{artifacts, compile, cross, differential, supervise};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(name = "kiln-fuzz", about = "Fuzz kiln: differential execution, the compiler, damaged artifacts")]
struct Args {
    target: Target,
    /// First seed (each case is a function of its seed).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Number of cases (default: 1000, or unlimited with --time).
    #[arg(long)]
    cases: Option<u64>,
    /// Stop after this many seconds.
    #[arg(long)]
    time: Option<f64>,
    /// Worker threads (default: every core).
    #[arg(long)]
    threads: Option<usize>,
    /// Where findings are written.
    #[arg(long, default_value = "fuzz-findings")]
    findings: PathBuf,
    /// differential: run this module file instead of generated ones.
    #[arg(long)]
    wasm: Option<PathBuf>,
    /// A case running longer than this many seconds is a hang.
    #[arg(long, default_value_t = 120.0)]
    case_limit: f64,
    /// differential: write the module of --seed to this file and stop.
    #[arg(long)]
    save_wasm: Option<PathBuf>,
    /// cross: the triple to record cases for.
    #[arg(long, default_value = "aarch64-unknown-linux-gnu")]
    triple: String,
    /// cross: the directory the case files are written to.
    #[arg(long, default_value = "fuzz-cross")]
    out: PathBuf,
    #[arg(long, hide = true)]
    child: bool,
    #[arg(long, hide = true, default_value_t = 1)]
    stride: u64,
}

#[derive(Clone, Copy, ValueEnum)]
enum Target {
    /// kiln against two interpreters (wasmi 2.x and 1.x) on wasm-smith modules.
    Differential,
    /// Differential cases recorded for another architecture (--triple, --out), for kiln-fuzz-replay to run there.
    Cross,
    /// Any input to the compiler, for every target triple: Ok or an error, never a panic or hang.
    Compile,
    /// Damaged artifacts given to the loader, in child processes.
    Artifacts,
    /// Random sequences of Store/Instance/Memory/Table/Global/Func operations against a model.
    HostApi,
    /// Random WASI preview 1 calls against a preopened directory: nothing outside it changes.
    Wasi,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let time = args.time.map(Duration::from_secs_f64);
    let budget = Budget {
        first_seed: args.seed,
        cases: args.cases.or(if time.is_some() { None } else { Some(1000) }),
        time,
        threads: args.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
        findings: args.findings.clone(),
        case_limit: Duration::from_secs_f64(args.case_limit),
    };
    let (name, case): (&str, fn(u64) -> CaseReport) = match args.target {
        Target::Differential => ("differential", differential::case),
        // Its cases also need --triple and --out: run below.
        Target::Cross => ("cross", differential::case),
        Target::Compile => ("compile", compile::case),
        Target::Artifacts => ("artifacts", artifacts::case),
        Target::Wasi => ("wasi", kiln_fuzz::wasi::case),
        Target::HostApi => ("host-api", kiln_fuzz::host_api::case),
    };
    if let Some(path) = &args.save_wasm {
        let (Some(wasm), _) = differential::module(args.seed) else {
            eprintln!("kiln-fuzz: seed {} makes no module", args.seed);
            return ExitCode::FAILURE;
        };
        if let Err(e) = std::fs::write(path, wasm) {
            eprintln!("kiln-fuzz: {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
        return ExitCode::SUCCESS;
    }
    if args.child {
        let until = time.map(|t| Instant::now() + t);
        supervise::child(name, args.seed, args.stride, budget.cases.unwrap_or(u64::MAX), until, case);
        return ExitCode::SUCCESS;
    }
    let summary = if let Some(path) = &args.wasm {
        let wasm = match kiln_build::read_module(path) {
            Ok(w) => w,
            Err(e) => {
                eprintln!("kiln-fuzz: {}: {e}", path.display());
                return ExitCode::FAILURE;
            }
        };
        runner::run(name, &Budget { cases: Some(budget.cases.unwrap_or(1).min(1000)), ..budget.clone() }, |seed| {
            let mut report = CaseReport::default();
            let mut rng = kiln_fuzz::rng::Rng::new("differential file", seed);
            differential::check(&wasm, &mut rng, seed % 2 == 1, &mut report);
            report
        })
    } else if matches!(args.target, Target::Cross) {
        if let Err(e) = cross::levels(&args.triple)
            .and_then(|_| std::fs::create_dir_all(&args.out).map_err(|e| format!("{}: {e}", args.out.display())))
        {
            eprintln!("kiln-fuzz: {e}");
            return ExitCode::FAILURE;
        }
        runner::run(name, &budget, |seed| cross::case(seed, &args.triple, &args.out))
    } else if matches!(args.target, Target::Artifacts | Target::Wasi | Target::HostApi) {
        // The targets where a crash is the bug to find run in child
        // processes.
        let target = args.target;
        match supervise::parent(name, &budget, |seed| match target {
            Target::Artifacts => {
                let (bytes, _, what) = artifacts::mutate(seed);
                runner::Finding { what, files: vec![("kiln", bytes)] }
            }
            _ => runner::Finding { what: format!("{name} case {seed}"), files: Vec::new() },
        }) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("kiln-fuzz: cannot start child processes: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        runner::run(name, &budget, case)
    };
    println!("{}", summary.line(name));
    if summary.findings > 0 {
        println!("findings written to {}", args.findings.display());
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
