//! Fuel and epoch interruption: a runaway guest is stopped, the host goes on.

use kiln::{ErrorKind, Instance, Module, Store, TrapCode, UpdateDeadline};
use std::time::{Duration, Instant};

fn compile(wat: &str, fuel: bool, epoch: bool) -> Module {
    let wasm = wat::parse_str(wat).unwrap();
    let mut config = kiln_tests::config();
    config.consume_fuel(fuel).epoch_interruption(epoch);
    kiln_tests::load(&kiln_build::compile(&wasm, &config).unwrap()).unwrap()
}

const COUNT: &str = r#"(module
  (func (export "three") (result i32) i32.const 1 i32.const 2 i32.add)
  (func (export "count") (param $n i32) (result i32) (local $i i32)
    (loop $l
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $i))
  (func (export "spin") (loop $l (br $l))))"#;

#[test]
fn fuel_is_deterministic_and_refillable() {
    let module = compile(COUNT, true, false);
    let mut store = Store::new(());
    store.set_fuel(1000);
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let three = instance.get_typed_func::<(), i32>(&mut store, "three").unwrap();
    assert_eq!(three.call(&mut store, ()).unwrap(), 3);
    // i32.const, i32.const, i32.add: three units; `end` is free.
    assert_eq!(store.get_fuel(), Some(997));
    let count = instance.get_typed_func::<i32, i32>(&mut store, "count").unwrap();
    let before = store.get_fuel().unwrap();
    count.call(&mut store, 10).unwrap();
    let per_run = before - store.get_fuel().unwrap();
    store.set_fuel(1000);
    count.call(&mut store, 10).unwrap();
    assert_eq!(1000 - store.get_fuel().unwrap(), per_run, "same program, same fuel");

    let err = count.call(&mut store, 1_000_000).unwrap_err();
    assert_eq!(err.trap().map(|t| t.code()), Some(TrapCode::OutOfFuel));
    store.set_fuel(100_000_000);
    assert_eq!(count.call(&mut store, 1_000_000).unwrap(), 1_000_000, "refuelled, it runs again");
}

#[test]
fn fuel_stops_an_infinite_loop() {
    let module = compile(COUNT, true, false);
    let mut store = Store::new(());
    store.set_fuel(50_000);
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let spin = instance.get_typed_func::<(), ()>(&mut store, "spin").unwrap();
    assert_eq!(spin.call(&mut store, ()).unwrap_err().trap().unwrap().code(), TrapCode::OutOfFuel);
}

#[test]
fn epoch_stops_a_spinning_guest_from_another_thread() {
    let module = compile(COUNT, false, true);
    let mut store = Store::new(());
    store.set_epoch_deadline(1);
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let spin = instance.get_typed_func::<(), ()>(&mut store, "spin").unwrap();
    let epoch = store.epoch_counter();
    let bumped = std::sync::Arc::new(std::sync::OnceLock::new());
    let timer = {
        let bumped = bumped.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            let _ = bumped.set(Instant::now());
            epoch.increment();
        })
    };
    let err = spin.call(&mut store, ()).unwrap_err();
    let stopped = Instant::now();
    timer.join().unwrap();
    assert_eq!(err.trap().unwrap().code(), TrapCode::Interrupted);
    let latency = stopped.duration_since(*bumped.get().unwrap());
    println!("stopped {latency:?} after the deadline passed");
    // Generous: the point is that it stops, not how fast this machine is.
    assert!(latency < Duration::from_secs(1), "took {latency:?}");
}

#[test]
fn epoch_callback_extends_the_deadline() {
    let module = compile(COUNT, false, true);
    let mut store = Store::new(0u32);
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(|extensions: &mut u32| {
        *extensions += 1;
        if *extensions < 3 {
            UpdateDeadline::Continue(1)
        } else {
            UpdateDeadline::Interrupt
        }
    });
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let spin = instance.get_typed_func::<(), ()>(&mut store, "spin").unwrap();
    let epoch = store.epoch_counter();
    let timer = std::thread::spawn(move || {
        for _ in 0..100 {
            std::thread::sleep(Duration::from_millis(2));
            epoch.increment();
        }
    });
    let err = spin.call(&mut store, ()).unwrap_err();
    timer.join().unwrap();
    assert_eq!(err.trap().unwrap().code(), TrapCode::Interrupted);
    assert_eq!(*store.data(), 3);
}

#[test]
fn interruption_mode_must_match_the_store() {
    let plain = compile(COUNT, false, false);
    let fuelled = compile(COUNT, true, false);
    let mut store = Store::new(());
    let e = Instance::new(&mut store, &fuelled, &[]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Instantiation);
    assert!(e.to_string().contains("compiled with fuel metering"), "{e}");
    store.set_fuel(10);
    let e = Instance::new(&mut store, &plain, &[]).unwrap_err();
    assert!(e.to_string().contains("compiled without it"), "{e}");
    let mut store = Store::new(());
    store.set_epoch_deadline(5);
    let e = Instance::new(&mut store, &plain, &[]).unwrap_err();
    assert!(e.to_string().contains("epoch interruption"), "{e}");
}
