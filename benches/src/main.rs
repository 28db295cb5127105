//! kiln against Wasmtime on the same modules, in one run, alternating:
//! load, instantiate, calls, execution, build, size. Writes BENCHMARKS.md
//! and benches/ratios.svg at the repository root.
//!
//! `cargo run --release --manifest-path benches/Cargo.toml`
//! (`-- --quick` for fewer rounds, to try changes to this file.)

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

#[allow(dead_code)]
mod gen {
    include!("gen.rs");
}
#[allow(dead_code)]
#[path = "../kernels/src/algo.rs"]
mod algo;
#[allow(dead_code)]
#[path = "../kernels/simd/src/blend.rs"]
mod blend;
mod programs;
mod report;

include!(concat!(env!("OUT_DIR"), "/modules.rs"));

const WASMTIME_VERSION: &str = "48.0.8";

fn module(name: &str) -> &'static kiln::Artifact {
    &MODULES.iter().find(|(n, _)| *n == name).unwrap().1
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// How long one sample should take, and how many alternating rounds.
struct Budget {
    sample: Duration,
    rounds: usize,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Iterations of `f` that take about `target`.
fn calibrate(f: &mut dyn FnMut(), target: Duration) -> u64 {
    let mut iters = 1u64;
    loop {
        let t = Instant::now();
        for _ in 0..iters {
            f();
        }
        let e = t.elapsed();
        if e >= target / 2 || iters >= 1 << 30 {
            let per = e.as_secs_f64() / iters as f64;
            return ((target.as_secs_f64() / per.max(1e-12)) as u64).max(1);
        }
        iters *= if e < target / 64 { 16 } else { 2 };
    }
}

/// Nanoseconds per iteration of `n` iterations of `f`.
fn sample(f: &mut dyn FnMut(), n: u64) -> f64 {
    let t = Instant::now();
    for _ in 0..n {
        f();
    }
    t.elapsed().as_nanos() as f64 / n as f64
}

/// Median time per iteration (ns) of `a` and of `b`, sampled alternately:
/// a, b, a, b, ... so that both see the same machine load.
fn pair(budget: &Budget, units: f64, a: &mut dyn FnMut(), b: &mut dyn FnMut()) -> (f64, f64) {
    let na = calibrate(a, budget.sample);
    let nb = calibrate(b, budget.sample);
    let (mut sa, mut sb) = (Vec::new(), Vec::new());
    for _ in 0..budget.rounds {
        sa.push(sample(a, na) / units);
        sb.push(sample(b, nb) / units);
    }
    (median(sa), median(sb))
}

/// The result of one row: kiln and Wasmtime figures, lower is better.
pub struct Row {
    pub group: &'static str,
    pub name: String,
    pub kiln: Option<f64>,
    pub wasmtime: f64,
    pub unit: &'static str,
    pub note: String,
    /// The kiln/Wasmtime ratio aimed for, if any.
    pub target: Option<f64>,
    /// Whether an execution row counts in the geometric mean.
    pub in_geomean: bool,
    /// An execution row's kiln figure with the kernels built for the
    /// x86-64 baseline instead of this CPU.
    pub baseline: Option<f64>,
    /// A real program's native figure.
    pub native: Option<f64>,
}

impl Row {
    fn new(group: &'static str, name: impl Into<String>, kiln: f64, wasmtime: f64, unit: &'static str) -> Row {
        Row {
            group,
            name: name.into(),
            kiln: Some(kiln),
            wasmtime,
            unit,
            note: String::new(),
            target: None,
            in_geomean: true,
            baseline: None,
            native: None,
        }
    }
    fn target(mut self, t: f64) -> Row {
        self.target = Some(t);
        self
    }
    fn note(mut self, note: impl Into<String>) -> Row {
        self.note = note.into();
        self
    }
    pub fn ratio(&self) -> Option<f64> {
        self.kiln.map(|k| k / self.wasmtime)
    }
}

fn wasmtime_engine(pooling: bool) -> wasmtime::Engine {
    let mut config = wasmtime::Config::new();
    // Profiling both engines with perf: KILN_PROFILE=perfmap names kiln's
    // copied code, and here Wasmtime's, in /tmp/perf-<pid>.map.
    if std::env::var("KILN_PROFILE").as_deref() == Ok("perfmap") {
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    if pooling {
        let mut pool = wasmtime::PoolingAllocationConfig::default();
        pool.total_core_instances(100).total_memories(100).total_tables(100);
        config.allocation_strategy(wasmtime::InstanceAllocationStrategy::Pooling(pool));
    }
    wasmtime::Engine::new(&config).expect("wasmtime engine")
}

fn wasm_of(name: &str) -> Vec<u8> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    match name {
        "large" => gen::large_module(),
        "kernels" | "kernels-simd" => std::fs::read(root.join(format!("wasm/{name}.wasm"))).unwrap(),
        other => wat::parse_file(root.join(format!("wasm/{other}.wat"))).unwrap(),
    }
}

fn log(s: &str) {
    eprintln!("[{:>7.1}s] {s}", START.with(|t| t.elapsed().as_secs_f64()));
}

thread_local! {
    static START: Instant = Instant::now();
}

// ---------------------------------------------------------------- load

fn load(budget: &Budget, engine: &wasmtime::Engine, rows: &mut Vec<Row>) {
    for name in ["kernels", "large"] {
        let artifact = module(name);
        let wasm = wasm_of(name);
        let label = if name == "large" {
            format!("large ({:.1} MB wasm, {} functions)", wasm.len() as f64 / 1e6, gen::LARGE_FUNCS)
        } else {
            format!("small (kernels, {:.1} KB wasm)", wasm.len() as f64 / 1e3)
        };
        let cwasm = engine.precompile_module(&wasm).expect("wasmtime precompile");
        let copied_bytes = artifact.bytes().to_vec();
        log(&format!("load {name}: artifact {} bytes, cwasm {} bytes", copied_bytes.len(), cwasm.len()));
        // SAFETY: the bytes come from this engine's precompile_module just above.
        let deser = || unsafe { wasmtime::Module::deserialize(engine, &cwasm) }.unwrap();
        let (k, w) = pair(budget, 1.0, &mut || drop(kiln::Module::new(artifact).unwrap()), &mut || drop(deser()));
        rows.push(
            Row::new("load", format!("{label}: Module::new in place vs deserialize"), k / 1e3, w / 1e3, "µs")
                .target(0.05)
                .note(format!("artifact {} KB, .cwasm {} KB", copied_bytes.len() / 1024, cwasm.len() / 1024)),
        );
        let (k, w) = pair(
            budget,
            1.0,
            // SAFETY: kiln_build wrote these bytes in this run.
            &mut || drop(unsafe { kiln::Module::from_bytes(&copied_bytes) }.unwrap()),
            &mut || drop(deser()),
        );
        rows.push(
            Row::new("load", format!("{label}: Module::from_bytes copied vs deserialize"), k / 1e3, w / 1e3, "µs")
                .target(0.5),
        );
    }
}

// ---------------------------------------------------------------- instantiate

fn instantiate(budget: &Budget, engine: &wasmtime::Engine, rows: &mut Vec<Row>) {
    let km = kiln::Module::new(module("instantiate")).unwrap();
    let kl = kiln::Linker::<()>::new();
    {
        let mut s = kiln::Store::new(());
        let i = kl.instantiate(&mut s, &km).unwrap();
        let check = i.get_typed_func::<(), i32>(&mut s, "check").unwrap();
        assert_eq!(check.call(&mut s, ()).unwrap(), 27, "kiln: instantiate.wat check");
    }
    let wasm = wasm_of("instantiate");
    for (pooling, name) in [(false, "default allocator"), (true, "pooling allocator")] {
        let pooled;
        let e = if pooling {
            pooled = wasmtime_engine(true);
            &pooled
        } else {
            engine
        };
        let wm = wasmtime::Module::new(e, &wasm).unwrap();
        let wl = wasmtime::Linker::<()>::new(e);
        let pre = wl.instantiate_pre(&wm).unwrap();
        {
            let mut s = wasmtime::Store::new(e, ());
            let i = pre.instantiate(&mut s).unwrap();
            let check = i.get_typed_func::<(), i32>(&mut s, "check").unwrap();
            assert_eq!(check.call(&mut s, ()).unwrap(), 27);
        }
        let (k, w) = pair(
            budget,
            1.0,
            &mut || {
                let mut s = kiln::Store::new(());
                kl.instantiate(&mut s, &km).unwrap();
            },
            &mut || {
                let mut s = wasmtime::Store::new(e, ());
                pre.instantiate(&mut s).unwrap();
            },
        );
        rows.push(
            Row::new(
                "instantiate",
                format!("Store::new + instantiate + drop, Wasmtime {name}"),
                k / 1e3,
                w / 1e3,
                "µs",
            )
            .target(if pooling { 1.0 } else { 0.5 })
            .note("Wasmtime through InstancePre, kiln through Linker::instantiate"),
        );
    }
}

// ---------------------------------------------------------------- calls

fn calls(budget: &Budget, engine: &wasmtime::Engine, rows: &mut Vec<Row>) {
    let km = kiln::Module::new(module("calls")).unwrap();
    let mut kl = kiln::Linker::<()>::new();
    kl.func_wrap("host", "inc", |x: i32| x.wrapping_add(1)).unwrap();
    let mut ks = kiln::Store::new(());
    let ki = kl.instantiate(&mut ks, &km).unwrap();

    let wm = wasmtime::Module::new(engine, wasm_of("calls")).unwrap();
    let mut wl = wasmtime::Linker::<()>::new(engine);
    wl.func_wrap("host", "inc", |x: i32| x.wrapping_add(1)).unwrap();
    let mut ws = wasmtime::Store::new(engine, ());
    let wi = wl.instantiate(&mut ws, &wm).unwrap();

    let kadd = ki.get_typed_func::<(i32, i32), i32>(&mut ks, "add").unwrap();
    let wadd = wi.get_typed_func::<(i32, i32), i32>(&mut ws, "add").unwrap();
    assert_eq!(kadd.call(&mut ks, (2, 3)).unwrap(), 5);
    assert_eq!(wadd.call(&mut ws, (2, 3)).unwrap(), 5);
    let mut x = 0i32;
    let mut y = 0i32;
    let (k, w) = pair(budget, 1.0, &mut || x = kadd.call(&mut ks, (std::hint::black_box(x), 1)).unwrap(), &mut || {
        y = wadd.call(&mut ws, (std::hint::black_box(y), 1)).unwrap()
    });
    rows.push(Row::new("calls", "host → wasm typed call, two i32 in, one out", k, w, "ns").target(0.5));

    const N: i32 = 10_000;
    let kh = ki.get_typed_func::<i32, i32>(&mut ks, "call_host").unwrap();
    let wh = wi.get_typed_func::<i32, i32>(&mut ws, "call_host").unwrap();
    assert_eq!(kh.call(&mut ks, N).unwrap(), N);
    assert_eq!(wh.call(&mut ws, N).unwrap(), N);
    let (k, w) = pair(budget, N as f64, &mut || assert_eq!(kh.call(&mut ks, N).unwrap(), N), &mut || {
        assert_eq!(wh.call(&mut ws, N).unwrap(), N)
    });
    rows.push(Row::new("calls", "wasm → host → wasm, per import call", k, w, "ns").target(1.0));

    const M: i32 = 100_000;
    let expect = (0..M).fold(0i32, |acc, i| match i & 3 {
        1 => acc.wrapping_sub(i),
        3 => acc ^ i,
        _ => acc.wrapping_add(i),
    });
    let ki_ = ki.get_typed_func::<i32, i32>(&mut ks, "call_indirect").unwrap();
    let wi_ = wi.get_typed_func::<i32, i32>(&mut ws, "call_indirect").unwrap();
    let (k, w) = pair(budget, M as f64, &mut || assert_eq!(ki_.call(&mut ks, M).unwrap(), expect), &mut || {
        assert_eq!(wi_.call(&mut ws, M).unwrap(), expect)
    });
    rows.push(Row::new("calls", "call_indirect in a wasm loop, per call", k, w, "ns"));
}

// ---------------------------------------------------------------- execution

#[derive(Clone, Copy, PartialEq, Debug)]
enum Out {
    I(u32),
    F(u64),
}

struct Kernel {
    name: &'static str,
    desc: &'static str,
    args: &'static [u32],
    float: bool,
    /// In `kernels-simd.wasm` (built with simd128) rather than `kernels.wasm`.
    simd: bool,
    native: fn(&[u32]) -> Out,
}

fn kernels() -> Vec<Kernel> {
    vec![
        Kernel {
            name: "fib",
            desc: "recursive fib(32)",
            args: &[32],
            float: false,
            simd: false,
            native: |a| Out::I(algo::fib(a[0])),
        },
        Kernel {
            name: "sieve",
            desc: "sieve, primes below 4M",
            args: &[4_000_000],
            float: false,
            simd: false,
            native: |a| Out::I(algo::sieve(&mut vec![0; a[0] as usize])),
        },
        Kernel {
            name: "matmul",
            desc: "f64 matrix multiply 300×300",
            args: &[300],
            float: true,
            simd: false,
            native: |a| {
                let n = a[0] as usize;
                let (mut x, mut y, mut z) = (vec![0.0; n * n], vec![0.0; n * n], vec![0.0; n * n]);
                Out::F(algo::matmul(n, &mut x, &mut y, &mut z).to_bits())
            },
        },
        Kernel {
            name: "sha256",
            desc: "sha256, 1 MiB × 4",
            args: &[1 << 20, 7, 4],
            float: false,
            simd: false,
            native: |a| Out::I(algo::sha256_rounds(&mut vec![0; a[0] as usize], a[1], a[2])),
        },
        Kernel {
            name: "quicksort",
            desc: "quicksort 500k u32",
            args: &[500_000, 42],
            float: false,
            simd: false,
            native: |a| Out::I(algo::sort(&mut vec![0; a[0] as usize], a[1])),
        },
        Kernel {
            name: "mandelbrot",
            desc: "mandelbrot f32 400×400",
            args: &[400],
            float: false,
            simd: false,
            native: |a| Out::I(algo::mandelbrot(a[0])),
        },
        Kernel {
            name: "compress",
            desc: "LZ77 compress + decompress 2 MiB",
            args: &[2 << 20, 9],
            float: false,
            simd: false,
            native: |a| {
                let n = a[0] as usize;
                let mut input = vec![0; n];
                algo::fill_text(&mut input, a[1]);
                let (mut out, mut back, mut table) = (vec![0; n + n / 255 + 16], vec![0; n], vec![0; 4096]);
                Out::I(algo::compress_roundtrip(&input, &mut out, &mut back, &mut table))
            },
        },
        Kernel {
            name: "memops",
            desc: "memset/memcpy (bulk memory) 16 MiB × 16",
            args: &[16 << 20, 16],
            float: false,
            simd: false,
            native: |a| Out::I(algo::memops(&mut vec![0; a[0] as usize], a[1])),
        },
        Kernel {
            name: "simd_blend",
            desc: "RGBA alpha blend in simd128, 1 Mpixel × 16",
            args: &[1 << 20, 16, 5],
            float: false,
            simd: true,
            native: |a| {
                let (mut x, mut y) = (vec![0; 4 * a[0] as usize], vec![0; 4 * a[0] as usize]);
                Out::I(blend::blend_rounds(&mut x, &mut y, a[2], a[1]))
            },
        },
    ]
}

/// CPU features as rustc names them, those of this machine that Cranelift
/// uses: what Wasmtime's default `Config` detects and compiles for.
fn host_features() -> Vec<&'static str> {
    #[cfg(target_arch = "x86_64")]
    {
        macro_rules! detected {
            ($($f:tt),*) => { [$(($f, std::is_x86_feature_detected!($f))),*] };
        }
        let all =
            detected!("sse3", "ssse3", "sse4.1", "sse4.2", "popcnt", "avx", "avx2", "fma", "bmi1", "bmi2", "lzcnt");
        all.into_iter().filter(|(_, on)| *on).map(|(f, _)| f).collect()
    }
    #[cfg(not(target_arch = "x86_64"))]
    Vec::new()
}

/// kiln's instance of the kernels compiled here at run time rather than
/// embedded by build.rs, for this machine's CPU features — what Wasmtime
/// compiles for, and what an application built with `-C target-cpu` gets —
/// so that both engines use the same instructions; and a module kiln
/// refuses costs its row, not the build. Copied code runs as fast as in
/// place.
fn kiln_native_instance(name: &str) -> Result<(kiln::Store<()>, kiln::Instance), String> {
    let mut config = kiln_build::Config::host();
    config.target_features(host_features());
    let artifact = kiln_build::compile(&wasm_of(name), &config).map_err(|e| e.to_string())?;
    // SAFETY: kiln_build wrote these bytes in this run.
    let module = unsafe { kiln::Module::from_bytes(&artifact) }.map_err(|e| e.to_string())?;
    let mut store = kiln::Store::new(());
    let instance = kiln::Linker::<()>::new().instantiate(&mut store, &module).map_err(|e| e.to_string())?;
    Ok((store, instance))
}

/// Call a kernel with its arguments, by arity: the same body for both
/// engines, whose typed-function APIs have the same shape.
macro_rules! call_kernel {
    ($store:expr, $inst:expr, $k:expr) => {{
        let (store, inst, k) = ($store, $inst, $k);
        let a = k.args;
        Ok(match (a.len(), k.float) {
            (1, true) => Out::F(inst.get_typed_func::<u32, f64>(&mut *store, k.name)?.call(store, a[0])?.to_bits()),
            (1, false) => Out::I(inst.get_typed_func::<u32, u32>(&mut *store, k.name)?.call(store, a[0])?),
            (2, _) => Out::I(inst.get_typed_func::<(u32, u32), u32>(&mut *store, k.name)?.call(store, (a[0], a[1]))?),
            (3, _) => Out::I(
                inst.get_typed_func::<(u32, u32, u32), u32>(&mut *store, k.name)?.call(store, (a[0], a[1], a[2]))?,
            ),
            _ => unreachable!(),
        })
    }};
}

fn kiln_call(store: &mut kiln::Store<()>, inst: &kiln::Instance, k: &Kernel) -> kiln::Result<Out> {
    call_kernel!(store, inst, k)
}

fn wasmtime_call(store: &mut wasmtime::Store<()>, inst: &wasmtime::Instance, k: &Kernel) -> wasmtime::Result<Out> {
    call_kernel!(store, inst, k)
}

fn wasmtime_instance(engine: &wasmtime::Engine, name: &str) -> (wasmtime::Store<()>, wasmtime::Instance) {
    let module = wasmtime::Module::new(engine, wasm_of(name)).unwrap();
    let mut store = wasmtime::Store::new(engine, ());
    let instance = wasmtime::Linker::<()>::new(engine).instantiate(&mut store, &module).unwrap();
    (store, instance)
}

/// Milliseconds `f` takes.
fn timed_ms(f: impl FnOnce()) -> f64 {
    let t = Instant::now();
    f();
    t.elapsed().as_secs_f64() * 1e3
}

fn execution(quick: bool, engine: &wasmtime::Engine, rows: &mut Vec<Row>) {
    // The embedded kernels: built for the x86-64 baseline (no -C
    // target-cpu), timed alongside for the notes.
    let km = kiln::Module::new(module("kernels")).unwrap();
    let mut kbs = kiln::Store::new(());
    let kbi = kiln::Linker::<()>::new().instantiate(&mut kbs, &km).unwrap();
    let mut kiln_scalar = kiln_native_instance("kernels");
    let mut kiln_simd = kiln_native_instance("kernels-simd");
    let (mut ws, wi) = wasmtime_instance(engine, "kernels");
    let (mut ws_simd, wi_simd) = wasmtime_instance(engine, "kernels-simd");
    let rounds = if quick { 3 } else { 21 };
    for k in kernels() {
        let name = format!("{} ({})", k.name, k.desc);
        let (ws, wi) = if k.simd { (&mut ws_simd, &wi_simd) } else { (&mut ws, &wi) };
        let expect = (k.native)(k.args);
        let wres = wasmtime_call(ws, wi, &k).expect("wasmtime kernel");
        assert_eq!(wres, expect, "Wasmtime got {} wrong", k.name);
        let native = if k.simd { &mut kiln_simd } else { &mut kiln_scalar };
        let kiln = native.as_mut().map(|(s, i)| (s, &*i)).map_err(|e| format!("error: {e}"));
        let checked = kiln.and_then(|(ks, ki)| match kiln_call(ks, ki, &k) {
            Ok(r) if r == expect => Ok((ks, ki)),
            Ok(r) => Err(format!("wrong result {r:?}, expected {expect:?}")),
            Err(e) => Err(format!("error: {e}")),
        });
        let mut row = match checked {
            Ok((ks, ki)) => {
                let baseline = !k.simd && kiln_call(&mut kbs, &kbi, &k).ok() == Some(expect);
                let (mut sk, mut sw, mut sb) = (Vec::new(), Vec::new(), Vec::new());
                for _ in 0..rounds {
                    sk.push(timed_ms(|| assert_eq!(kiln_call(ks, ki, &k).unwrap(), expect)));
                    sw.push(timed_ms(|| assert_eq!(wasmtime_call(ws, wi, &k).unwrap(), expect)));
                    if baseline {
                        sb.push(timed_ms(|| assert_eq!(kiln_call(&mut kbs, &kbi, &k).unwrap(), expect)));
                    }
                }
                let mut row = Row::new("execution", name, median(sk), median(sw), "ms").target(1.10);
                if baseline {
                    row.baseline = Some(median(sb));
                }
                log(&format!(
                    "kernel {}: kiln {:.2} ms, wasmtime {:.2} ms{}",
                    k.name,
                    row.kiln.unwrap(),
                    row.wasmtime,
                    row.baseline.map_or(String::new(), |b| format!(", kiln for the x86-64 baseline {b:.2} ms"))
                ));
                row
            }
            Err(what) => {
                log(&format!("kernel {}: kiln FAILED: {what}", k.name));
                // Wasmtime is timed all the same, so that its figure is there.
                let sw = (0..rounds).map(|_| timed_ms(|| assert_eq!(wasmtime_call(ws, wi, &k).unwrap(), expect)));
                let mut row =
                    Row::new("execution", name, 0.0, median(sw.collect()), "ms").note(format!("kiln FAILED: {what}"));
                row.kiln = None;
                row
            }
        };
        if k.simd {
            // The mean stays over the scalar kernels, as in earlier runs, so
            // that it can be compared with them.
            row.in_geomean = false;
            let features = host_features().join(", ");
            let said = if row.note.is_empty() { String::new() } else { format!("{}; ", row.note) };
            row.note = format!("{said}not in the geometric mean; SIMD; kiln compiled for this CPU ({features})");
        }
        if let Some(b) = row.baseline {
            let said = if row.note.is_empty() { String::new() } else { format!("{}; ", row.note) };
            row.note = format!("{said}kiln for the x86-64 baseline: {b:.2} ms ({:.3})", b / row.wasmtime);
        }
        rows.push(row);
    }
}

// ---------------------------------------------------------------- build

fn build(quick: bool, engine: &wasmtime::Engine, rows: &mut Vec<Row>) {
    let config = kiln_build::Config::host();
    for name in ["kernels", "large"] {
        let wasm = wasm_of(name);
        let runs = if name == "kernels" {
            9
        } else if quick {
            1
        } else {
            3
        };
        let (mut sk, mut sw) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            let t = Instant::now();
            let a = kiln_build::compile(&wasm, &config).unwrap();
            sk.push(t.elapsed().as_secs_f64());
            drop(a);
            let t = Instant::now();
            let c = engine.precompile_module(&wasm).unwrap();
            sw.push(t.elapsed().as_secs_f64());
            drop(c);
            log(&format!("build {name}: kiln {:.3} s, wasmtime {:.3} s", sk.last().unwrap(), sw.last().unwrap()));
        }
        rows.push(
            Row::new(
                "build",
                format!(
                    "compile {name} ({:.2} MB wasm): kiln_build::compile vs Engine::precompile_module",
                    wasm.len() as f64 / 1e6
                ),
                median(sk),
                median(sw),
                "s",
            )
            .target(1.0)
            .note(format!("{} cores, {runs} runs each", std::thread::available_parallelism().map_or(1, |n| n.get()))),
        );
    }
}

// ---------------------------------------------------------------- hosts: size, startup, rebuild

fn cargo(profile_args: &[&str], cwasm: &Path) -> Command {
    let mut c = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    c.args(["build", "--manifest-path"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
        .args(profile_args)
        .env("KILN_BENCH_CWASM", cwasm)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    c
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
}

fn hosts(quick: bool, rows: &mut Vec<Row>) {
    // The Wasmtime host embeds the kernels precompiled by an engine with the
    // host's configuration (defaults), written where the build can find it.
    let engine = wasmtime::Engine::default();
    let cwasm = engine.precompile_module(&wasm_of("kernels")).unwrap();
    let cwasm_path = target_dir().join("kernels.cwasm");
    std::fs::create_dir_all(target_dir()).unwrap();
    if std::fs::read(&cwasm_path).ok().as_deref() != Some(&cwasm[..]) {
        std::fs::write(&cwasm_path, &cwasm).unwrap();
    }
    log("building the minimal hosts (profile `size`; Wasmtime's runtime takes a while the first time)");
    let args = ["--profile", "size", "-p", "host-kiln", "-p", "host-wasmtime", "-p", "host-none"];
    let ok = cargo(&args, &cwasm_path).status().map(|s| s.success()).unwrap_or(false);
    if !ok {
        log("building the hosts failed: no size, startup or rebuild figures");
        return;
    }
    let bin = |name: &str| target_dir().join("size").join(name);
    let (kb, wb) = (bin("host-kiln"), bin("host-wasmtime"));
    let size = |p: &Path| std::fs::metadata(p).unwrap().len() as f64 / 1024.0;
    rows.push(
        Row::new("size", "stripped release host running one embedded plugin", size(&kb), size(&wb), "KiB")
            .target(0.25)
            .note("opt-level=s, lto, strip, panic=abort; Wasmtime features runtime+std only"),
    );
    let base = size(&bin("host-none"));
    rows.push(
        Row::new(
            "size",
            "the same, above a Rust program doing the work natively",
            size(&kb) - base,
            size(&wb) - base,
            "KiB",
        )
        .note(format!("the baseline (`host-none`, std alone) is {base:.0} KiB")),
    );

    // Time to first call: whole processes, spawned alternately.
    let run = |p: &Path| {
        let t = Instant::now();
        let out = Command::new(p).output().unwrap();
        let e = t.elapsed().as_secs_f64() * 1e3;
        assert!(out.status.success() && out.stdout.starts_with(b"6765"), "{} failed", p.display());
        e
    };
    let n = if quick { 11 } else { 101 };
    let (mut sk, mut sw) = (Vec::new(), Vec::new());
    for _ in 0..n {
        sk.push(run(&kb));
        sw.push(run(&wb));
    }
    rows.push(
        Row::new("load", "process start → first call returned → exit (whole process)", median(sk), median(sw), "ms")
            .note(format!("median of {n} spawns each; the size hosts, calling fib(20)")),
    );

    // Rebuild of an unchanged crate: touch the source, build again.
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let rebuild = |pkg: &str| {
        let src = manifest_dir.join(pkg).join("src/main.rs");
        let f = std::fs::File::options().append(true).open(&src).unwrap();
        f.set_modified(std::time::SystemTime::now()).unwrap();
        let t = Instant::now();
        assert!(cargo(&["--profile", "size", "-p", pkg], &cwasm_path).status().unwrap().success());
        t.elapsed().as_secs_f64()
    };
    let runs = if quick { 1 } else { 3 };
    let (mut sk, mut sw) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        sk.push(rebuild("host-kiln"));
        sw.push(rebuild("host-wasmtime"));
    }
    rows.push(
        Row::new(
            "build",
            "rebuild of an unchanged host crate (include_wasm! cache hit vs include_bytes! of a .cwasm)",
            median(sk),
            median(sw),
            "s",
        )
        .note("profile `size` (LTO), so linking dominates both"),
    );
}

fn main() {
    START.with(|_| ());
    let quick = std::env::args().any(|a| a == "--quick");
    let budget =
        Budget { sample: Duration::from_millis(if quick { 5 } else { 20 }), rounds: if quick { 5 } else { 41 } };
    let engine = wasmtime_engine(false);
    let mut rows = Vec::new();
    let only: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let on = |g: &str| only.is_empty() || only.iter().any(|o| o == g);
    if on("load") {
        log("load");
        load(&budget, &engine, &mut rows);
    }
    if on("instantiate") {
        log("instantiate");
        instantiate(&budget, &engine, &mut rows);
    }
    if on("calls") {
        log("calls");
        calls(&budget, &engine, &mut rows);
    }
    if on("execution") {
        log("execution");
        execution(quick, &engine, &mut rows);
    }
    if on("programs") {
        log("programs");
        programs::measure(quick, &engine, &mut rows);
    }
    if on("hosts") {
        log("hosts: size, startup, rebuild");
        hosts(quick, &mut rows);
    }
    if on("build") {
        log("build");
        build(quick, &engine, &mut rows);
    }
    for r in &rows {
        eprintln!(
            "{:<12} {:<90} kiln {:>12} wasmtime {:>12.3} {} ratio {}",
            r.group,
            r.name,
            r.kiln.map_or("FAIL".into(), |k| format!("{k:.3}")),
            r.wasmtime,
            r.unit,
            r.ratio().map_or("-".into(), |x| format!("{x:.3}"))
        );
    }
    if only.is_empty() {
        report::write(&repo_root(), &rows, quick);
        log("wrote BENCHMARKS.md and benches/ratios.svg");
    } else if only == ["programs"] {
        report::splice_programs(&repo_root(), &rows);
        log("rewrote the real programs' section of BENCHMARKS.md");
    }
}
