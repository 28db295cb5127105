//! Threads: one shared memory used by instances in several stores on
//! several OS threads — atomics that add up exactly, wait/notify that
//! really block and wake, growth every thread sees.

use kiln::{Linker, MemoryType, SharedMemory, Store, Val};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

const COUNTER: &str = r#"(module
  (import "env" "mem" (memory 1 2 shared))
  ;; Add 1 to the i32 at 0, `n` times, atomically; and (for contrast) to
  ;; the i64 at 8 with a compare-exchange loop.
  (func (export "count") (param $n i32)
    (local $old i64)
    (loop $next
      (if (i32.eqz (local.get $n)) (then return))
      (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
      (loop $retry
        (local.set $old (i64.atomic.load (i32.const 8)))
        (br_if $retry (i64.ne (local.get $old)
          (i64.atomic.rmw.cmpxchg (i32.const 8) (local.get $old) (i64.add (local.get $old) (i64.const 1))))))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $next)))
  (func (export "wait") (param $addr i32) (param $expected i32) (param $timeout i64) (result i32)
    (memory.atomic.wait32 (local.get $addr) (local.get $expected) (local.get $timeout)))
  (func (export "notify") (param $addr i32) (param $count i32) (result i32)
    (memory.atomic.notify (local.get $addr) (local.get $count)))
  (func (export "store") (param $addr i32) (param $v i32)
    (i32.atomic.store (local.get $addr) (local.get $v)))
  (func (export "size") (result i32) (memory.size))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "fill") (param i32 i32 i32) (memory.fill (local.get 0) (local.get 1) (local.get 2))))"#;

fn module() -> kiln::Module {
    let wasm = wat::parse_str(COUNTER).unwrap();
    let mut config = kiln_tests::config();
    config.wasm_threads(true);
    let artifact = kiln_build::compile(&wasm, &config).unwrap_or_else(|e| panic!("compile failed: {e}"));
    kiln_tests::load(&artifact).unwrap()
}

/// An instance of `module` in a store of its own, over `memory`.
fn instantiate_over(module: &kiln::Module, memory: &SharedMemory) -> (Store<()>, kiln::Instance) {
    let mut store = Store::new(());
    let mut linker = Linker::new();
    linker.define("env", "mem", memory.clone()).unwrap();
    let instance = linker.instantiate(&mut store, module).unwrap();
    (store, instance)
}

fn call(store: &mut Store<()>, instance: &kiln::Instance, name: &str, args: &[Val]) -> kiln::Result<Option<Val>> {
    let f = instance.get_func(&mut *store, name).unwrap();
    let mut out: Vec<Val> = f.ty(&mut *store).results.iter().map(|_| Val::I32(0)).collect();
    f.call(&mut *store, args, &mut out)?;
    Ok(out.first().copied())
}

#[test]
fn four_threads_increment_one_counter_exactly() {
    const PER_THREAD: i32 = 100_000;
    let module = module();
    let memory = SharedMemory::new(MemoryType::shared(1, 2)).unwrap();
    let start = Arc::new(Barrier::new(4));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (module, memory, start) = (module.clone(), memory.clone(), start.clone());
            std::thread::spawn(move || {
                let (mut store, instance) = instantiate_over(&module, &memory);
                start.wait();
                call(&mut store, &instance, "count", &[Val::I32(PER_THREAD)]).unwrap();
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let (mut counter, mut cas) = ([0; 4], [0; 8]);
    memory.read(0, &mut counter).unwrap();
    memory.read(8, &mut cas).unwrap();
    assert_eq!(i32::from_le_bytes(counter), 4 * PER_THREAD);
    assert_eq!(i64::from_le_bytes(cas), 4 * PER_THREAD as i64);
}

#[test]
fn wait_blocks_until_notify_from_another_thread() {
    let module = module();
    let memory = SharedMemory::new(MemoryType::shared(1, 2)).unwrap();
    let waiter = {
        let (module, memory) = (module.clone(), memory.clone());
        std::thread::spawn(move || {
            let (mut store, instance) = instantiate_over(&module, &memory);
            // Forever (-1): only a notify ends it.
            let r = call(&mut store, &instance, "wait", &[Val::I32(64), Val::I32(0), Val::I64(-1)]).unwrap();
            let mut flag = [0; 4];
            memory.read(68, &mut flag).unwrap();
            (r, flag)
        })
    };
    let (mut store, instance) = instantiate_over(&module, &memory);
    // Notify until the waiter was there to be woken (it may not be parked
    // yet); what it sees after waking was stored before the notify.
    call(&mut store, &instance, "store", &[Val::I32(68), Val::I32(7)]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let woken = call(&mut store, &instance, "notify", &[Val::I32(64), Val::I32(1)]).unwrap();
        if woken == Some(Val::I32(1)) {
            break;
        }
        assert!(Instant::now() < deadline, "the waiter never parked");
        std::thread::sleep(Duration::from_millis(1));
    }
    let (result, flag) = waiter.join().unwrap();
    assert_eq!(result, Some(Val::I32(0)), "woken by notify");
    assert_eq!(i32::from_le_bytes(flag), 7);

    // A value that differs returns at once; a timeout returns after it.
    assert_eq!(
        call(&mut store, &instance, "wait", &[Val::I32(64), Val::I32(1), Val::I64(-1)]).unwrap(),
        Some(Val::I32(1))
    );
    let before = Instant::now();
    let timed_out = call(&mut store, &instance, "wait", &[Val::I32(64), Val::I32(0), Val::I64(20_000_000)]).unwrap();
    assert_eq!(timed_out, Some(Val::I32(2)));
    assert!(before.elapsed() >= Duration::from_millis(20));
    // The host side of the same queue: a host waiter, woken by wasm.
    let host_waiter = {
        let memory = memory.clone();
        std::thread::spawn(move || memory.atomic_wait32(128, 0, Some(Duration::from_secs(60))).unwrap())
    };
    while call(&mut store, &instance, "notify", &[Val::I32(128), Val::I32(1)]).unwrap() != Some(Val::I32(1)) {
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(host_waiter.join().unwrap(), kiln::WaitResult::Ok);
    assert!(memory.atomic_wait32(2, 0, None).unwrap_err().to_string().contains("unaligned"));
}

#[test]
fn growth_is_seen_by_every_store() {
    let module = module();
    let memory = SharedMemory::new(MemoryType::shared(1, 2)).unwrap();
    let (mut a, ia) = instantiate_over(&module, &memory);
    let (mut b, ib) = instantiate_over(&module, &memory);
    assert_eq!(call(&mut b, &ib, "size", &[]).unwrap(), Some(Val::I32(1)));
    assert_eq!(call(&mut a, &ia, "grow", &[Val::I32(1)]).unwrap(), Some(Val::I32(1)));
    assert_eq!(call(&mut b, &ib, "size", &[]).unwrap(), Some(Val::I32(2)));
    assert_eq!(memory.size(), 2);
    // The new page is usable from the other store, and past it is not.
    call(&mut b, &ib, "fill", &[Val::I32(65536), Val::I32(0xab), Val::I32(65536)]).unwrap();
    let mut last = [0; 1];
    memory.read(2 * 65536 - 1, &mut last).unwrap();
    assert_eq!(last, [0xab]);
    let e = call(&mut b, &ib, "fill", &[Val::I32(65536), Val::I32(0), Val::I32(65537)]).unwrap_err();
    assert_eq!(e.trap().map(|t| t.code()), Some(kiln::TrapCode::MemoryOutOfBounds), "{e}");
    assert_eq!(call(&mut a, &ia, "grow", &[Val::I32(1)]).unwrap(), Some(Val::I32(-1)), "at the maximum");
    assert!(memory.grow(1).is_err());
}

#[test]
fn a_defined_shared_memory_is_exported_as_shared() {
    let wasm = wat::parse_str(
        r#"(module (memory (export "mem") 1 1 shared) (data (i32.const 4) "\2a")
             (func (export "load") (result i32) (i32.atomic.load8_u (i32.const 4))))"#,
    )
    .unwrap();
    let mut config = kiln_tests::config();
    config.wasm_threads(true);
    let exporter = kiln_tests::load(&kiln_build::compile(&wasm, &config).unwrap()).unwrap();
    let mut store = Store::new(());
    let instance = kiln::Instance::new(&mut store, &exporter, &[]).unwrap();
    assert!(instance.get_memory(&mut store, "mem").is_none(), "not a store-owned Memory");
    let shared = instance.get_shared_memory(&mut store, "mem").unwrap();
    let mut byte = [0; 1];
    shared.read(4, &mut byte).unwrap();
    assert_eq!(byte, [42]);
    // Another store, on another thread, imports it.
    let other = std::thread::spawn(move || {
        let (mut store, instance) = instantiate_over(&module(), &shared);
        call(&mut store, &instance, "store", &[Val::I32(4), Val::I32(99)]).unwrap();
    });
    other.join().unwrap();
    let load = instance.get_typed_func::<(), i32>(&mut store, "load").unwrap();
    assert_eq!(load.call(&mut store, ()).unwrap(), 99);
}

#[test]
fn shared_and_unshared_memories_do_not_link_to_each_other() {
    let module = module();
    let mut store = Store::new(());
    let mut linker = Linker::new();
    let unshared = kiln::Memory::new(&mut store, MemoryType::new(1, Some(2))).unwrap();
    linker.define("env", "mem", unshared).unwrap();
    let e = linker.instantiate(&mut store, &module).unwrap_err();
    assert_eq!(e.kind(), kiln::ErrorKind::Link, "{e}");
    assert!(e.to_string().contains("shared"), "{e}");
    assert!(SharedMemory::new(MemoryType::new(1, Some(2))).is_err(), "not a shared type");
    assert!(SharedMemory::new(MemoryType { limits: kiln::Limits { min: 1, max: None }, ..MemoryType::shared(1, 1) })
        .is_err());
}
