;; A plugin of the table built by ../build.rs: rot13 of an ASCII letter.
(module
  (func $shift (param $c i32) (param $base i32) (result i32)
    (i32.add (local.get $base)
      (i32.rem_u (i32.add (i32.sub (local.get $c) (local.get $base)) (i32.const 13)) (i32.const 26))))
  (func (export "apply") (param $c i32) (result i32)
    (if (result i32) (i32.and (i32.ge_u (local.get $c) (i32.const 97)) (i32.le_u (local.get $c) (i32.const 122)))
      (then (call $shift (local.get $c) (i32.const 97)))
      (else
        (if (result i32) (i32.and (i32.ge_u (local.get $c) (i32.const 65)) (i32.le_u (local.get $c) (i32.const 90)))
          (then (call $shift (local.get $c) (i32.const 65)))
          (else (local.get $c)))))))
