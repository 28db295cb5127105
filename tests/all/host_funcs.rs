//! Host functions: typed and dynamic, with the caller's data and memory.

use kiln::{Caller, Func, FuncType, Linker, Store, Val, ValType};
use kiln_tests::module;

#[test]
fn typed_host_function_reads_guest_memory_and_host_data() {
    let m = module(
        r#"(module
          (import "env" "log" (func $log (param i32 i32)))
          (memory (export "memory") 1)
          (data (i32.const 100) "hi there")
          (func (export "run") (call $log (i32.const 100) (i32.const 8)) (call $log (i32.const 103) (i32.const 5))))"#,
    );
    let mut store = Store::new(Vec::<String>::new());
    let mut linker = Linker::new();
    linker
        .func_wrap("env", "log", |mut caller: Caller<'_, Vec<String>>, ptr: i32, len: i32| -> kiln::Result<()> {
            let mem = caller.get_export("memory").and_then(|e| e.into_memory()).unwrap();
            let mut buf = vec![0; len as usize];
            mem.read(&mut caller, ptr as usize, &mut buf)?;
            caller.data_mut().push(String::from_utf8(buf).unwrap());
            Ok(())
        })
        .unwrap();
    let instance = linker.instantiate(&mut store, &m).unwrap();
    instance.get_typed_func::<(), ()>(&mut store, "run").unwrap().call(&mut store, ()).unwrap();
    assert_eq!(store.data(), &["hi there".to_string(), "there".to_string()]);
}

#[test]
fn bad_guest_pointer_is_an_error_not_a_crash() {
    let m = module(
        r#"(module
          (import "env" "log" (func $log (param i32 i32)))
          (memory (export "memory") 1)
          (func (export "run") (param i32 i32) (call $log (local.get 0) (local.get 1))))"#,
    );
    let mut store = Store::new(());
    let mut linker = Linker::new();
    linker
        .func_wrap("env", "log", |mut caller: Caller<'_, ()>, ptr: i32, len: i32| -> kiln::Result<()> {
            let mem = caller.get_export("memory").and_then(|e| e.into_memory()).unwrap();
            let mut buf = vec![0; len as u32 as usize];
            mem.read(&mut caller, ptr as u32 as usize, &mut buf)
        })
        .unwrap();
    let instance = linker.instantiate(&mut store, &m).unwrap();
    let run = instance.get_typed_func::<(i32, i32), ()>(&mut store, "run").unwrap();
    run.call(&mut store, (0, 16)).unwrap();
    let err = run.call(&mut store, (65530, 100)).unwrap_err();
    assert!(err.to_string().contains("outside"), "{err}");
    let err = run.call(&mut store, (-1, 2)).unwrap_err();
    assert!(err.to_string().contains("outside"), "{err}");
}

#[test]
fn dynamic_host_function_and_multi_value() {
    let m = module(
        r#"(module
          (import "env" "swap" (func $swap (param i32 i64) (result i64 i32)))
          (func (export "run") (param i32 i64) (result i64 i32) (call $swap (local.get 0) (local.get 1))))"#,
    );
    let mut store = Store::new(());
    let mut linker = Linker::new();
    let ty =
        FuncType { params: vec![ValType::I32, ValType::I64].into(), results: vec![ValType::I64, ValType::I32].into() };
    linker
        .func_new("env", "swap", ty, |_caller, params, results| {
            results[0] = Val::I64(params[1].i64().unwrap() + 1);
            results[1] = Val::I32(params[0].i32().unwrap() + 1);
            Ok(())
        })
        .unwrap();
    let instance = linker.instantiate(&mut store, &m).unwrap();
    let run = instance.get_typed_func::<(i32, i64), (i64, i32)>(&mut store, "run").unwrap();
    assert_eq!(run.call(&mut store, (1, 2)).unwrap(), (3, 2));
}

#[test]
fn host_calls_host_function_directly() {
    let mut store = Store::new(10i32);
    let f = Func::wrap(&mut store, |caller: Caller<'_, i32>, x: i32| x + *caller.data());
    let typed = f.typed::<i32, i32>(&mut store).unwrap();
    assert_eq!(typed.call(&mut store, 5).unwrap(), 15);
    assert!(f.typed::<i64, i32>(&mut store).is_err());
}

#[test]
fn link_errors_name_the_import_and_the_types() {
    let m = module(r#"(module (import "env" "f" (func (param i32))))"#);
    let mut store = Store::new(());
    let linker = Linker::<()>::new();
    let e = linker.instantiate(&mut store, &m).unwrap_err().to_string();
    assert!(e.contains("`env`::`f`") && e.contains("unknown import"), "{e}");
    let mut linker = Linker::<()>::new();
    linker.func_wrap("env", "f", |_: i64| {}).unwrap();
    let e = linker.instantiate(&mut store, &m).unwrap_err().to_string();
    assert!(e.contains("expected function (func (param i32))") && e.contains("(param i64)"), "{e}");
}

#[test]
fn wasm_calls_back_into_wasm_through_the_host() {
    let m = module(
        r#"(module
          (import "env" "twice" (func $twice (param i32) (result i32)))
          (func (export "inc") (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
          (func (export "run") (param i32) (result i32) (call $twice (local.get 0))))"#,
    );
    let mut store = Store::new(None::<kiln::Func>);
    let mut linker = Linker::new();
    linker
        .func_wrap("env", "twice", |mut caller: Caller<'_, Option<Func>>, x: i32| -> kiln::Result<i32> {
            let inc = caller.data().expect("set before the call");
            let inc = inc.typed::<i32, i32>(&mut caller)?;
            let once = inc.call(&mut caller, x)?;
            inc.call(&mut caller, once)
        })
        .unwrap();
    let instance = linker.instantiate(&mut store, &m).unwrap();
    *store.data_mut() = instance.get_func(&mut store, "inc");
    let run = instance.get_typed_func::<i32, i32>(&mut store, "run").unwrap();
    assert_eq!(run.call(&mut store, 40).unwrap(), 42);
}
