//! aarch64 branch protection (`Config::branch_protection`): code with BTI
//! landing pads, mapped with `PROT_BTI` when copied. Under an emulator or a
//! CPU with BTI, every indirect branch the code takes — the host's call
//! into a trampoline, `call_indirect`, `br_table`, calls to the host — must
//! land on a pad, or the CPU faults. Elsewhere the setting changes nothing.

use kiln::{Func, Linker, Store};

const WAT: &str = r#"(module
  (import "host" "twice" (func $twice (param i32) (result i32)))
  (type $unary (func (param i32) (result i32)))
  (table 3 funcref)
  (elem (i32.const 0) $inc $dec $twice)
  (func $inc (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
  (func $dec (param i32) (result i32) (i32.sub (local.get 0) (i32.const 1)))
  (func (export "dispatch") (param $which i32) (param $x i32) (result i32)
    (call_indirect (type $unary) (local.get $x) (local.get $which)))
  (func (export "switch") (param i32) (result i32)
    (block (block (block (block
      (br_table 0 1 2 3 (local.get 0)))
      (return (i32.const 10)))
      (return (i32.const 20)))
      (return (call $inc (i32.const 29))))
    (i32.const 40))
)"#;

fn compile(branch_protection: bool) -> Vec<u8> {
    let mut config = kiln_tests::config();
    config.branch_protection(branch_protection);
    kiln_build::compile(&wat::parse_str(WAT).unwrap(), &config).unwrap()
}

#[test]
fn protected_code_runs_every_kind_of_indirect_branch() {
    let bytes = compile(true);
    let module = kiln_tests::load(&bytes).unwrap();
    let mut store = Store::new(());
    let mut linker = Linker::new();
    linker.define("host", "twice", Func::wrap(&mut store, |x: i32| x * 2)).unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let dispatch = instance.get_typed_func::<(i32, i32), i32>(&mut store, "dispatch").unwrap();
    let switch = instance.get_typed_func::<i32, i32>(&mut store, "switch").unwrap();
    for round in 0..100 {
        assert_eq!(dispatch.call(&mut store, (0, round)).unwrap(), round + 1);
        assert_eq!(dispatch.call(&mut store, (1, round)).unwrap(), round - 1);
        assert_eq!(dispatch.call(&mut store, (2, round)).unwrap(), round * 2);
        for (i, expected) in [10, 20, 30, 40, 40].into_iter().enumerate() {
            assert_eq!(switch.call(&mut store, i as i32).unwrap(), expected);
        }
    }
}

/// On aarch64 the setting is what puts the pads there: every function and
/// trampoline of the text starts with `bti c` (or more of them appear
/// than without it).
#[test]
fn landing_pads_are_emitted_for_aarch64_only() {
    const BTI_C: [u8; 4] = [0x5f, 0x24, 0x03, 0xd5];
    let count = |bytes: &[u8]| {
        let text = &bytes[kiln_tests::section_range(bytes, ".text")];
        text.chunks_exact(4).filter(|w| *w == BTI_C).count()
    };
    let (with, without) = (compile(true), compile(false));
    if cfg!(target_arch = "aarch64") {
        // 4 functions and 2 array trampolines and 1 host trampoline, at
        // least, plus the br_table targets.
        assert!(count(&with) >= 7 && count(&without) == 0, "{} / {}", count(&with), count(&without));
    } else {
        assert_eq!(with, without, "branch protection changes nothing on this architecture");
    }
}
