//! Exceptions between wasm and the host: what escapes, what a host throws,
//! tags shared by identity. (Memory over many throws: `tests/exceptions.rs`.)

use kiln::wasi::{I32Exit, Pipe, WasiCtx, WasiCtxBuilder};
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
            (local $x i64)
            (block $h (result i32 i64)
              (try_table (catch $e $h)
                (drop (call $relay (local.get 0))))
              (return (i64.const 0)))
            (local.set $x)
            (i64.extend_i32_s)
            (local.get $x)
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
    assert_eq!(run.call(&mut store, 10).unwrap(), 5);
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

/// What `examples/plugins/exceptions-cxx` prints (its `main`).
const CALC_OUTPUT: &str = "\
1 + 2 * 3                = 7
(1 + 2) * 3              = 9
-(4 - 10) / 2            = 3
2 * (3 + 4               : parse error at 10: expected `)`
8 / (2 - 2)              : division of 8 by zero
1 + + 1                  : parse error at 4: expected a number
12 34                    : parse error at 3: unexpected input
(((((((((((((((((((((((( : division of 1 by zero
deepest frame: 301, guards alive after unwinding: 0
(((((((((((((((((((((((( : parse error at 304: expected a number
caught 100000 of 100000, guards alive: 0, exception objects alive: 0
";

#[test]
fn cxx_program_throws_and_catches_across_hundreds_of_frames() {
    // clang 19, -fwasm-exceptions: the legacy instructions, C++ RAII
    // cleanups (catch_all + rethrow in every frame) and catch (...).
    let wasm = include_bytes!("../../examples/plugins/wasm/exceptions-cxx.wasm");
    let mut config = kiln_tests::config();
    config.wasm_feature("legacy-exceptions", true).unwrap();
    let bytes = kiln_build::compile(wasm, &config).unwrap_or_else(|e| panic!("{e}"));
    let module = kiln_tests::load(&bytes).unwrap();
    let out = Pipe::new();
    let mut store = Store::new(WasiCtxBuilder::new().stdout(out.clone()).build());
    let mut linker = Linker::new();
    kiln::wasi::add_to_linker(&mut linker, |w: &mut WasiCtx| w).unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let start = instance.get_typed_func::<(), ()>(&mut store, "_start").unwrap();
    match start.call(&mut store, ()) {
        Ok(()) => {}
        Err(e) => assert_eq!(e.downcast_ref::<I32Exit>(), Some(&I32Exit(0)), "{e:#}"),
    }
    assert_eq!(String::from_utf8_lossy(&out.contents()), CALC_OUTPUT);
}

#[test]
fn exnref_held_by_the_host_can_be_inspected_and_rethrown() {
    let m = module(
        r#"(module
          (tag $e (export "e") (param i32))
          (func (export "catch-ref") (param i32) (result exnref)
            (block $h (result i32 exnref)
              (try_table (catch_ref $e $h) (throw $e (local.get 0)))
              unreachable)
            (return))
          (func (export "rethrow") (param exnref) (result i32)
            (block $h (result i32)
              (try_table (catch $e $h) (throw_ref (local.get 0)))
              unreachable)))"#,
    );
    let mut store = Store::new(());
    let instance = Linker::new().instantiate(&mut store, &m).unwrap();
    let catch_ref = instance.get_func(&mut store, "catch-ref").unwrap();
    let rethrow = instance.get_func(&mut store, "rethrow").unwrap();
    let mut out = [Val::I32(0)];
    catch_ref.call(&mut store, &[Val::I32(77)], &mut out).unwrap();
    let Val::ExnRef(Some(x)) = out[0] else { panic!("expected an exnref, got {:?}", out[0]) };
    // Still valid after the call that made it returned, and after others.
    catch_ref.call(&mut store, &[Val::I32(1)], &mut [Val::I32(0)]).unwrap();
    assert_eq!(x.exception(&mut store).unwrap().values(), &[Val::I32(77)]);
    let mut back = [Val::I32(0)];
    rethrow.call(&mut store, &[Val::ExnRef(Some(x))], &mut back).unwrap();
    assert_eq!(back[0], Val::I32(77));
    // A null one traps in throw_ref.
    let err = rethrow.call(&mut store, &[Val::ExnRef(None)], &mut back).unwrap_err();
    assert_eq!(err.trap().map(|t| t.code()), Some(kiln::TrapCode::NullReference), "{err}");
    // Another store's exnref is refused.
    let mut other = Store::new(());
    let other_instance = Linker::new().instantiate(&mut other, &m).unwrap();
    let other_rethrow = other_instance.get_func(&mut other, "rethrow").unwrap();
    assert!(other_rethrow.call(&mut other, &[Val::ExnRef(Some(x))], &mut back).is_err());
}
