;; Legacy `delegate`: a `try` body's exceptions go to the handlers at the
;; delegate's label, skipping those in between.

(module
  (tag $e0)
  (tag $e1 (param i32))

  (func (export "delegate-no-throw") (result i32)
    try (result i32)
      try (result i32)
        i32.const 1
      delegate 0
    catch $e0
      i32.const 2
    end)

  (func (export "delegate-to-outer-try") (result i32)
    try (result i32)
      try (result i32)
        throw $e0
      delegate 0
    catch $e0
      i32.const 3
    end)

  (func (export "delegate-skips-middle") (result i32)
    try $outer (result i32)
      try (result i32)
        try (result i32)
          throw $e0
        delegate $outer
      catch $e0
        ;; skipped
        i32.const -1
      end
    catch $e0
      i32.const 4
    end)

  (func (export "delegate-to-caller") (result i32)
    try (result i32)
      block $fn
        try
          throw $e0
        delegate 2
      end
      i32.const 0
    catch $e0
      ;; skipped: depth 2 is the function body (depth 1 would be this try)
      i32.const -1
    end)

  (func (export "delegate-through-block") (result i32)
    try $t (result i32)
      (block (result i32)
        try (result i32)
          i32.const 5
          throw $e1
        delegate 1)
    catch $e1
    end)

  (func $callee-delegates (param i32)
    try
      local.get 0
      throw $e1
    delegate 0)
  (func (export "delegate-in-callee") (result i32)
    try (result i32)
      i32.const 8
      call $callee-delegates
      i32.const 0
    catch $e1
    end)

  (func (export "delegate-to-try-in-catch") (result i32)
    ;; The outer try is in a clause: its own handlers no longer apply, so
    ;; the exception goes further out.
    try (result i32)
      try (result i32)
        throw $e0
      catch $e0
        try (result i32)
          i32.const 12
          throw $e1
        delegate 0
      end
    catch $e1
    end)
)

(assert_return (invoke "delegate-no-throw") (i32.const 1))
(assert_return (invoke "delegate-to-outer-try") (i32.const 3))
(assert_return (invoke "delegate-skips-middle") (i32.const 4))
(assert_exception (invoke "delegate-to-caller"))
(assert_return (invoke "delegate-through-block") (i32.const 5))
(assert_return (invoke "delegate-in-callee") (i32.const 8))
(assert_return (invoke "delegate-to-try-in-catch") (i32.const 12))
