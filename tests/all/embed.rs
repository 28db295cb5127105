//! The macro path: `include_wasm!` → artifact in the binary's executable
//! section → `Module::new` runs the code in place.

use kiln::{Artifact, Instance, Module, Store};

static ADD: Artifact = kiln::include_wasm!("fixtures/add.wat");

#[cfg(unix)]
fn maps() -> String {
    std::fs::read_to_string("/proc/self/maps").unwrap()
}

/// The line of /proc/self/maps whose range contains `addr`.
#[cfg(unix)]
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

#[cfg(unix)]
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

/// Profilers and debuggers read the executable's symbol table: every wasm
/// function of an embedded module has a `kiln.<module>.<function>` symbol
/// there, at the address its code runs from.
#[cfg(target_os = "linux")]
#[test]
fn embedded_functions_have_symbols_in_the_executable() {
    use object::{Object, ObjectSymbol, SymbolKind};
    let exe = std::fs::read("/proc/self/exe").unwrap();
    let elf = object::File::parse(&*exe).unwrap();
    // `fixtures/add.wat` is embedded twice in this binary (see bindings.rs):
    // each copy has its symbols.
    let named = |name: &str| elf.symbols().filter(|s| s.name() == Ok(name)).collect::<Vec<_>>();
    let (adds, loads) = (named("kiln.add.add"), named("kiln.add.load"));
    assert!(!adds.is_empty() && !loads.is_empty(), "no kiln.add.* symbols");
    for s in adds.iter().chain(&loads) {
        assert_eq!(s.kind(), SymbolKind::Text, "{:?}", s.name());
        assert!(s.size() > 0, "{:?}", s.name());
    }
    // The load bias: where the executable's first page is mapped, less
    // the address its lowest segment asks for.
    use object::ObjectSegment;
    let lowest = elf.segments().map(|s| s.address()).min().unwrap() as usize & !0xfff;
    let exe_path = std::fs::read_link("/proc/self/exe").unwrap();
    let first = maps()
        .lines()
        .find(|l| l.ends_with(exe_path.to_str().unwrap()) && l.split_whitespace().nth(2) == Some("00000000"))
        .map(|l| usize::from_str_radix(l.split('-').next().unwrap(), 16).unwrap())
        .expect("the executable's first page is mapped");
    let bias = first.wrapping_sub(lowest);
    let code = Module::new(&ADD).unwrap().code_range();
    for symbols in [&adds, &loads] {
        let runs_here = symbols.iter().any(|s| {
            let at = (s.address() as usize).wrapping_add(bias);
            code.contains(&at) && at + s.size() as usize <= code.end
        });
        assert!(runs_here, "no {:?} symbol inside the code at {code:x?}", symbols[0].name());
    }
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

/// On Windows: the code lies in this executable's image, inside its `.text`
/// section (where the linker merged `.text$kiln`), mapped execute-read,
/// and loading changed no protection.
#[cfg(windows)]
#[test]
fn embedded_code_runs_in_place_from_the_binary_text() {
    assert!(ADD.is_in_place());
    let before = image_region(ADD.bytes().as_ptr() as usize);
    let module = Module::new(&ADD).unwrap();
    assert!(module.is_in_place());
    let code = module.code_range();
    let (base, protect) = image_region(code.start);
    assert_eq!((base, protect), before, "loading changed the mapping");
    assert_eq!(protect, windows_sys::Win32::System::Memory::PAGE_EXECUTE_READ, "code is not execute-read");
    // The same image as this very function: the executable, not a DLL.
    assert_eq!(image_region(embedded_code_runs_in_place_from_the_binary_text as *const () as usize).0, base);

    // Its PE section on disk is `.text`, executable.
    let exe = std::fs::read(std::env::current_exe().unwrap()).unwrap();
    let (name, characteristics) = section_at(&exe, code.start - base).expect("the code's RVA is in a section");
    assert_eq!(name, ".text");
    const IMAGE_SCN_MEM_EXECUTE: u32 = 0x2000_0000;
    assert_ne!(characteristics & IMAGE_SCN_MEM_EXECUTE, 0);
    assert_eq!(section_at(&exe, code.end - 1 - base).map(|s| s.0), Some(name));

    let mut store = Store::new(());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let add = instance.get_typed_func::<(i32, i32), i32>(&mut store, "add").unwrap();
    assert_eq!(add.call(&mut store, (40, 2)).unwrap(), 42);
}

/// The image base and the protection of the image page holding `addr`.
#[cfg(windows)]
fn image_region(addr: usize) -> (usize, u32) {
    use windows_sys::Win32::System::Memory::{VirtualQuery, MEMORY_BASIC_INFORMATION, MEM_IMAGE};
    // SAFETY: an all-zero MEMORY_BASIC_INFORMATION is a valid value for
    // `VirtualQuery` to overwrite; the call only reads the process's map.
    let mut info: MEMORY_BASIC_INFORMATION = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    let n = unsafe { VirtualQuery(addr as *const _, &mut info, std::mem::size_of_val(&info)) };
    assert_ne!(n, 0, "VirtualQuery({addr:#x})");
    assert_eq!(info.Type, MEM_IMAGE, "{addr:#x} is not in an image");
    (info.AllocationBase as usize, info.Protect)
}

/// The name and characteristics of the section of PE file `pe` holding
/// relative virtual address `rva`.
#[cfg(windows)]
fn section_at(pe: &[u8], rva: usize) -> Option<(String, u32)> {
    let u16_at = |o: usize| u16::from_le_bytes([pe[o], pe[o + 1]]) as usize;
    let u32_at = |o: usize| u32::from_le_bytes([pe[o], pe[o + 1], pe[o + 2], pe[o + 3]]);
    let nt = u32_at(0x3c) as usize;
    assert_eq!(&pe[nt..nt + 4], b"PE\0\0");
    let (sections, optional) = (u16_at(nt + 6), u16_at(nt + 20));
    let table = nt + 24 + optional;
    (0..sections).map(|i| table + 40 * i).find_map(|h| {
        let (size, at) = (u32_at(h + 8) as usize, u32_at(h + 12) as usize);
        (at..at + size).contains(&rva).then(|| {
            let name = pe[h..h + 8].iter().take_while(|&&b| b != 0).map(|&b| b as char).collect();
            (name, u32_at(h + 36))
        })
    })
}
