//! 100,000 throws in each of the three ways an exception object ends —
//! caught by value inside one call, caught by reference (kept until the
//! call returns), and escaping to the host — and the process's resident
//! memory stays flat (Linux, where `/proc/self/statm` says; elsewhere the
//! loops run and only their results are checked).
//!
//! A test binary of its own without libtest's harness: resident memory is
//! the whole process's, so nothing else may run beside it.

use kiln::{Linker, Store, Val};
use std::process::ExitCode;

const WAT: &str = r#"(module
  (tag $e (param i32 i64 f64))
  (global $keep (mut exnref) (ref.null exn))
  (func $thrower (param i32) (throw $e (local.get 0) (i64.const 1) (f64.const 2)))
  ;; by value, in one call: each object is freed as it lands
  (func (export "loop") (param i32) (result i32)
    (local $sum i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get 0)))
        (block $h (result i32 i64 f64)
          (try_table (catch $e $h) (call $thrower (local.get 0)))
          unreachable)
        drop drop
        (local.set $sum (i32.add (local.get $sum)))
        (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
        (br $next)))
    (local.get $sum))
  ;; by reference: kept in a global until the next call replaces it
  (func (export "by-ref") (param i32) (result i32)
    (block $h (result i32 i64 f64 exnref)
      (try_table (catch_ref $e $h) (call $thrower (local.get 0)))
      unreachable)
    (global.set $keep)
    drop drop)
  (func (export "escape") (param i32) (call $thrower (local.get 0))))"#;

/// Resident set size in bytes, where the OS says.
fn rss() -> Option<usize> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: usize = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

const THROWS: i32 = 100_000;
/// Keeping 100,000 objects of 64 bytes would take over 6 MiB. Resident
/// memory is noisier than that under emulation (qemu-user counts its own
/// translated code), so flat means under 4 MiB.
const FLAT: usize = 4 << 20;

fn main() -> ExitCode {
    let wasm = wat::parse_str(WAT).expect("the module parses");
    let bytes = kiln_build::compile(&wasm, &kiln_tests::config()).expect("the module compiles");
    let module = kiln_tests::load(&bytes).expect("the artifact loads");
    let mut store = Store::new(());
    let instance = Linker::new().instantiate(&mut store, &module).expect("instantiates");
    let looped = instance.get_typed_func::<i32, i32>(&mut store, "loop").unwrap();
    let by_ref = instance.get_typed_func::<i32, i32>(&mut store, "by-ref").unwrap();
    let escape = instance.get_typed_func::<i32, ()>(&mut store, "escape").unwrap();

    let mut failed = false;
    let mut phase = |name: &str, run: &mut dyn FnMut() -> bool| {
        // A first round warms up allocators and caches.
        let warm = run();
        let before = rss();
        let ok = warm && run();
        let grown = rss().zip(before).map(|(a, b)| a.saturating_sub(b));
        match grown {
            Some(g) => println!("{name}: {THROWS} throws, resident memory grew by {g} bytes"),
            None => println!("{name}: {THROWS} throws (resident memory not measured on this OS)"),
        }
        if !ok || grown.is_some_and(|g| g >= FLAT) {
            println!("{name}: FAILED ({})", if ok { "memory grew" } else { "wrong results" });
            failed = true;
        }
    };
    let expected = (1..=i64::from(THROWS)).sum::<i64>() as i32;
    phase("caught by value in one call", &mut || looped.call(&mut store, THROWS).ok() == Some(expected));
    phase("caught by reference, kept until the call returns", &mut || {
        (0..THROWS).all(|i| by_ref.call(&mut store, i).ok() == Some(i))
    });
    phase("escaping to the host", &mut || {
        (0..THROWS).all(|i| {
            let err = escape.call(&mut store, i).unwrap_err();
            err.exception().is_some_and(|x| x.values().first() == Some(&Val::I32(i)))
        })
    });
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
