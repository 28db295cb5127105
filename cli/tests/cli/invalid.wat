;; FAIL: run %s
;; A module that does not validate: the error names the function and the
;; wasm offset of the bad instruction.
(module
  (func (result i32)
    (i64.const 1)))
