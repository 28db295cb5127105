//! The promise of kiln, checked on every test run: the application binary
//! contains no compiler. Its symbol table must name kiln's runtime and
//! nothing from Cranelift or wasmparser.

use object::{Object, ObjectSymbol};

#[test]
fn release_binary_contains_no_compiler() {
    let path = env!("CARGO_BIN_EXE_hello");
    let bytes = std::fs::read(path).expect("read the hello binary");
    let file = object::File::parse(&*bytes).expect("parse the hello binary");
    let names: Vec<String> =
        file.symbols().chain(file.dynamic_symbols()).filter_map(|s| s.name().ok().map(str::to_owned)).collect();
    assert!(
        names.iter().any(|n| n.contains("kiln")),
        "the binary has no kiln symbols: is it stripped? the check would prove nothing"
    );
    let offenders: Vec<&String> = names
        .iter()
        .filter(|n| n.contains("cranelift") || n.contains("wasmparser") || n.contains("regalloc2"))
        .take(10)
        .collect();
    assert!(offenders.is_empty(), "compiler code linked into the application: {offenders:?}");
}

#[test]
fn example_prints_the_greeting() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hello")).arg("tester").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("plugin says: Hello, tester!"), "{stdout}");
    assert!(stdout.contains("greet returned 14"), "{stdout}");
    assert!(stdout.contains("code ran in place: true"), "{stdout}");
}
