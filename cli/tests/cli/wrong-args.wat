;; FAIL: run --invoke add %s 1
;; Arguments are checked against the export's type before anything runs.
(module
  (func (export "add") (param i32 i32) (result i32)
    (i32.add (local.get 0) (local.get 1))))
