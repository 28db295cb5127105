//! Deep recursion ends in a clean "call stack exhausted" trap on every kind
//! of thread — the main thread (whose stack the C library may describe
//! badly: musl reports only the part mapped so far), a thread spawned with
//! a 256 KiB stack, and (on Unix) the main thread of a process started
//! under a small `ulimit -s` — and the thread can call wasm again
//! afterwards.
//!
//! A test binary of its own without libtest's harness (`harness = false`),
//! because libtest runs tests on threads it spawns: here `main` is the
//! process's main thread.

use kiln::{Instance, Module, Store, TrapCode};
use std::process::ExitCode;

const WAT: &str = r#"(module
  (func $forever (export "forever") (param i32) (result i32)
    (i32.add (call $forever (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))
  (func $depth (export "depth") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0))
      (then (i32.const 0))
      (else (i32.add (call $depth (i32.sub (local.get 0) (i32.const 1))) (i32.const 1)))))
)"#;

/// The checks every thread kind must pass; `Err` says which failed. `fits`
/// calls must fit in the thread's stack.
fn recursion_traps_cleanly(module: &Module, what: &str, fits: i32) -> Result<(), String> {
    let mut store = Store::new(());
    let instance = Instance::new(&mut store, module, &[]).map_err(|e| format!("{what}: instantiate: {e}"))?;
    let forever = instance.get_typed_func::<i32, i32>(&mut store, "forever").map_err(|e| e.to_string())?;
    let depth = instance.get_typed_func::<i32, i32>(&mut store, "depth").map_err(|e| e.to_string())?;
    // Recursion must fit: a limit computed from a wrong idea of the stack
    // makes every call trap at once.
    match depth.call(&mut store, fits) {
        Ok(n) if n == fits => {}
        other => return Err(format!("{what}: depth({fits}) = {other:?}, expected {fits}")),
    }
    for round in 0..3 {
        match forever.call(&mut store, 0) {
            Err(e) if e.trap().map(|t| t.code()) == Some(TrapCode::StackOverflow) => {}
            other => return Err(format!("{what}: round {round}: expected a stack-overflow trap, got {other:?}")),
        }
        match depth.call(&mut store, 10) {
            Ok(10) => {}
            other => return Err(format!("{what}: after the trap, depth(10) = {other:?}")),
        }
    }
    Ok(())
}

fn module() -> Module {
    let wasm = wat::parse_str(WAT).expect("test WAT parses");
    let bytes = kiln_build::compile(&wasm, &kiln_tests::config()).expect("compiles");
    kiln_tests::load(&bytes).expect("loads")
}

/// The same binary, started again (through the emulator when there is one)
/// as a child that checks only its main thread, under `ulimit -s KiB`.
#[cfg(unix)]
fn child_under_ulimit(kib: u32) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let runner = std::env::var("KILN_TEST_RUNNER").unwrap_or_default();
    let script = format!("ulimit -s {kib} && exec {runner} \"$0\" --main-thread-only");
    let out =
        std::process::Command::new("sh").arg("-c").arg(&script).arg(&exe).output().map_err(|e| format!("sh: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "main thread under `ulimit -s {kib}`: {}: {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        println!("stack: test");
        return ExitCode::SUCCESS;
    }
    let module = module();
    let mut results = vec![("main thread", recursion_traps_cleanly(&module, "main thread", 1000))];
    if !args.iter().any(|a| a == "--main-thread-only") {
        let small = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn({
                let module = module.clone();
                // 128 KiB of it stay for the host; s390x frames take some
                // 200 bytes each.
                move || recursion_traps_cleanly(&module, "thread with a 256 KiB stack", 300)
            })
            .expect("spawn")
            .join()
            .unwrap_or_else(|_| Err("thread with a 256 KiB stack panicked".into()));
        results.push(("thread with a 256 KiB stack", small));
        // More than the host reserve and the signal stack, less than the
        // default wasm budget: the limit must come from the stack's end.
        // (Windows has no ulimit: a program's main stack is fixed when it
        // is linked, and the thread above covers a small one.)
        #[cfg(unix)]
        results.push(("main thread under ulimit -s 512", child_under_ulimit(512)));
    }
    let mut ok = true;
    for (what, result) in &results {
        match result {
            Ok(()) => println!("ok   {what}"),
            Err(e) => {
                ok = false;
                println!("FAIL {e}");
            }
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
