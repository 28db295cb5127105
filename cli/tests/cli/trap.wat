;; FAIL: run --invoke outer %s
;; A trap three calls deep: the message names the function and the wasm
;; offset, and the backtrace lists every frame, innermost first.
(module $traps
  (memory 1)
  (func $inner (param i32) (result i32)
    (i32.load (local.get 0)))
  (func $middle (param i32) (result i32)
    (call $inner (i32.add (local.get 0) (i32.const 65536))))
  (func (export "outer") (result i32)
    (call $middle (i32.const 4))))
