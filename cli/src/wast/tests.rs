//! The runner must fail what is wrong, not only pass what is right: each
//! directive kind once where the script is right and once where it lies.

use super::{run_script, Outcome};

const SCRIPT: &str = r#"(module $m
  (func (export "one") (result i32) i32.const 1)
  (func (export "snan") (result f32) f32.const nan:0x200000)
  (func (export "qnan") (result f64) f64.const -nan:0xc000000000000)
  (func (export "div") (param i32) (result i32) i32.const 1 local.get 0 i32.div_s)
  (func $r (export "rec") call $r)
  (func (export "id") (param externref) (result externref) local.get 0)
  (global (export "g") i32 (i32.const 7)))
(assert_return (invoke "one") (i32.const 1))
(assert_return (invoke "one") (i32.const 2))
(assert_return (invoke "snan") (f32.const nan:0x200000))
(assert_return (invoke "snan") (f32.const nan:arithmetic))
(assert_return (invoke "qnan") (f64.const nan:arithmetic))
(assert_return (invoke "qnan") (f64.const nan:canonical))
(assert_trap (invoke "div" (i32.const 0)) "integer divide by zero")
(assert_trap (invoke "div" (i32.const 0)) "integer overflow")
(assert_exhaustion (invoke "rec") "call stack exhausted")
(assert_trap (invoke "one") "unreachable")
(assert_return (get "g") (i32.const 7))
(assert_return (get $m "g") (i32.const 8))
(assert_return (invoke "id" (ref.extern 3)) (ref.extern 3))
(assert_return (invoke "id" (ref.extern 3)) (ref.extern 4))
(assert_return (invoke "id" (ref.null extern)) (ref.null extern))
(assert_invalid (module (func (result i32) i64.const 0)) "type mismatch")
(assert_invalid (module (func (result i32) i32.const 0)) "type mismatch")
(assert_malformed (module quote "(func (result i32) i32.const)") "unexpected token")
(assert_malformed (module binary "\00asm\01\00\00") "unexpected end")
(assert_unlinkable (module (import "spectest" "nope" (func))) "unknown import")
(assert_unlinkable (module (import "spectest" "print_i32" (func))) "incompatible import type")
(assert_unlinkable (module (import "spectest" "print_i32" (func (param i32)))) "incompatible import type")
(register "m" $m)
(module (import "m" "one" (func (result i32))) (import "spectest" "table" (table 10 funcref))
  (import "spectest" "memory" (memory 1)) (import "spectest" "global_i32" (global i32)))
(invoke "missing")
(assert_trap (module (memory 1) (data (i32.const 65536) "x")) "out of bounds memory access")
"#;

/// Line → whether the directive there passes.
const EXPECTED: &[(usize, bool)] = &[
    (1, true),
    (9, true),
    (10, false),
    (11, true),
    (12, false),
    (13, true),
    (14, false),
    (15, true),
    (16, false),
    (17, true),
    (18, false),
    (19, true),
    (20, false),
    (21, true),
    (22, false),
    (23, true),
    (24, true),
    (25, false),
    (26, true),
    (27, true),
    (28, true),
    (29, true),
    (30, false),
    (31, true),
    (32, true),
    (34, false),
    (35, true),
];

#[test]
fn every_directive_kind_passes_and_fails() {
    let report = run_script("self.wast", SCRIPT, &kiln_build::Config::host());
    let got: Vec<(usize, bool)> = report.results.iter().map(|r| (r.line, r.outcome == Outcome::Passed)).collect();
    for (r, f) in report.failures() {
        eprintln!("{f} [{}]", r.directive);
    }
    assert_eq!(got, EXPECTED);
    let c = report.counts();
    assert_eq!((c.passed, c.failed, c.skipped), (17, 10, 0));
}

#[test]
fn failures_are_located_and_parse_errors_reported() {
    let report =
        run_script("dir/x.wast", "(module)\n  (assert_return (invoke \"nope\"))\n", &kiln_build::Config::host());
    let failures: Vec<String> = report.failures().map(|(_, f)| f).collect();
    assert_eq!(failures, vec!["dir/x.wast:2:4: assert_return: no exported function `nope`".to_string()]);

    let report = run_script("bad.wast", "(module\n", &kiln_build::Config::host());
    assert_eq!(report.counts().failed, 1);
    assert!(report.failures().next().unwrap().1.starts_with("bad.wast:"));
}
