//! Typed bindings: `include_wasm!(mod name = "path")` generates a trait for
//! the module's host imports and a struct whose methods are its exports, with
//! the module's exact types (mismatches are compile errors: see
//! `compile_fail/bindings_*.rs`).

use kiln::{Caller, Linker, Memory, MemoryType, Store, Val};

kiln::include_wasm!(
    /// The greeter plugin.
    pub(crate) mod greeter = "fixtures/greeter.wat"
);
kiln::include_wasm!(mod adder = "fixtures/add.wat");
kiln::include_wasm!(mod imports_memory = "fixtures/imports_memory.wat");

#[derive(Default)]
struct Host {
    lines: Vec<String>,
}

impl greeter::Imports for Host {
    fn log(mut caller: Caller<'_, Self>, ptr: i32, len: i32) -> kiln::Result<()> {
        let memory = caller.get_export("memory").and_then(|e| e.into_memory()).unwrap();
        let mut bytes = vec![0; len as u32 as usize];
        memory.read(&mut caller, ptr as u32 as usize, &mut bytes)?;
        caller.data_mut().lines.push(String::from_utf8_lossy(&bytes).into_owned());
        Ok(())
    }

    fn scale(_caller: Caller<'_, Self>, by: i64, x: f64) -> kiln::Result<f64> {
        Ok(by as f64 * x)
    }

    fn fail(_caller: Caller<'_, Self>, code: i32) -> kiln::Result<()> {
        Err(kiln::Error::msg(format!("host refused with {code}")))
    }
}

#[test]
fn exports_are_typed_methods_and_imports_a_trait() {
    let mut store = Store::new(Host::default());
    let plugin = greeter::Greeter::instantiate(&mut store).unwrap();

    let ptr: i32 = plugin.alloc(&mut store, 4).unwrap();
    let memory: Memory = plugin.memory();
    memory.write(&mut store, ptr as usize, b"kiln").unwrap();
    assert_eq!(plugin.greet(&mut store, ptr, 4).unwrap(), 12);
    assert_eq!(store.data().lines, ["Hello, kiln!"]);

    // Names are sanitized: camelCase → snake_case, keywords → raw
    // identifiers, names of the struct's own functions → `_2`.
    let scaled: f64 = plugin.scale_by(&mut store, 3, 1.5).unwrap();
    assert_eq!(scaled, 4.5);
    let (q, r): (i32, i32) = plugin.div_mod(&mut store, 17, 5).unwrap();
    assert_eq!((q, r), (3, 2));
    assert_eq!(plugin.r#type(&mut store).unwrap(), 7);
    assert_eq!(plugin.r#type(&mut store).unwrap(), 7);
    let calls: i64 = plugin.instance_2(&mut store).unwrap();
    assert_eq!(calls, 2);

    // Globals are handles.
    assert_eq!(plugin.calls().get(&mut store), Val::I64(2));
    assert_eq!(plugin.version().get(&mut store), Val::I32(3));
    plugin.calls().set(&mut store, Val::I64(40)).unwrap();
    assert_eq!(plugin.instance_2(&mut store).unwrap(), 40);

    // The escape hatch reaches every export by its wasm name.
    let by_name = plugin.instance().get_typed_func::<(i32, i32), (i32, i32)>(&mut store, "divMod").unwrap();
    assert_eq!(by_name.call(&mut store, (9, 4)).unwrap(), (2, 1));
}

#[test]
fn host_errors_and_traps_come_back_as_errors() {
    let mut store = Store::new(Host::default());
    let plugin = greeter::Greeter::instantiate(&mut store).unwrap();
    let err = plugin.fail(&mut store, 7).unwrap_err();
    assert!(err.to_string().contains("host refused with 7") || err.trap().is_some(), "{err}");
    let err = plugin.div_mod(&mut store, 1, 0).unwrap_err();
    assert!(err.trap().is_some(), "{err}");
    // The instance is still usable.
    assert_eq!(plugin.div_mod(&mut store, 9, 3).unwrap(), (3, 0));
}

#[test]
fn the_module_is_loaded_once_and_instances_are_independent() {
    let a = greeter::module().unwrap();
    let b = greeter::module().unwrap();
    assert_eq!(a.code_range(), b.code_range());
    assert!(a.is_in_place() && greeter::ARTIFACT.is_in_place());

    let mut store = Store::new(Host::default());
    let one = greeter::Greeter::instantiate(&mut store).unwrap();
    let two = greeter::Greeter::instantiate(&mut store).unwrap();
    one.r#type(&mut store).unwrap();
    assert_eq!(one.instance_2(&mut store).unwrap(), 1);
    assert_eq!(two.instance_2(&mut store).unwrap(), 0);
}

#[test]
fn a_host_function_can_call_back_through_the_bindings() {
    // Calls take any store context, so a `Caller` works as well as a `Store`.
    struct Reentrant(Option<adder::Adder>);
    impl greeter::Imports for Reentrant {
        fn log(_: Caller<'_, Self>, _: i32, _: i32) -> kiln::Result<()> {
            Ok(())
        }
        fn scale(mut caller: Caller<'_, Self>, by: i64, x: f64) -> kiln::Result<f64> {
            let adder = caller.data().0.expect("set before the call");
            let sum = adder.add(&mut caller, by as i32, 1)?;
            Ok(sum as f64 * x)
        }
        fn fail(_: Caller<'_, Self>, _: i32) -> kiln::Result<()> {
            Ok(())
        }
    }
    let mut store = Store::new(Reentrant(None));
    // A module without imports can be instantiated in any store.
    store.data_mut().0 = Some(adder::Adder::instantiate(&mut store).unwrap());
    let plugin = greeter::Greeter::instantiate(&mut store).unwrap();
    assert_eq!(plugin.scale_by(&mut store, 2, 10.0).unwrap(), 30.0);
}

#[test]
fn modules_importing_memories_go_through_a_linker() {
    // `imports_memory` imports a memory, so it has no `instantiate`: the
    // linker provides the memory, `add_to_linker` the functions.
    struct Counter(i32);
    impl imports_memory::Imports for Counter {
        fn bump(mut caller: Caller<'_, Self>, by: i32) -> kiln::Result<i32> {
            caller.data_mut().0 += by;
            Ok(caller.data().0)
        }
    }
    let mut store = Store::new(Counter(0));
    let memory = Memory::new(&mut store, MemoryType::new(1, None)).unwrap();
    let mut linker = Linker::new();
    linker.define("env", "memory", memory).unwrap();
    imports_memory::ImportsMemory::add_to_linker(&mut linker).unwrap();
    let plugin = imports_memory::ImportsMemory::instantiate_with(&mut store, &linker).unwrap();
    assert_eq!(plugin.store_bump(&mut store, 5).unwrap(), 5);
    assert_eq!(plugin.store_bump(&mut store, 2).unwrap(), 7);
    let mut word = [0; 4];
    memory.read(&mut store, 0, &mut word).unwrap();
    assert_eq!(i32::from_le_bytes(word), 7);
}

#[test]
fn exports_are_resolved_from_an_existing_instance() {
    let mut store = Store::new(());
    let instance = kiln::Instance::new(&mut store, &adder::module().unwrap(), &[]).unwrap();
    let plugin = adder::Adder::from_instance(&mut store, instance).unwrap();
    assert_eq!(plugin.add(&mut store, 40, 2).unwrap(), 42);
    assert_eq!(plugin.load(&mut store, 8).unwrap(), i32::from_le_bytes(*b"kiln"));
    assert_eq!(plugin.instance(), instance);
}

kiln::include_wasm!(mod wasi_greeter = "fixtures/wasi_greeter.wat");

#[test]
fn wasi_imports_come_from_kiln_wasi_and_the_rest_from_the_trait() {
    use kiln::wasi::{Pipe, WasiCtx, WasiCtxBuilder};
    struct State {
        wasi: WasiCtx,
    }
    // Only the non-WASI import is a method of the trait.
    impl wasi_greeter::Imports for State {
        fn name_len(_caller: Caller<'_, Self>) -> kiln::Result<i32> {
            Ok(16)
        }
    }
    let stdout = Pipe::new();
    let mut store = Store::new(State { wasi: WasiCtxBuilder::new().stdout(stdout.clone()).build() });
    let mut linker = Linker::new();
    kiln::wasi::add_to_linker(&mut linker, |s: &mut State| &mut s.wasi).unwrap();
    wasi_greeter::WasiGreeter::add_to_linker(&mut linker).unwrap();
    let plugin = wasi_greeter::WasiGreeter::instantiate_with(&mut store, &linker).unwrap();
    assert_eq!(plugin.run(&mut store, 1).unwrap(), 0, "errno");
    assert_eq!(stdout.contents(), b"hello from wasi\n");
}
