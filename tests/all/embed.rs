//! The macro path: `include_wasm!` → artifact in the binary's executable
//! section → `Module::new` runs the code in place.

use kiln::{Artifact, Instance, Module, Store};

static ADD: Artifact = kiln::include_wasm!("fixtures/add.wat");

fn maps() -> String {
    std::fs::read_to_string("/proc/self/maps").unwrap()
}

/// The line of /proc/self/maps whose range contains `addr`.
fn mapping_of(maps: &str, addr: usize) -> Option<String> {
    maps.lines()
        .find(|l| {
            let range = l.split_whitespace().next().unwrap();
            let (a, b) = range.split_once('-').unwrap();
            let (a, b) = (usize::from_str_radix(a, 16).unwrap(), usize::from_str_radix(b, 16).unwrap());
            (a..b).contains(&addr)
        })
        .map(str::to_owned)
}

#[test]
fn embedded_module_runs() {
    let module = Module::new(&ADD).unwrap();
    let mut store = Store::new(());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let add = instance.get_typed_func::<(i32, i32), i32>(&mut store, "add").unwrap();
    assert_eq!(add.call(&mut store, (40, 2)).unwrap(), 42);
    let load = instance.get_typed_func::<i32, i32>(&mut store, "load").unwrap();
    assert_eq!(load.call(&mut store, 8).unwrap(), i32::from_le_bytes(*b"kiln"));
}

#[test]
fn embedded_code_runs_in_place_from_the_binary_text() {
    assert!(ADD.is_in_place());
    let before = maps();
    let module = Module::new(&ADD).unwrap();
    let after = maps();
    assert!(module.is_in_place());

    // The code lies in a file-backed, read+execute mapping of this very
    // executable, not in an anonymous mapping.
    let code = module.code_range();
    let line = mapping_of(&after, code.start).expect("code is mapped");
    let exe = std::fs::read_link("/proc/self/exe").unwrap();
    assert!(line.contains("r-xp"), "code mapping is not r-x: {line}");
    assert!(line.ends_with(exe.to_str().unwrap()), "code is not in the executable's own mapping: {line}");
    assert_eq!(mapping_of(&after, code.end - 1), Some(line.clone()));

    // Loading mapped and protected nothing: the mappings covering the code
    // are unchanged (no mmap, no mprotect splitting them).
    assert_eq!(mapping_of(&before, code.start), Some(line));
    // (Other tests running in parallel may map code of their own, so only
    // the executable's mappings are compared.)
    let exe = exe.to_str().unwrap().to_owned();
    let exe_lines = |m: &str| m.lines().filter(|l| l.ends_with(&exe)).map(str::to_owned).collect::<Vec<_>>();
    assert_eq!(exe_lines(&before), exe_lines(&after), "the executable's mappings changed while loading");
}

#[test]
fn module_is_send_sync_and_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync + Clone>() {}
    assert_send_sync::<Module>();
    let module = Module::new(&ADD).unwrap();
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let module = module.clone();
            std::thread::spawn(move || {
                let mut store = Store::new(());
                let instance = Instance::new(&mut store, &module, &[]).unwrap();
                let add = instance.get_typed_func::<(i32, i32), i32>(&mut store, "add").unwrap();
                (0..1000).map(|i| add.call(&mut store, (i, t)).unwrap()).sum::<i32>()
            })
        })
        .collect();
    for (t, h) in handles.into_iter().enumerate() {
        assert_eq!(h.join().unwrap(), (0..1000).sum::<i32>() + 1000 * t as i32);
    }
}
