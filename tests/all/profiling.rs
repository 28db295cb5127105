//! Profilers see plugin functions: copied code is named in the perf map
//! when asked for (code in place is named by the executable's symbols;
//! see `embed.rs`).

#[cfg(target_os = "linux")]
#[test]
fn perf_map_names_every_function_of_copied_code() {
    use kiln::profiling::{set_profiling_strategy, ProfilingStrategy};
    set_profiling_strategy(ProfilingStrategy::PerfMap);
    let module = kiln_tests::module(
        r#"(module $prof
             (func $helper (param i32) (result i32) (i32.mul (local.get 0) (i32.const 3)))
             (func (export "work") (param i32) (result i32) (call $helper (local.get 0))))"#,
    );
    set_profiling_strategy(ProfilingStrategy::None);
    assert!(!module.is_in_place());
    let path = format!("/tmp/perf-{}.map", std::process::id());
    let map = std::fs::read_to_string(&path).unwrap();
    let code = module.code_range();
    for name in ["wasm[prof]::helper", "wasm[prof]::work", "wasm[prof]::work (host entry)"] {
        let line = map.lines().find(|l| l.ends_with(name)).unwrap_or_else(|| panic!("no {name:?} in\n{map}"));
        let mut fields = line.split(' ');
        let start = usize::from_str_radix(fields.next().unwrap(), 16).unwrap();
        let len = usize::from_str_radix(fields.next().unwrap(), 16).unwrap();
        assert!(len > 0 && code.contains(&start) && start + len <= code.end, "{line} outside {code:x?}");
    }
    let _ = std::fs::remove_file(&path);
}
