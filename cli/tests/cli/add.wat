;; RUN: run --invoke add %s -- 2 40
;; `--invoke` calls one export with arguments parsed by its parameter
;; types and prints each result on its own line.
(module
  (func (export "add") (param i32 i64) (result i32 i64)
    (local.get 0)
    (i32.add (i32.const 1))
    (local.get 1)
    (i64.mul (i64.const -1))))
