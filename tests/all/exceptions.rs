//! Exceptions between wasm and the host: what escapes, what a host throws,
//! tags shared by identity, and memory staying flat over many throws.

use kiln::{Caller, ErrorKind, FuncType, Linker, Store, Tag, Val, ValType};
use kiln_tests::module;

const LIB: &str = r#"(module
  (tag $e (export "e") (param i32 i64))
  (func $inner (param i32) (throw $e (local.get 0) (i64.const -5)))
  (func (export "throw") (param i32) (call $inner (local.get 0))))"#;

#[test]
fn uncaught_exception_reaches_the_host_with_its_tag_and_values() {
    let m = module(LIB);
    let mut store = Store::new(());
    let instance = Linker::new().instantiate(&mut store, &m).unwrap();
    let tag = instance.get_export(&mut store, "e").and_then(|e| e.into_tag()).unwrap();
    let throw = instance.get_typed_func::<i32, ()>(&mut store, "throw").unwrap();
    let err = throw.call(&mut store, 41).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Exception);
    assert!(err.trap().is_none(), "an exception is not a trap");
    let x = err.exception().expect("carries the exception");
    assert_eq!(x.tag(), tag);
    assert_eq!(x.values(), &[Val::I32(41), Val::I64(-5)]);
    // Thrown in `$inner`, called by the export: both frames are recorded.
    assert!(x.frames().len() >= 2, "{:?}", x.frames());
    assert!(err.to_string().contains("uncaught wasm exception"), "{err}");
    // The store is usable afterwards.
    assert!(throw.call(&mut store, 1).unwrap_err().exception().is_some());
}

#[test]
fn host_function_throws_into_wasm_and_wasm_catches_it() {
    let m = module(
        r#"(module
          (import "host" "tag" (tag $t (param i32)))
          (import "host" "fail" (func $fail (param i32)))
          (func (export "run") (param i32) (result i32)
            (block $h (result i32)
              (try_table (catch $t $h)
                (call $fail (local.get 0)))
              (i32.const -1))))"#,
    );
    let mut store = Store::new(());
    let tag = Tag::new(&mut store, &FuncType { params: Box::new([ValType::I32]), results: Box::new([]) }).unwrap();
    let mut linker = Linker::new();
    linker.define("host", "tag", tag).unwrap();
    linker
        .func_wrap("host", "fail", move |mut caller: Caller<'_, ()>, v: i32| -> kiln::Result<()> {
            if v < 0 {
                return Err(kiln::Error::msg("plain host error"));
            }
            Err(kiln::Exception::new(&mut caller, tag, vec![Val::I32(v * 2)])?.into())
        })
        .unwrap();
    let instance = linker.instantiate(&mut store, &m).unwrap();
    let run = instance.get_typed_func::<i32, i32>(&mut store, "run").unwrap();
    assert_eq!(run.call(&mut store, 21).unwrap(), 42);
    // A host error that is not an exception is not caught: it is a trap.
    let err = run.call(&mut store, -1).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Trap);
    assert!(err.to_string().contains("plain host error"), "{err}");
}

#[test]
fn exception_never_crosses_host_frames_silently() {
    // wasm → host → wasm (throws): the host sees an `Err`; returning it
    // throws on into the outer wasm, which catches it.
    let lib = module(LIB);
    let outer = module(
        r#"(module
          (import "lib" "e" (tag $e (param i32 i64)))
          (import "host" "relay" (func $relay (param i32) (result i32)))
          (func (export "run") (param i32) (result i64)
            (block $h (result i32 i64)
              (try_table (catch $e $h)
                (drop (call $relay (local.get 0))))
              (return (i64.const 0)))
            (i64.extend_i32_s)
            (i64.add)))"#,
    );
    let mut store = Store::new(Vec::<String>::new());
    let lib_instance = Linker::new().instantiate(&mut store, &lib).unwrap();
    let throw = lib_instance.get_typed_func::<i32, ()>(&mut store, "throw").unwrap();
    let mut linker = Linker::new();
    linker.instance(&mut store, "lib", lib_instance).unwrap();
    linker
        .func_wrap("host", "relay", move |mut caller: Caller<'_, Vec<String>>, v: i32| -> kiln::Result<i32> {
            let err = throw.call(&mut caller, v).unwrap_err();
            caller.data_mut().push(format!("saw {}", err.kind() == ErrorKind::Exception));
            Err(err)
        })
        .unwrap();
    let instance = linker.instantiate(&mut store, &outer).unwrap();
    let run = instance.get_typed_func::<i32, i64>(&mut store, "run").unwrap();
    assert_eq!(run.call(&mut store, 10).unwrap(), -5);
    assert_eq!(store.data(), &["saw true".to_string()]);
}

#[test]
fn tags_are_compared_by_identity_and_type_checked_on_import() {
    let m = module(LIB);
    let mut store = Store::new(());
    let a = Linker::new().instantiate(&mut store, &m).unwrap();
    let b = Linker::new().instantiate(&mut store, &m).unwrap();
    let ta = a.get_export(&mut store, "e").and_then(|e| e.into_tag()).unwrap();
    let tb = b.get_export(&mut store, "e").and_then(|e| e.into_tag()).unwrap();
    assert_ne!(ta, tb, "each instance defines its own tag");
    let wrong = Tag::new(&mut store, &FuncType { params: Box::new([ValType::F32]), results: Box::new([]) }).unwrap();
    let importer = module(r#"(module (import "m" "e" (tag (param i32 i64))))"#);
    let mut linker = Linker::new();
    linker.define("m", "e", wrong).unwrap();
    let err = linker.instantiate(&mut store, &importer).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Link);
    assert!(err.to_string().contains("expected tag"), "{err}");
    // Values must match the tag's type.
    assert!(kiln::Exception::new(&mut store, ta, vec![Val::I32(1)]).is_err());
}

/// Resident set size in bytes (Linux), to show memory stays flat.
fn rss() -> Option<usize> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: usize = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

#[test]
fn hundred_thousand_throws_leave_memory_flat() {
    let m = module(
        r#"(module
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
          ;; by reference: kept until the call returns
          (func (export "by-ref") (param i32) (result i32)
            (block $h (result i32 i64 f64 exnref)
              (try_table (catch_ref $e $h) (call $thrower (local.get 0)))
              unreachable)
            (global.set $keep)
            drop drop)
          (func (export "escape") (param i32) (call $thrower (local.get 0))))"#,
    );
    let mut store = Store::new(());
    let instance = Linker::new().instantiate(&mut store, &m).unwrap();
    let looped = instance.get_typed_func::<i32, i32>(&mut store, "loop").unwrap();
    let by_ref = instance.get_typed_func::<i32, i32>(&mut store, "by-ref").unwrap();
    let escape = instance.get_typed_func::<i32, ()>(&mut store, "escape").unwrap();
    // Warm up allocators and caches.
    looped.call(&mut store, 1000).unwrap();
    for i in 0..1000 {
        by_ref.call(&mut store, i).unwrap();
        escape.call(&mut store, i).unwrap_err();
    }
    let before = rss();
    assert_eq!(looped.call(&mut store, 100_000).unwrap(), (1..=100_000i64).sum::<i64>() as i32);
    for i in 0..100_000 {
        assert_eq!(by_ref.call(&mut store, i).unwrap(), i);
        assert_eq!(escape.call(&mut store, i).unwrap_err().exception().unwrap().values()[0], Val::I32(i));
    }
    if let (Some(before), Some(after)) = (before, rss()) {
        let grown = after.saturating_sub(before);
        // 300,000 throws of 64-byte objects would be ~19 MiB if kept.
        assert!(grown < 2 << 20, "resident memory grew by {grown} bytes over 300,000 throws");
    }
}
