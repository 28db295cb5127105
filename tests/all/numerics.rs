//! Numeric instructions against Rust's own semantics, for values where the
//! two agree by definition (wasm and Rust share IEEE 754 and two's
//! complement); corner cases are the spec suite's job.

use kiln_tests::instantiate;

#[test]
fn integer_ops_match_rust() {
    let (mut store, i) = instantiate(
        r#"(module
          (func (export "rotl") (param i32 i32) (result i32) (i32.rotl (local.get 0) (local.get 1)))
          (func (export "shr_s") (param i64 i64) (result i64) (i64.shr_s (local.get 0) (local.get 1)))
          (func (export "clz") (param i32) (result i32) (i32.clz (local.get 0)))
          (func (export "popcnt") (param i64) (result i64) (i64.popcnt (local.get 0)))
          (func (export "ext8") (param i32) (result i32) (i32.extend8_s (local.get 0)))
          (func (export "wrap") (param i64) (result i32) (i32.wrap_i64 (local.get 0)))
          (func (export "lt_u") (param i32 i32) (result i32) (i32.lt_u (local.get 0) (local.get 1))))"#,
    );
    let rotl = i.get_typed_func::<(i32, i32), i32>(&mut store, "rotl").unwrap();
    let shr = i.get_typed_func::<(i64, i64), i64>(&mut store, "shr_s").unwrap();
    let clz = i.get_typed_func::<i32, i32>(&mut store, "clz").unwrap();
    let popcnt = i.get_typed_func::<i64, i64>(&mut store, "popcnt").unwrap();
    let ext8 = i.get_typed_func::<i32, i32>(&mut store, "ext8").unwrap();
    let wrap = i.get_typed_func::<i64, i32>(&mut store, "wrap").unwrap();
    let lt_u = i.get_typed_func::<(i32, i32), i32>(&mut store, "lt_u").unwrap();
    for &(a, b) in &[(1i32, 1i32), (0x12345678, 36), (-1, 7), (i32::MIN, 33)] {
        assert_eq!(rotl.call(&mut store, (a, b)).unwrap(), a.rotate_left(b as u32 % 32));
        assert_eq!(
            shr.call(&mut store, (a as i64 * 1000, b as i64 + 64)).unwrap(),
            (a as i64 * 1000) >> ((b as i64 + 64) & 63)
        );
        assert_eq!(clz.call(&mut store, a).unwrap(), a.leading_zeros() as i32);
        assert_eq!(popcnt.call(&mut store, a as i64).unwrap(), (a as i64).count_ones() as i64);
        assert_eq!(ext8.call(&mut store, a).unwrap(), a as i8 as i32);
        assert_eq!(wrap.call(&mut store, (a as i64) << 20).unwrap(), ((a as i64) << 20) as i32);
        assert_eq!(lt_u.call(&mut store, (a, b)).unwrap(), ((a as u32) < (b as u32)) as i32);
    }
}

#[test]
fn float_ops_match_rust() {
    let (mut store, i) = instantiate(
        r#"(module
          (func (export "nearest") (param f64) (result f64) (f64.nearest (local.get 0)))
          (func (export "floor") (param f32) (result f32) (f32.floor (local.get 0)))
          (func (export "min") (param f64 f64) (result f64) (f64.min (local.get 0) (local.get 1)))
          (func (export "sat") (param f64) (result i32) (i32.trunc_sat_f64_s (local.get 0)))
          (func (export "conv") (param i64) (result f32) (f32.convert_i64_u (local.get 0)))
          (func (export "copysign") (param f32 f32) (result f32) (f32.copysign (local.get 0) (local.get 1))))"#,
    );
    let nearest = i.get_typed_func::<f64, f64>(&mut store, "nearest").unwrap();
    let floor = i.get_typed_func::<f32, f32>(&mut store, "floor").unwrap();
    let min = i.get_typed_func::<(f64, f64), f64>(&mut store, "min").unwrap();
    let sat = i.get_typed_func::<f64, i32>(&mut store, "sat").unwrap();
    let conv = i.get_typed_func::<i64, f32>(&mut store, "conv").unwrap();
    let copysign = i.get_typed_func::<(f32, f32), f32>(&mut store, "copysign").unwrap();
    for &x in &[0.5f64, 1.5, 2.5, -0.5, -2.5, 1e300, -7.25] {
        assert_eq!(nearest.call(&mut store, x).unwrap(), x.round_ties_even());
        assert_eq!(floor.call(&mut store, x as f32).unwrap(), (x as f32).floor());
        assert_eq!(min.call(&mut store, (x, -x)).unwrap(), x.min(-x));
        assert_eq!(sat.call(&mut store, x * 1e9).unwrap(), (x * 1e9) as i32);
        assert_eq!(copysign.call(&mut store, (x as f32, -1.0)).unwrap(), (x as f32).copysign(-1.0));
    }
    assert_eq!(sat.call(&mut store, f64::NAN).unwrap(), 0);
    assert!(min.call(&mut store, (f64::NAN, 1.0)).unwrap().is_nan());
    assert_eq!(min.call(&mut store, (0.0, -0.0)).unwrap().to_bits(), (-0.0f64).to_bits());
    for &v in &[0u64, 1, u64::MAX, 1 << 63, 12345678901234567] {
        assert_eq!(conv.call(&mut store, v as i64).unwrap(), v as f32);
    }
}
