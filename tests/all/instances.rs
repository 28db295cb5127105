//! Instances, linking and the state they share: imported and exported
//! memories, tables and globals; segments; growth.

use kiln::{Extern, Global, GlobalType, Instance, Linker, Memory, MemoryType, Store, Val, ValType};
use kiln_tests::{instantiate, module};

#[test]
fn globals_mutable_and_imported() {
    let m = module(
        r#"(module
          (import "env" "base" (global $base i32))
          (global $counter (export "counter") (mut i64) (i64.const 5))
          (global $derived (export "derived") i32 (global.get $base))
          (func (export "bump") (result i64)
            (global.set $counter (i64.add (global.get $counter) (i64.extend_i32_s (global.get $base))))
            (global.get $counter)))"#,
    );
    let mut store = Store::new(());
    let base = Global::new(&mut store, GlobalType { content: ValType::I32, mutable: false }, Val::I32(10)).unwrap();
    let mut linker = Linker::new();
    linker.define("env", "base", base).unwrap();
    let instance = linker.instantiate(&mut store, &m).unwrap();
    let bump = instance.get_typed_func::<(), i64>(&mut store, "bump").unwrap();
    assert_eq!(bump.call(&mut store, ()).unwrap(), 15);
    let counter = instance.get_global(&mut store, "counter").unwrap();
    assert_eq!(counter.get(&mut store), Val::I64(15));
    counter.set(&mut store, Val::I64(100)).unwrap();
    assert_eq!(bump.call(&mut store, ()).unwrap(), 110);
    assert_eq!(instance.get_global(&mut store, "derived").unwrap().get(&mut store), Val::I32(10));
    assert!(instance.get_global(&mut store, "derived").unwrap().set(&mut store, Val::I32(1)).is_err());
}

#[test]
fn memory_grow_and_size() {
    let (mut store, instance) = instantiate(
        r#"(module
          (memory (export "mem") 1 3)
          (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
          (func (export "size") (result i32) memory.size)
          (func (export "peek") (param i32) (result i32) (i32.load8_u (local.get 0)))
          (func (export "poke") (param i32 i32) (i32.store8 (local.get 0) (local.get 1))))"#,
    );
    let grow = instance.get_typed_func::<i32, i32>(&mut store, "grow").unwrap();
    let size = instance.get_typed_func::<(), i32>(&mut store, "size").unwrap();
    let poke = instance.get_typed_func::<(i32, i32), ()>(&mut store, "poke").unwrap();
    let peek = instance.get_typed_func::<i32, i32>(&mut store, "peek").unwrap();
    assert_eq!(size.call(&mut store, ()).unwrap(), 1);
    assert!(poke.call(&mut store, (70000, 1)).is_err());
    assert_eq!(grow.call(&mut store, 1).unwrap(), 1);
    assert_eq!(size.call(&mut store, ()).unwrap(), 2);
    poke.call(&mut store, (70000, 9)).unwrap();
    assert_eq!(peek.call(&mut store, 70000).unwrap(), 9);
    assert_eq!(grow.call(&mut store, 2).unwrap(), -1, "past the maximum");
    assert_eq!(grow.call(&mut store, 1).unwrap(), 2);
    let mem = instance.get_memory(&mut store, "mem").unwrap();
    assert_eq!(mem.size(&mut store), 3);
    assert_eq!(mem.data(&store)[70000], 9);
}

#[test]
fn memory_shared_between_instances() {
    let mut store = Store::new(());
    let memory = Memory::new(&mut store, MemoryType::new(1, None)).unwrap();
    let writer = module(
        r#"(module (import "env" "mem" (memory 1)) (data (i32.const 4) "\2a")
           (func (export "write") (param i32 i32) (i32.store (local.get 0) (local.get 1))))"#,
    );
    let reader = module(
        r#"(module (import "env" "mem" (memory 1)) (func (export "read") (param i32) (result i32) (i32.load (local.get 0))))"#,
    );
    let w = Instance::new(&mut store, &writer, &[Extern::Memory(memory)]).unwrap();
    let r = Instance::new(&mut store, &reader, &[Extern::Memory(memory)]).unwrap();
    let read = r.get_typed_func::<i32, i32>(&mut store, "read").unwrap();
    assert_eq!(read.call(&mut store, 4).unwrap(), 42);
    w.get_typed_func::<(i32, i32), ()>(&mut store, "write").unwrap().call(&mut store, (8, 1234)).unwrap();
    assert_eq!(read.call(&mut store, 8).unwrap(), 1234);
    memory.grow(&mut store, 1).unwrap();
    assert_eq!(read.call(&mut store, 65536 + 8).unwrap(), 0, "growth is visible to importers");
}

#[test]
fn tables_shared_and_call_indirect_across_modules() {
    let mut store = Store::new(());
    let provider = module(
        r#"(module
          (table (export "tab") 2 funcref)
          (func $seven (result i32) i32.const 7)
          (func $add (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
          (elem (i32.const 0) $seven $add))"#,
    );
    let user = module(
        r#"(module
          (import "p" "tab" (table 2 funcref))
          (type $r (func (result i32)))
          (type $a (func (param i32 i32) (result i32)))
          (func (export "seven") (result i32) (call_indirect (type $r) (i32.const 0)))
          (func (export "add") (param i32 i32) (result i32) (call_indirect (type $a) (local.get 0) (local.get 1) (i32.const 1)))
          (func (export "wrong") (result i32) (call_indirect (type $r) (i32.const 1))))"#,
    );
    let p = Instance::new(&mut store, &provider, &[]).unwrap();
    let mut linker = Linker::new();
    linker.instance(&mut store, "p", p).unwrap();
    let u = linker.instantiate(&mut store, &user).unwrap();
    assert_eq!(u.get_typed_func::<(), i32>(&mut store, "seven").unwrap().call(&mut store, ()).unwrap(), 7);
    assert_eq!(u.get_typed_func::<(i32, i32), i32>(&mut store, "add").unwrap().call(&mut store, (2, 3)).unwrap(), 5);
    let err = u.get_typed_func::<(), i32>(&mut store, "wrong").unwrap().call(&mut store, ()).unwrap_err();
    assert_eq!(err.trap().unwrap().code(), kiln::TrapCode::BadSignature);
    let tab = p.get_table(&mut store, "tab").unwrap();
    assert_eq!(tab.size(&mut store), 2);
    assert!(matches!(tab.get(&mut store, 0), Some(Val::FuncRef(Some(_)))));
}

#[test]
fn passive_segments_and_bulk_memory() {
    let (mut store, instance) = instantiate(
        r#"(module
          (memory 1)
          (data $d "hello")
          (func (export "init") (param i32) (memory.init $d (local.get 0) (i32.const 0) (i32.const 5)))
          (func (export "drop") (data.drop $d))
          (func (export "fill") (param i32 i32 i32) (memory.fill (local.get 0) (local.get 1) (local.get 2)))
          (func (export "copy") (param i32 i32 i32) (memory.copy (local.get 0) (local.get 1) (local.get 2)))
          (func (export "get") (param i32) (result i32) (i32.load8_u (local.get 0))))"#,
    );
    let init = instance.get_typed_func::<i32, ()>(&mut store, "init").unwrap();
    let get = instance.get_typed_func::<i32, i32>(&mut store, "get").unwrap();
    let copy = instance.get_typed_func::<(i32, i32, i32), ()>(&mut store, "copy").unwrap();
    let fill = instance.get_typed_func::<(i32, i32, i32), ()>(&mut store, "fill").unwrap();
    init.call(&mut store, 10).unwrap();
    assert_eq!(get.call(&mut store, 14).unwrap(), b'o' as i32);
    copy.call(&mut store, (20, 10, 5)).unwrap();
    assert_eq!(get.call(&mut store, 20).unwrap(), b'h' as i32);
    fill.call(&mut store, (0, 0xab, 4)).unwrap();
    assert_eq!(get.call(&mut store, 3).unwrap(), 0xab);
    assert!(fill.call(&mut store, (65535, 0, 2)).is_err());
    assert!(init.call(&mut store, 65534).is_err());
    instance.get_typed_func::<(), ()>(&mut store, "drop").unwrap().call(&mut store, ()).unwrap();
    let err = init.call(&mut store, 0).unwrap_err();
    assert_eq!(err.trap().unwrap().code(), kiln::TrapCode::MemoryOutOfBounds);
}

#[test]
fn out_of_bounds_active_segment_fails_instantiation() {
    let m = module(r#"(module (memory 1) (data (i32.const 65535) "ab"))"#);
    let mut store = Store::new(());
    let err = Instance::new(&mut store, &m, &[]).unwrap_err();
    assert_eq!(err.trap().unwrap().code(), kiln::TrapCode::MemoryOutOfBounds);
}

#[test]
fn store_limits_cap_growth_and_counts() {
    let m = module(
        r#"(module
          (memory (export "mem") 1)
          (table 1 funcref)
          (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
          (func (export "tgrow") (param i32) (result i32) (table.grow (ref.null func) (local.get 0))))"#,
    );
    let mut store = Store::new(());
    store.set_limits(kiln::StoreLimits {
        memory_size: 3 * 65536,
        table_elements: 10,
        instances: 2,
        ..Default::default()
    });
    let i = Instance::new(&mut store, &m, &[]).unwrap();
    let grow = i.get_typed_func::<i32, i32>(&mut store, "grow").unwrap();
    assert_eq!(grow.call(&mut store, 2).unwrap(), 1);
    assert_eq!(grow.call(&mut store, 1).unwrap(), -1, "past the store's memory cap");
    let mem = i.get_memory(&mut store, "mem").unwrap();
    assert!(mem.grow(&mut store, 1).is_err());
    let tgrow = i.get_typed_func::<i32, i32>(&mut store, "tgrow").unwrap();
    assert_eq!(tgrow.call(&mut store, 9).unwrap(), 1);
    assert_eq!(tgrow.call(&mut store, 1).unwrap(), -1, "past the store's table cap");
    Instance::new(&mut store, &m, &[]).unwrap();
    let e = Instance::new(&mut store, &m, &[]).unwrap_err();
    assert!(e.to_string().contains("at most 2 instances"), "{e}");

    let big = module(r#"(module (memory 4))"#);
    let mut store = Store::new(());
    store.set_limits(kiln::StoreLimits { memory_size: 65536, ..Default::default() });
    let e = Instance::new(&mut store, &big, &[]).unwrap_err();
    assert!(e.to_string().contains("exceeds the limit"), "{e}");
}

#[test]
fn one_byte_pages_are_counted_in_bytes() {
    let wasm = wat::parse_str(
        r#"(module
          (memory (export "mem") 10 (pagesize 1))
          (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
          (func (export "size") (result i32) memory.size)
          (func (export "peek") (param i32) (result i32) (i32.load8_u (local.get 0))))"#,
    )
    .unwrap();
    let mut config = kiln_tests::config();
    config.wasm_custom_page_sizes(true);
    let m = kiln_tests::load(&kiln_build::compile(&wasm, &config).unwrap()).unwrap();
    let mut store = Store::new(());
    store.set_limits(kiln::StoreLimits { memory_size: 100, ..Default::default() });
    let i = Instance::new(&mut store, &m, &[]).unwrap();
    let grow = i.get_typed_func::<i32, i32>(&mut store, "grow").unwrap();
    let size = i.get_typed_func::<(), i32>(&mut store, "size").unwrap();
    let peek = i.get_typed_func::<i32, i32>(&mut store, "peek").unwrap();
    assert_eq!(grow.call(&mut store, 50).unwrap(), 10);
    assert_eq!(size.call(&mut store, ()).unwrap(), 60);
    assert_eq!(peek.call(&mut store, 59).unwrap(), 0);
    // The byte just past the end shares a host page with the last one, and
    // still traps: every access to such a memory is checked.
    assert!(peek.call(&mut store, 60).unwrap_err().trap().is_some());
    assert_eq!(grow.call(&mut store, 41).unwrap(), -1, "101 bytes: past the store's cap");
    assert_eq!(grow.call(&mut store, 40).unwrap(), 60);
    let mem = i.get_memory(&mut store, "mem").unwrap();
    assert_eq!((mem.size(&mut store), mem.data_size(&mut store)), (100, 100));
}

#[test]
fn handles_of_another_store_are_refused() {
    let m = module(r#"(module (memory (export "mem") 1) (global (export "g") (mut i32) (i32.const 1)))"#);
    let mut a = Store::new(());
    let mut b = Store::new(());
    let ia = Instance::new(&mut a, &m, &[]).unwrap();
    Instance::new(&mut b, &m, &[]).unwrap();
    let mem = ia.get_memory(&mut a, "mem").unwrap();
    let g = ia.get_global(&mut a, "g").unwrap();
    assert_eq!(mem.write(&mut b, 0, b"x").unwrap_err().kind(), kiln::ErrorKind::WrongStore);
    assert_eq!(g.set(&mut b, Val::I32(2)).unwrap_err().kind(), kiln::ErrorKind::WrongStore);
    assert!(ia.get_export(&mut b, "mem").is_none());
    let size = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| mem.size(&mut b)));
    assert!(size.is_err(), "a foreign handle never reads another store's memory");
}

#[test]
fn active_data_segments_are_dropped_after_instantiation() {
    let (mut store, instance) = instantiate(
        r#"(module
          (memory 1)
          (data $d (i32.const 0) "abc")
          (func (export "init") (param i32) (memory.init $d (i32.const 100) (i32.const 0) (local.get 0))))"#,
    );
    let init = instance.get_typed_func::<i32, ()>(&mut store, "init").unwrap();
    init.call(&mut store, 0).unwrap();
    let err = init.call(&mut store, 1).unwrap_err();
    assert_eq!(err.trap().unwrap().code(), kiln::TrapCode::MemoryOutOfBounds);
}

/// The expected contents of the images test's memory: its two segments
/// over zeros.
fn image_contents(len: usize) -> Vec<u8> {
    let mut want = vec![0u8; len];
    want[5..10].copy_from_slice(b"first");
    want[65536 + 100..65536 + 106].copy_from_slice(b"second");
    want
}

#[test]
fn every_instance_starts_from_the_data_segments() {
    // Constant, in-bounds segments: instances map the module's memory image
    // instead of copying, and reused memories must not leak what an
    // earlier instance wrote.
    let m = module(
        r#"(module
          (memory (export "mem") 2 4)
          (data (i32.const 5) "first")
          (data (i32.const 65636) "second")
          (func (export "poke") (param i32 i32) (i32.store8 (local.get 0) (local.get 1)))
          (func (export "peek") (param i32) (result i32) (i32.load8_u (local.get 0)))
          (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"#,
    );
    for round in 0..4 {
        let mut store = Store::new(());
        for _ in 0..2 {
            let i = Instance::new(&mut store, &m, &[]).unwrap();
            let mem = i.get_memory(&mut store, "mem").unwrap();
            assert_eq!(mem.size(&mut store), 2, "round {round}");
            assert!(mem.data(&store) == &image_contents(2 * 65536)[..], "round {round}: stale or missing bytes");
            let poke = i.get_typed_func::<(i32, i32), ()>(&mut store, "poke").unwrap();
            let peek = i.get_typed_func::<i32, i32>(&mut store, "peek").unwrap();
            assert_eq!(peek.call(&mut store, 6).unwrap(), b'i' as i32);
            poke.call(&mut store, (6, 0x77)).unwrap();
            poke.call(&mut store, (65536 + 101, 0x78)).unwrap();
            poke.call(&mut store, (1000, 0x79)).unwrap();
            assert_eq!(peek.call(&mut store, 6).unwrap(), 0x77, "writes over the image are the instance's own");
            assert_eq!(i.get_typed_func::<i32, i32>(&mut store, "grow").unwrap().call(&mut store, 1).unwrap(), 2);
            poke.call(&mut store, (2 * 65536 + 3, 0x7a)).unwrap();
            mem.data_mut(&mut store)[65536 + 102] = 0x7b;
            let mut want = image_contents(3 * 65536);
            for (at, byte) in [(6, 0x77), (65536 + 101, 0x78), (1000, 0x79), (2 * 65536 + 3, 0x7a), (65536 + 102, 0x7b)]
            {
                want[at] = byte;
            }
            assert!(mem.data(&store) == &want[..], "round {round}: the host and wasm see the same bytes");
        }
    }
}

#[test]
fn segments_into_an_imported_memory_are_copied() {
    // The exporter's memory has an image; the importer's segment must
    // still land in it, since images only ever hold a module's own
    // segments for its own memories.
    let exporter = module(r#"(module (memory (export "mem") 2) (data (i32.const 5) "first"))"#);
    let importer = module(
        r#"(module (import "env" "mem" (memory 1))
           (global $at (import "env" "at") i32)
           (data (i32.const 7) "XY")
           (data (global.get $at) "Z"))"#,
    );
    let mut store = Store::new(());
    let e = Instance::new(&mut store, &exporter, &[]).unwrap();
    let mem = e.get_memory(&mut store, "mem").unwrap();
    let at =
        Global::new(&mut store, GlobalType { content: ValType::I32, mutable: false }, Val::I32(65536 + 1)).unwrap();
    Instance::new(&mut store, &importer, &[Extern::Memory(mem), Extern::Global(at)]).unwrap();
    assert_eq!(&mem.data(&store)[5..10], b"fiXYt");
    assert_eq!(mem.data(&store)[65537], b'Z');

    // Out of bounds: the earlier segment is applied, then the trap.
    let far =
        Global::new(&mut store, GlobalType { content: ValType::I32, mutable: false }, Val::I32(2 * 65536)).unwrap();
    mem.write(&mut store, 7, b"..").unwrap();
    let err = Instance::new(&mut store, &importer, &[Extern::Memory(mem), Extern::Global(far)]).unwrap_err();
    assert_eq!(err.trap().unwrap().code(), kiln::TrapCode::MemoryOutOfBounds);
    assert_eq!(&mem.data(&store)[5..10], b"fiXYt");
}
