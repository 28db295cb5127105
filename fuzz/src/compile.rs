//! The compiler-robustness target: any bytes, and any module wasm-smith
//! can write (features kiln refuses included), given to
//! `kiln_build::compile` for every target kiln emits. It must return `Ok`
//! or an `Err` with a message: a panic is a finding, and so is a case
//! that runs past the time limit (the watchdog in `main.rs` names it).

use crate::generate;
use crate::rng::Rng;
use crate::runner::{CaseReport, Finding};

/// Every triple kiln emits, each at several CPU levels; compiling for a
/// foreign target needs no machine of that kind.
pub const TARGETS: &[(&str, &[&str])] = &[
    ("x86_64-unknown-linux-gnu", &[]),
    ("x86_64-unknown-linux-gnu", &["sse3", "ssse3", "sse4.1", "sse4.2", "popcnt"]),
    (
        "x86_64-unknown-linux-gnu",
        &["sse3", "ssse3", "sse4.1", "sse4.2", "popcnt", "avx", "avx2", "fma", "bmi1", "bmi2", "lzcnt"],
    ),
    (
        "x86_64-unknown-linux-gnu",
        &[
            "sse3",
            "ssse3",
            "sse4.1",
            "sse4.2",
            "popcnt",
            "avx",
            "avx2",
            "fma",
            "bmi1",
            "bmi2",
            "lzcnt",
            "avx512f",
            "avx512vl",
            "avx512dq",
            "avx512bitalg",
            "avx512vbmi",
        ],
    ),
    ("x86_64-pc-windows-gnu", &[]),
    ("aarch64-unknown-linux-gnu", &[]),
    ("aarch64-unknown-linux-gnu", &["lse", "fp16", "dotprod", "i8mm"]),
    ("aarch64-apple-darwin", &["lse"]),
    ("riscv64gc-unknown-linux-gnu", &[]),
    ("riscv64gc-unknown-linux-gnu", &["v", "zba", "zbb", "zbs", "zicond", "zfa"]),
    ("s390x-unknown-linux-gnu", &[]),
    ("s390x-unknown-linux-gnu", &["miscellaneous-extensions-3", "vector-enhancements-2"]),
];

/// The input of case `seed`: a valid module (often with features kiln
/// refuses), the same with a few bytes changed, or noise behind a wasm
/// header.
pub fn input(seed: u64) -> (Vec<u8>, usize) {
    let mut rng = Rng::new("compile", seed);
    let target = rng.below(TARGETS.len() as u64) as usize;
    let kind = rng.below(10);
    let wasm = match kind {
        0 => {
            let mut bytes = b"\0asm\x01\0\0\0".to_vec();
            let n = rng.below(512) as usize;
            bytes.extend(rng.bytes(n));
            bytes
        }
        _ => {
            let config = if kind < 5 { generate::anything_config() } else { generate::differential_config(&mut rng) };
            let mut wasm = generate::smith(config, &mut rng, false).unwrap_or_default();
            if kind == 9 && !wasm.is_empty() {
                for _ in 0..=rng.below(4) {
                    let at = rng.below(wasm.len() as u64) as usize;
                    wasm[at] = rng.next_u64() as u8;
                }
            }
            wasm
        }
    };
    (wasm, target)
}

/// Run compile case `seed`.
pub fn case(seed: u64) -> CaseReport {
    let (wasm, target) = input(seed);
    check(wasm, target)
}

/// Compile `wasm` for `TARGETS[target]`.
pub fn check(wasm: Vec<u8>, target: usize) -> CaseReport {
    let mut report = CaseReport::default();
    let (triple, features) = TARGETS[target];
    let result = std::panic::catch_unwind(|| {
        let mut config = kiln_build::Config::for_target(triple).expect("kiln knows its own targets");
        config.target_features(features.iter().copied());
        // Every feature kiln has a switch for, so the translator sees
        // everything it can be asked to compile.
        for f in kiln_build::features::FEATURES.iter().filter(|f| f.supported) {
            config.wasm_feature(f.name, true).expect("a supported feature switches on");
        }
        kiln_build::compile(&wasm, &config).map(|_| ())
    });
    match result {
        Ok(Ok(())) => report.count("compiled", 1),
        Ok(Err(e)) if e.to_string().trim().is_empty() => {
            report.finding = Some(Finding {
                what: format!("compiling for {triple} {features:?}: an error without a message"),
                files: vec![("wasm", wasm)],
            });
        }
        Ok(Err(_)) => report.count("refused", 1),
        Err(panic) => {
            let msg = crate::runner::panic_message(&*panic);
            report.finding = Some(Finding {
                what: format!("compiling for {triple} {features:?} panicked: {msg}"),
                files: vec![("wasm", wasm)],
            });
        }
    }
    report
}
