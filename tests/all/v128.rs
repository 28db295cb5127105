//! v128 values across the host boundary: dynamic calls with `Val::V128`,
//! typed calls with `u128`, host functions taking and returning vectors
//! (the wasm → host trampolines), results through the return area, and
//! v128 globals.

use kiln::{Caller, Linker, Store, Val};
use kiln_tests::module;

const LANES: &str = r#"(module
  (import "host" "rotate" (func $rotate (param v128 i32) (result v128)))
  (global $g (export "g") (mut v128) (v128.const i32x4 1 2 3 4))
  (func (export "add") (param v128 v128) (result v128)
    local.get 0 local.get 1 i32x4.add)
  (func (export "split") (param v128) (result i64 v128 i64)
    local.get 0 i64x2.extract_lane 0
    local.get 0 local.get 0 i8x16.shuffle 15 14 13 12 11 10 9 8 7 6 5 4 3 2 1 0
    local.get 0 i64x2.extract_lane 1)
  (func (export "via_host") (param v128) (result v128)
    local.get 0 i32.const 8 call $rotate
    global.get $g i32x4.mul)
  (func (export "bump") global.get $g global.get $g i32x4.add global.set $g))"#;

fn lanes(v: [u32; 4]) -> u128 {
    v.iter().rev().fold(0, |acc, &l| (acc << 32) | u128::from(l))
}

fn instance(store: &mut Store<u32>) -> kiln::Instance {
    let m = module(LANES);
    let mut linker = Linker::new();
    linker
        .func_wrap("host", "rotate", |mut caller: Caller<'_, u32>, v: u128, bits: i32| -> u128 {
            *caller.data_mut() += 1;
            v.rotate_left(bits as u32)
        })
        .unwrap();
    linker.instantiate(store, &m).unwrap()
}

#[test]
fn typed_calls_pass_u128() {
    let mut store = Store::new(0);
    let instance = instance(&mut store);
    let add = instance.get_typed_func::<(u128, u128), u128>(&mut store, "add").unwrap();
    let sum = add.call(&mut store, (lanes([1, 2, 3, u32::MAX]), lanes([10, 20, 30, 2]))).unwrap();
    assert_eq!(sum, lanes([11, 22, 33, 1]));
}

#[test]
fn dynamic_calls_pass_val_v128_and_several_results() {
    let mut store = Store::new(0);
    let instance = instance(&mut store);
    let split = instance.get_func(&mut store, "split").unwrap();
    let input = 0x0f0e_0d0c_0b0a_0908_0706_0504_0302_0100_u128;
    let mut results = [Val::I32(0), Val::I32(0), Val::I32(0)];
    split.call(&mut store, &[Val::V128(input)], &mut results).unwrap();
    assert_eq!(results[0], Val::I64(0x0706_0504_0302_0100));
    assert_eq!(results[1], Val::V128(u128::from_be_bytes(input.to_le_bytes())));
    assert_eq!(results[2], Val::I64(0x0f0e_0d0c_0b0a_0908));
    // The same through the typed path.
    let typed = instance.get_typed_func::<u128, (i64, u128, i64)>(&mut store, "split").unwrap();
    let (low, reversed, high) = typed.call(&mut store, input).unwrap();
    assert_eq!((low, high), (0x0706_0504_0302_0100, 0x0f0e_0d0c_0b0a_0908));
    assert_eq!(reversed, u128::from_be_bytes(input.to_le_bytes()));
}

#[test]
fn host_functions_take_and_return_vectors() {
    let mut store = Store::new(0);
    let instance = instance(&mut store);
    let via_host = instance.get_typed_func::<u128, u128>(&mut store, "via_host").unwrap();
    let v = lanes([0x0100_0000, 2, 3, 4]);
    let expected = {
        let r = v.rotate_left(8);
        let l = |x: u128, i: u32| (x >> (32 * i)) as u32;
        lanes([l(r, 0).wrapping_mul(1), l(r, 1).wrapping_mul(2), l(r, 2).wrapping_mul(3), l(r, 3).wrapping_mul(4)])
    };
    assert_eq!(via_host.call(&mut store, v).unwrap(), expected);
    assert_eq!(*store.data(), 1);
}

#[test]
fn v128_globals_read_and_write() {
    let mut store = Store::new(0);
    let instance = instance(&mut store);
    let g = instance.get_global(&mut store, "g").unwrap();
    assert_eq!(g.get(&mut store), Val::V128(lanes([1, 2, 3, 4])));
    instance.get_typed_func::<(), ()>(&mut store, "bump").unwrap().call(&mut store, ()).unwrap();
    assert_eq!(g.get(&mut store), Val::V128(lanes([2, 4, 6, 8])));
    g.set(&mut store, Val::V128(u128::MAX)).unwrap();
    instance.get_typed_func::<(), ()>(&mut store, "bump").unwrap().call(&mut store, ()).unwrap();
    assert_eq!(g.get(&mut store), Val::V128(lanes([u32::MAX - 1; 4])));
    // A value of another type is refused, the global keeps its value.
    assert!(g.set(&mut store, Val::I32(1)).is_err());
    assert_eq!(g.get(&mut store), Val::V128(lanes([u32::MAX - 1; 4])));
}

/// A build with SIMD turned off refuses a SIMD module with an error naming
/// the instruction's place, and so does a target without vector registers.
#[test]
fn simd_off_and_targets_without_vectors_are_clear_errors() {
    let wasm = wat::parse_str("(module (func (result i32) v128.const i32x4 1 2 3 4 i32x4.extract_lane 1))").unwrap();
    let mut config = kiln_tests::config();
    config.wasm_simd(false);
    let err = kiln_build::compile(&wasm, &config).unwrap_err().to_string();
    assert!(err.contains("SIMD") && err.contains("offset"), "{err}");

    let config = kiln_build::Config::for_target("riscv64gc-unknown-linux-gnu").unwrap();
    let err = kiln_build::compile(&wasm, &config).unwrap_err().to_string();
    assert!(err.contains("v128.const") && err.contains("vector registers") && err.contains("offset"), "{err}");
}

/// Relaxed SIMD's choice is fixed at build time and recorded in the artifact.
#[test]
fn relaxed_simd_choice_is_recorded() {
    let wasm = wat::parse_str(
        "(module (func (export \"f\") (param v128 v128) (result v128) local.get 0 local.get 1 i8x16.relaxed_swizzle))",
    )
    .unwrap();
    let mut config = kiln_build::Config::for_target("x86_64-unknown-linux-gnu").unwrap();
    let native = kiln_build::compile(&wasm, &config).unwrap();
    config.relaxed_simd_deterministic(true);
    let deterministic = kiln_build::compile(&wasm, &config).unwrap();
    let aarch64 =
        kiln_build::compile(&wasm, &kiln_build::Config::for_target("aarch64-unknown-linux-gnu").unwrap()).unwrap();
    let relaxed = |artifact: &[u8]| {
        use kiln::artifact_format::engine::{decode_info, decode_prefix};
        let section = &artifact[kiln_tests::section_range(artifact, ".kiln.engine")];
        decode_info(&decode_prefix(section).unwrap()).unwrap().relaxed_simd.name()
    };
    assert_eq!(relaxed(&native), "x86");
    assert_eq!(relaxed(&deterministic), "deterministic");
    assert_eq!(relaxed(&aarch64), "deterministic");
}
