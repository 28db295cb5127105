//! WebAssembly 3.0 calls: typed function references (`call_ref`, non-null
//! types checked at the host boundary) and tail calls in constant stack.

use kiln::{Func, TrapCode, Val};
use kiln_tests::{instantiate, module};

const BINOPS: &str = r#"(module
  (type $binop (func (param i32 i32) (result i32)))
  (import "env" "mul" (func (type $binop)))
  (func $add (type $binop) (i32.add (local.get 0) (local.get 1)))
  (func $unary (param i32) (result i32) (local.get 0))
  (elem declare func $add $unary)
  (func (export "add") (result (ref $binop)) (ref.func $add))
  (func (export "unary") (result funcref) (ref.func $unary))
  (func (export "apply") (param $f (ref null $binop)) (param i32 i32) (result i32)
    (call_ref $binop (local.get 1) (local.get 2) (local.get $f)))
  (func (export "double") (param $f (ref $binop)) (param i32) (result i32)
    (call_ref $binop (local.get 1) (local.get 1) (local.get $f)))
  (func (export "or-42") (param $f (ref null $binop)) (result i32)
    (block $null
      (return (call_ref $binop (i32.const 40) (i32.const 2) (br_on_null $null (local.get $f)))))
    (i32.const -1)))"#;

fn call(store: &mut kiln::Store<()>, f: &Func, params: &[Val]) -> kiln::Result<i32> {
    let mut out = [Val::I32(0)];
    f.call(&mut *store, params, &mut out)?;
    Ok(out[0].i32().expect("an i32 result"))
}

#[test]
fn call_ref_through_typed_references() {
    // Host functions reach wasm through trampolines compiled for the
    // types modules import: the module imports one of `$binop`'s type.
    let mut store = kiln::Store::new(());
    let mut linker = kiln::Linker::new();
    let mul = Func::wrap(&mut store, |a: i32, b: i32| a * b);
    linker.define("env", "mul", mul).unwrap();
    let instance = linker.instantiate(&mut store, &module(BINOPS)).unwrap();
    let get = |store: &mut kiln::Store<()>, name: &str| instance.get_func(&mut *store, name).unwrap();
    let (add, unary, apply, double, or_42) = (
        get(&mut store, "add"),
        get(&mut store, "unary"),
        get(&mut store, "apply"),
        get(&mut store, "double"),
        get(&mut store, "or-42"),
    );

    let mut out = [Val::FuncRef(None)];
    add.call(&mut store, &[], &mut out).unwrap();
    let add_ref = out[0];
    assert!(matches!(add_ref, Val::FuncRef(Some(_))));
    assert_eq!(call(&mut store, &apply, &[add_ref, Val::I32(2), Val::I32(3)]).unwrap(), 5);
    assert_eq!(call(&mut store, &double, &[add_ref, Val::I32(21)]).unwrap(), 42);
    assert_eq!(call(&mut store, &or_42, &[add_ref]).unwrap(), 42);
    assert_eq!(call(&mut store, &or_42, &[Val::FuncRef(None)]).unwrap(), -1);

    // A host function of the same structural type is a `(ref $binop)`.
    let host = Func::wrap(&mut store, |a: i32, b: i32| a - b);
    assert_eq!(call(&mut store, &apply, &[Val::FuncRef(Some(host)), Val::I32(50), Val::I32(8)]).unwrap(), 42);
    assert_eq!(call(&mut store, &apply, &[Val::FuncRef(Some(mul)), Val::I32(6), Val::I32(7)]).unwrap(), 42);

    // Null where null is allowed reaches call_ref, which traps.
    let e = call(&mut store, &apply, &[Val::FuncRef(None), Val::I32(1), Val::I32(2)]).unwrap_err();
    assert_eq!(e.trap().map(|t| t.code()), Some(TrapCode::NullReference), "{e}");

    // Null for a non-null parameter, or a function of another type, never
    // enters wasm: an error naming the argument.
    let e = call(&mut store, &double, &[Val::FuncRef(None), Val::I32(1)]).unwrap_err();
    assert!(e.trap().is_none() && e.to_string().contains("argument 0"), "{e}");
    let mut out = [Val::FuncRef(None)];
    unary.call(&mut store, &[], &mut out).unwrap();
    let e = call(&mut store, &apply, &[out[0], Val::I32(1), Val::I32(2)]).unwrap_err();
    assert!(e.trap().is_none() && e.to_string().contains("argument 0"), "{e}");
}

#[test]
fn mutual_tail_recursion_runs_in_constant_stack() {
    // Three million frames would exhaust any stack; as tail calls they
    // reuse one.
    let (mut store, instance) = instantiate(
        r#"(module
          (type $pred (func (param i64) (result i32)))
          (func $even (export "even") (param i64) (result i32)
            (if (result i32) (i64.eqz (local.get 0))
              (then (i32.const 1))
              (else (return_call $odd (i64.sub (local.get 0) (i64.const 1))))))
          (func $odd (param i64) (result i32)
            (if (result i32) (i64.eqz (local.get 0))
              (then (i32.const 0))
              (else (return_call_ref $pred (i64.sub (local.get 0) (i64.const 1)) (ref.func $even)))))
          (elem declare func $even))"#,
    );
    let even = instance.get_typed_func::<i64, i32>(&mut store, "even").unwrap();
    assert_eq!(even.call(&mut store, 3_000_000).unwrap(), 1);
    assert_eq!(even.call(&mut store, 3_000_001).unwrap(), 0);
}

#[test]
fn call_indirect_accepts_declared_subtypes() {
    let (mut store, instance) = instantiate(
        r#"(module
          (type $base (sub (func (result i32))))
          (type $derived (sub final $base (func (result i32))))
          (type $other (func (result i32)))
          (table 3 funcref)
          (func $d (type $derived) (i32.const 7))
          (func $b (type $base) (i32.const 5))
          (func $o (type $other) (i32.const 9))
          (elem (i32.const 0) func $d $b $o)
          (func (export "call-base") (param i32) (result i32) (call_indirect (type $base) (local.get 0)))
          (func (export "call-derived") (param i32) (result i32) (call_indirect (type $derived) (local.get 0))))"#,
    );
    let base = instance.get_typed_func::<i32, i32>(&mut store, "call-base").unwrap();
    let derived = instance.get_typed_func::<i32, i32>(&mut store, "call-derived").unwrap();
    assert_eq!(base.call(&mut store, 0).unwrap(), 7, "a $derived is a $base");
    assert_eq!(base.call(&mut store, 1).unwrap(), 5);
    assert_eq!(derived.call(&mut store, 0).unwrap(), 7);
    // Same structure, but final and without a supertype: another type.
    let e = base.call(&mut store, 2).unwrap_err();
    assert_eq!(e.trap().map(|t| t.code()), Some(TrapCode::BadSignature), "{e}");
    // A supertype is not a subtype.
    let e = derived.call(&mut store, 1).unwrap_err();
    assert_eq!(e.trap().map(|t| t.code()), Some(TrapCode::BadSignature), "{e}");
}
