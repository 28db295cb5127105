//! Typed host → wasm calls across signature shapes (no parameters, four
//! mixed-width integers, five, floats, two results), traps in a loop with
//! the store reused at once, stack overflow, and host functions called
//! through wasm, typed through a module's trampoline, and typed in a store
//! no module can call them from.

use kiln::{Caller, Func, Linker, Store, TrapCode};
use kiln_tests::module;

const WAT: &str = r#"(module
  (import "host" "twice" (func $twice (param i32) (result i32)))
  (import "host" "fail" (func $fail (param i32) (result i32)))
  (func (export "none"))
  (func (export "one") (result i32) (i32.const -7))
  (func (export "neg") (param i32) (result i32) (i32.sub (i32.const 0) (local.get 0)))
  (func (export "mix") (param i32 i64 i32 i64) (result i64)
    (i64.add
      (i64.add (i64.extend_i32_s (local.get 0)) (i64.mul (local.get 1) (i64.const 3)))
      (i64.add (i64.extend_i32_u (local.get 2)) (i64.shl (local.get 3) (i64.const 4)))))
  (func (export "five") (param i32 i32 i32 i32 i32) (result i32)
    (i32.add (local.get 0) (i32.add (local.get 1) (i32.add (local.get 2) (i32.add (local.get 3) (local.get 4))))))
  (func (export "floats") (param f64 i32) (result f64) (f64.mul (local.get 0) (f64.convert_i32_s (local.get 1))))
  (func (export "two") (param i64) (result i64 i32) (local.get 0) (i32.wrap_i64 (local.get 0)))
  (func (export "div") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
  (func $down (export "down") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0))
      (then (i32.const 0))
      (else (i32.add (i32.const 1) (call $down (i32.sub (local.get 0) (i32.const 1)))))))
  (func (export "via_host") (param i32) (result i32) (call $twice (local.get 0)))
  (func (export "via_fail") (param i32) (result i32) (call $fail (local.get 0)))
  (func (export "twice_ref") (result funcref) (ref.func $twice))
  (elem declare func $twice))"#;

fn setup() -> (Store<u32>, kiln::Instance) {
    let mut store = Store::new(0u32);
    let mut linker = Linker::new();
    linker
        .func_wrap("host", "twice", |mut caller: Caller<'_, u32>, x: i32| {
            *caller.data_mut() += 1;
            x.wrapping_mul(2)
        })
        .unwrap();
    linker
        .func_wrap("host", "fail", |x: i32| -> Result<i32, String> {
            if x < 0 {
                Err(format!("refused {x}"))
            } else {
                Ok(x)
            }
        })
        .unwrap();
    let instance = linker.instantiate(&mut store, &module(WAT)).unwrap();
    (store, instance)
}

#[test]
fn integer_signatures_give_the_right_answers() {
    let (mut s, i) = setup();
    i.get_typed_func::<(), ()>(&mut s, "none").unwrap().call(&mut s, ()).unwrap();
    assert_eq!(i.get_typed_func::<(), i32>(&mut s, "one").unwrap().call(&mut s, ()).unwrap(), -7);
    assert_eq!(i.get_typed_func::<(), u32>(&mut s, "one").unwrap().call(&mut s, ()).unwrap(), -7i32 as u32);
    let neg = i.get_typed_func::<i32, i32>(&mut s, "neg").unwrap();
    for x in [0, 1, -1, i32::MIN, i32::MAX, 123_456] {
        assert_eq!(neg.call(&mut s, x).unwrap(), x.wrapping_neg());
    }
    let mix = i.get_typed_func::<(i32, i64, u32, u64), i64>(&mut s, "mix").unwrap();
    let expect = |a: i32, b: i64, c: u32, d: u64| {
        (a as i64).wrapping_add(b.wrapping_mul(3)).wrapping_add((c as i64).wrapping_add((d << 4) as i64))
    };
    for (a, b, c, d) in [(1, 2, 3, 4), (-1, -2, u32::MAX, u64::MAX), (i32::MIN, i64::MAX, 0x8000_0000, 1 << 60)] {
        assert_eq!(mix.call(&mut s, (a, b, c, d)).unwrap(), expect(a, b, c, d), "{a} {b} {c} {d}");
    }
    let five = i.get_typed_func::<(i32, i32, i32, i32, i32), i32>(&mut s, "five").unwrap();
    assert_eq!(five.call(&mut s, (1, 2, 3, 4, 5)).unwrap(), 15);
    let floats = i.get_typed_func::<(f64, i32), f64>(&mut s, "floats").unwrap();
    assert_eq!(floats.call(&mut s, (1.5, -4)).unwrap(), -6.0);
    let two = i.get_typed_func::<i64, (i64, i32)>(&mut s, "two").unwrap();
    assert_eq!(two.call(&mut s, (1 << 40) + 9).unwrap(), ((1 << 40) + 9, 9));
}

#[test]
fn traps_and_deep_recursion_come_back_as_errors() {
    let (mut s, i) = setup();
    let div = i.get_typed_func::<(i32, i32), i32>(&mut s, "div").unwrap();
    for _ in 0..1000 {
        let e = div.call(&mut s, (1, 0)).unwrap_err();
        assert_eq!(e.trap().map(|t| t.code()), Some(TrapCode::IntegerDivisionByZero), "{e}");
        let e = div.call(&mut s, (i32::MIN, -1)).unwrap_err();
        assert_eq!(e.trap().map(|t| t.code()), Some(TrapCode::IntegerOverflow), "{e}");
        // The store is usable again right away.
        assert_eq!(div.call(&mut s, (-9, 2)).unwrap(), -4);
    }
    let down = i.get_typed_func::<i32, i32>(&mut s, "down").unwrap();
    assert_eq!(down.call(&mut s, 1000).unwrap(), 1000);
    let e = down.call(&mut s, i32::MAX).unwrap_err();
    assert_eq!(e.trap().map(|t| t.code()), Some(TrapCode::StackOverflow), "{e}");
    assert_eq!(down.call(&mut s, 10).unwrap(), 10);
}

#[test]
fn host_functions_through_wasm_and_directly() {
    let (mut s, i) = setup();
    let via = i.get_typed_func::<i32, i32>(&mut s, "via_host").unwrap();
    assert_eq!(via.call(&mut s, 21).unwrap(), 42);
    assert_eq!(*s.data(), 1);

    // The host function itself, typed: called through the module's
    // trampoline for its signature.
    let twice_ref = i.get_typed_func::<(), Option<Func>>(&mut s, "twice_ref").unwrap();
    let twice = twice_ref.call(&mut s, ()).unwrap().unwrap().typed::<i32, i32>(&mut s).unwrap();
    assert_eq!(twice.call(&mut s, -5).unwrap(), -10);
    assert_eq!(*s.data(), 2);

    // A host function error keeps its message, whichever way it was called.
    let via_fail = i.get_typed_func::<i32, i32>(&mut s, "via_fail").unwrap();
    assert_eq!(via_fail.call(&mut s, 3).unwrap(), 3);
    let e = via_fail.call(&mut s, -3).unwrap_err();
    assert!(format!("{e:?} {e}").contains("refused -3"), "{e:?}");

    // A host function in a store no module can call it from.
    let mut lone = Store::new(());
    let f = Func::wrap(&mut lone, |a: i64, b: i64| a - b).typed::<(i64, i64), i64>(&mut lone).unwrap();
    assert_eq!(f.call(&mut lone, (10, 3)).unwrap(), 7);
    let g = Func::wrap(&mut lone, |x: i32| -> Result<i32, String> { Err(format!("no {x}")) })
        .typed::<i32, i32>(&mut lone)
        .unwrap();
    let e = g.call(&mut lone, 4).unwrap_err();
    assert!(format!("{e:?} {e}").contains("no 4"), "{e:?}");
}
