//! One test per trap code, through the real path (compile → bytes → load →
//! run), and the host staying healthy after many traps.

use kiln::{Error, Func, Linker, Store, TrapCode, Val};
use kiln_tests::{instantiate, module};

fn trap_of(e: Error) -> TrapCode {
    e.trap().unwrap_or_else(|| panic!("expected a trap, got {e}")).code()
}

fn call_trap(wat: &str, name: &str, args: &[Val]) -> TrapCode {
    let (mut store, instance) = instantiate(wat);
    let f = instance.get_func(&mut store, name).expect("export");
    let mut results = vec![Val::I32(0); f.ty(&mut store).results.len()];
    trap_of(f.call(&mut store, args, &mut results).expect_err("must trap"))
}

const ARITH: &str = r#"(module
  (func (export "unreachable") unreachable)
  (func (export "div_s") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
  (func (export "div_u64") (param i64 i64) (result i64) (i64.div_u (local.get 0) (local.get 1)))
  (func (export "rem_s") (param i32 i32) (result i32) (i32.rem_s (local.get 0) (local.get 1)))
  (func (export "trunc") (param f32) (result i32) (i32.trunc_f32_s (local.get 0)))
  (func (export "trunc64") (param f64) (result i64) (i64.trunc_f64_u (local.get 0)))
)"#;

#[test]
fn unreachable() {
    assert_eq!(call_trap(ARITH, "unreachable", &[]), TrapCode::UnreachableCodeReached);
}

#[test]
fn integer_divide_by_zero() {
    assert_eq!(call_trap(ARITH, "div_s", &[Val::I32(1), Val::I32(0)]), TrapCode::IntegerDivisionByZero);
    assert_eq!(call_trap(ARITH, "div_u64", &[Val::I64(1), Val::I64(0)]), TrapCode::IntegerDivisionByZero);
    assert_eq!(call_trap(ARITH, "rem_s", &[Val::I32(1), Val::I32(0)]), TrapCode::IntegerDivisionByZero);
}

#[test]
fn integer_overflow() {
    assert_eq!(call_trap(ARITH, "div_s", &[Val::I32(i32::MIN), Val::I32(-1)]), TrapCode::IntegerOverflow);
    assert_eq!(call_trap(ARITH, "trunc", &[Val::from(3e10f32)]), TrapCode::IntegerOverflow);
    assert_eq!(call_trap(ARITH, "trunc64", &[Val::from(-1.5f64)]), TrapCode::IntegerOverflow);
}

#[test]
fn rem_of_min_by_minus_one_is_zero() {
    let (mut store, instance) = instantiate(ARITH);
    let rem = instance.get_typed_func::<(i32, i32), i32>(&mut store, "rem_s").unwrap();
    assert_eq!(rem.call(&mut store, (i32::MIN, -1)).unwrap(), 0);
}

#[test]
fn invalid_conversion() {
    assert_eq!(call_trap(ARITH, "trunc", &[Val::from(f32::NAN)]), TrapCode::BadConversionToInteger);
}

const MEMORY: &str = r#"(module
  (memory 1)
  (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "load_far") (param i32) (result i64) (i64.load offset=0xfffffff0 (local.get 0)))
  (func (export "store") (param i32) (i32.store8 (local.get 0) (i32.const 7)))
)"#;

#[test]
fn out_of_bounds_load_and_store() {
    assert_eq!(call_trap(MEMORY, "load", &[Val::I32(65536)]), TrapCode::MemoryOutOfBounds);
    assert_eq!(call_trap(MEMORY, "load", &[Val::I32(65533)]), TrapCode::MemoryOutOfBounds);
    assert_eq!(call_trap(MEMORY, "load", &[Val::I32(-1)]), TrapCode::MemoryOutOfBounds);
    assert_eq!(call_trap(MEMORY, "load_far", &[Val::I32(0x100)]), TrapCode::MemoryOutOfBounds);
    assert_eq!(call_trap(MEMORY, "store", &[Val::I32(65536)]), TrapCode::MemoryOutOfBounds);
    let (mut store, instance) = instantiate(MEMORY);
    let load = instance.get_typed_func::<i32, i32>(&mut store, "load").unwrap();
    assert_eq!(load.call(&mut store, 65532).unwrap(), 0);
}

const TABLE: &str = r#"(module
  (type $v (func))
  (type $i (func (result i32)))
  (table 4 funcref)
  (elem (i32.const 0) $f)
  (func $f (result i32) i32.const 7)
  (func (export "call") (param i32) (result i32) (call_indirect (type $i) (local.get 0)))
  (func (export "call_wrong") (param i32) (call_indirect (type $v) (local.get 0)))
)"#;

#[test]
fn indirect_calls() {
    let (mut store, instance) = instantiate(TABLE);
    let call = instance.get_typed_func::<i32, i32>(&mut store, "call").unwrap();
    assert_eq!(call.call(&mut store, 0).unwrap(), 7);
    assert_eq!(call_trap(TABLE, "call", &[Val::I32(1)]), TrapCode::IndirectCallToNull);
    assert_eq!(call_trap(TABLE, "call", &[Val::I32(4)]), TrapCode::TableOutOfBounds);
    assert_eq!(call_trap(TABLE, "call", &[Val::I32(-1)]), TrapCode::TableOutOfBounds);
    assert_eq!(call_trap(TABLE, "call_wrong", &[Val::I32(0)]), TrapCode::BadSignature);
}

#[test]
fn stack_overflow() {
    let wat = r#"(module
      (func $r (export "r") (param i32) (result i32)
        (i32.add (call $r (i32.add (local.get 0) (i32.const 1))) (i32.const 1))))"#;
    assert_eq!(call_trap(wat, "r", &[Val::I32(0)]), TrapCode::StackOverflow);
    // And the host thread is fine afterwards: do it again.
    assert_eq!(call_trap(wat, "r", &[Val::I32(0)]), TrapCode::StackOverflow);
}

#[derive(Debug)]
struct Refused(u32);
impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "refused {}", self.0)
    }
}
impl std::error::Error for Refused {}

const CALLS_HOST: &str = r#"(module
  (import "host" "f" (func $f (param i32) (result i32)))
  (func (export "run") (param i32) (result i32) (i32.add (call $f (local.get 0)) (i32.const 1))))"#;

#[test]
fn host_function_error() {
    let module = module(CALLS_HOST);
    let mut store = Store::new(0u32);
    let mut linker = Linker::new();
    linker
        .func_wrap("host", "f", |x: i32| -> Result<i32, Refused> {
            if x < 0 {
                Err(Refused(x as u32))
            } else {
                Ok(x * 2)
            }
        })
        .unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let run = instance.get_typed_func::<i32, i32>(&mut store, "run").unwrap();
    assert_eq!(run.call(&mut store, 20).unwrap(), 41);
    let err = run.call(&mut store, -3).unwrap_err();
    assert_eq!(err.trap().map(|t| t.code()), Some(TrapCode::HostError));
    assert_eq!(err.downcast_ref::<Refused>().map(|r| r.0), Some(-3i32 as u32));
    assert_eq!(run.call(&mut store, 1).unwrap(), 3, "the instance still works");
}

#[test]
fn host_function_panic_is_resumed_in_the_host() {
    let module = module(CALLS_HOST);
    let mut store = Store::new(());
    let mut linker = Linker::new();
    linker
        .func_wrap("host", "f", |x: i32| -> i32 {
            if x == 13 {
                panic!("unlucky")
            } else {
                x
            }
        })
        .unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let run = instance.get_typed_func::<i32, i32>(&mut store, "run").unwrap();
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run.call(&mut store, 13)));
    let payload = caught.expect_err("the panic crosses back into the host");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"unlucky"));
    assert_eq!(run.call(&mut store, 1).unwrap(), 2, "the store still works");
}

#[test]
fn ten_thousand_traps_leave_the_host_healthy() {
    let (mut store, instance) = instantiate(ARITH);
    let (mut mstore, minstance) = instantiate(MEMORY);
    let unreachable = instance.get_func(&mut store, "unreachable").unwrap();
    let div = instance.get_typed_func::<(i32, i32), i32>(&mut store, "div_s").unwrap();
    let load = minstance.get_typed_func::<i32, i32>(&mut mstore, "load").unwrap();
    for i in 0..10_000 {
        match i % 3 {
            0 => assert_eq!(
                trap_of(unreachable.call(&mut store, &[], &mut []).unwrap_err()),
                TrapCode::UnreachableCodeReached
            ),
            1 => assert_eq!(trap_of(div.call(&mut store, (i, 0)).unwrap_err()), TrapCode::IntegerDivisionByZero),
            _ => assert_eq!(trap_of(load.call(&mut mstore, 70000 + i).unwrap_err()), TrapCode::MemoryOutOfBounds),
        }
    }
    assert_eq!(div.call(&mut store, (84, 2)).unwrap(), 42);
}

#[test]
fn trap_in_start_function_fails_instantiation() {
    let m = module(r#"(module (func $s unreachable) (start $s))"#);
    let mut store = Store::new(());
    let err = kiln::Instance::new(&mut store, &m, &[]).unwrap_err();
    assert_eq!(trap_of(err), TrapCode::UnreachableCodeReached);
}

#[test]
fn trap_reports_the_function() {
    let (mut store, instance) = instantiate(r#"(module (func $boom (export "boom") unreachable))"#);
    let f: Func = instance.get_func(&mut store, "boom").unwrap();
    let err = f.call(&mut store, &[], &mut []).unwrap_err();
    let trap = err.trap().unwrap();
    assert_eq!(trap.frames().first().map(|f| f.func_index), Some(0));
    assert_eq!(trap.frames().first().and_then(|f| f.func_name.clone()).as_deref(), Some("boom"));
}

#[test]
fn alternate_form_prints_the_whole_backtrace() {
    let (mut store, instance) = instantiate(
        r#"(module $plugin
             (memory 1)
             (func $inner (i32.store (i32.const 70000) (i32.const 1)))
             (func $middle (call $inner))
             (func (export "outer") (call $middle)))"#,
    );
    let f = instance.get_func(&mut store, "outer").unwrap();
    let err = f.call(&mut store, &[], &mut []).unwrap_err();
    let one_line = err.to_string();
    assert!(!one_line.contains('\n') && one_line.contains("`inner`"), "{one_line}");
    let full = format!("{err:#}");
    let lines: Vec<&str> = full.lines().collect();
    assert_eq!(lines.len(), 5, "{full}");
    assert_eq!((lines[0], lines[1]), (one_line.as_str(), "wasm backtrace:"));
    for (line, (i, name)) in lines[2..].iter().zip([(0, "plugin!inner"), (1, "plugin!middle"), (2, "plugin!outer")]) {
        // `  0: 0x2d - plugin!inner`: index, wasm offset, module!function.
        let (index, rest) = line.trim_start().split_once(": ").unwrap();
        assert_eq!(index, i.to_string(), "{full}");
        assert!(rest.starts_with("0x") && rest.ends_with(&format!(" - {name}")), "{full}");
    }
}

/// Every frame's wasm offset lies in its own function, whatever code
/// Cranelift puts before the first operator (prologue, stack check, entry
/// interruption checks) or duplicates from it: with epoch checks compiled
/// in, riscv64 and s390x once reported the `unreachable` of the second
/// function at the `end` of the first.
#[test]
fn trap_offsets_stay_in_the_trapping_function() {
    let wat = r#"(module
      (func (export "deep") (param i32) (result i32)
        (i32.add (call 0 (local.get 0)) (i32.const 1)))
      (func (export "a") (result i32) i32.const 1)
      (func (export "b") unreachable))"#;
    let wasm = wat::parse_str(wat).unwrap();
    // The module ends with b's body: `unreachable`, `end`; a's body (size
    // 4, no locals, `i32.const 1`, `end`) follows the first function's.
    let unreachable_at = wasm.len() as u32 - 2;
    let a_at = wasm.windows(5).position(|w| w == [4, 0, 0x41, 1, 0x0b]).expect("a's body") as u32;
    for epoch in [false, true] {
        let mut config = kiln_tests::config();
        config.epoch_interruption(epoch);
        let module = kiln_tests::load(&kiln_build::compile(&wasm, &config).unwrap()).unwrap();
        let mut store = Store::new(());
        if epoch {
            store.set_epoch_deadline(u64::MAX);
        }
        let instance = kiln::Instance::new(&mut store, &module, &[]).unwrap();
        let b = instance.get_typed_func::<(), ()>(&mut store, "b").unwrap();
        let err = b.call(&mut store, ()).unwrap_err();
        let trap = err.trap().expect("a trap");
        let top = &trap.frames()[0];
        assert_eq!((top.func_index, top.wasm_offset), (2, Some(unreachable_at)), "epoch {epoch}: {trap:?}");

        // A stack overflow traps in the prologue, before any operator.
        let deep = instance.get_typed_func::<i32, i32>(&mut store, "deep").unwrap();
        let err = deep.call(&mut store, 0).unwrap_err();
        let trap = err.trap().expect("a trap");
        assert_eq!(trap.code(), TrapCode::StackOverflow);
        for frame in trap.frames() {
            assert_eq!(frame.func_index, 0, "epoch {epoch}: {trap:?}");
            let offset = frame.wasm_offset.expect("every frame has an offset");
            assert!(offset < a_at, "epoch {epoch}: {offset:#x} is past the first function: {trap:?}");
        }
    }
}

#[test]
fn a_memory_fault_names_the_wasm_address_and_the_memory_size() {
    let (mut store, instance) = instantiate(
        r#"(module (memory 1 3)
             (func (export "load") (param i32) (result i32) (i32.load offset=8 (local.get 0)))
             (func (export "grow") (result i32) (memory.grow (i32.const 1))))"#,
    );
    let load = instance.get_typed_func::<i32, i32>(&mut store, "load").unwrap();
    let e = load.call(&mut store, 0x1_0000).unwrap_err();
    let trap = e.trap().unwrap();
    assert_eq!(trap.code(), TrapCode::MemoryOutOfBounds);
    if cfg!(target_arch = "s390x") {
        // The hardware reports the faulting page, not the address.
        assert_eq!(trap.memory_fault(), None);
        return;
    }
    let fault = trap.memory_fault().expect("a guard-page fault knows its address");
    assert_eq!((fault.address, fault.memory_size), (0x1_0008, 0x1_0000));
    assert!(e.to_string().contains("wasm address 0x10008 in a linear memory of 0x10000 bytes"), "{e}");
    // After growth the same access works, and one past the new end names
    // the new size.
    let grow = instance.get_typed_func::<(), i32>(&mut store, "grow").unwrap();
    assert_eq!(grow.call(&mut store, ()).unwrap(), 1);
    load.call(&mut store, 0x1_0000).unwrap();
    let e = load.call(&mut store, -4).unwrap_err();
    let fault = e.trap().unwrap().memory_fault().unwrap();
    assert_eq!((fault.address, fault.memory_size), (0xffff_fffc + 8, 0x2_0000));
}
