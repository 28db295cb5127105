;; A plugin of the table built by ../build.rs: ASCII-uppercases a byte.
(module
  (func (export "apply") (param i32) (result i32)
    (if (result i32) (i32.and (i32.ge_u (local.get 0) (i32.const 97)) (i32.le_u (local.get 0) (i32.const 122)))
      (then (i32.sub (local.get 0) (i32.const 32)))
      (else (local.get 0)))))
