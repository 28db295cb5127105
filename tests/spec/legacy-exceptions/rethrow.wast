;; Legacy `rethrow`: throw again the exception a `catch`/`catch_all` clause
;; caught, from anywhere inside that clause.

(module
  (tag $e0)
  (tag $e1 (param i32))

  (func (export "rethrow-uncaught")
    try
      throw $e0
    catch $e0
      rethrow 0
    end)

  (func (export "rethrow-caught-outside") (result i32)
    try (result i32)
      try
        i32.const 21
        throw $e1
      catch $e1
        drop
        rethrow 0
      end
      i32.const 0
    catch $e1
      i32.const 2
      i32.mul
    end)

  (func (export "rethrow-from-catch-all") (result i32)
    try (result i32)
      try
        i32.const 4
        throw $e1
      catch_all
        rethrow 0
      end
      i32.const 0
    catch $e1
    end)

  (func (export "rethrow-outer-from-nested") (param i32) (result i32)
    try (result i32)
      try
        i32.const 1
        throw $e1
      catch $e1
        drop
        try
          local.get 0
          throw $e1
        catch $e1
          drop
          ;; depth 1: the outer clause's exception (value 1), not this one
          rethrow 1
        end
      end
      i32.const 0
    catch $e1
    end)

  (func (export "rethrow-inside-block") (result i32)
    try (result i32)
      try
        i32.const 6
        throw $e1
      catch $e1
        drop
        (block (block (rethrow 2)))
      end
      i32.const 0
    catch $e1
    end)

  (func (export "rethrow-after-inner-catch") (result i32)
    ;; The clause's exception is rethrown after a try_table inside the
    ;; clause caught the very same exception by value.
    try (result i32)
      try
        i32.const 11
        throw $e1
      catch $e1
        drop
        (block $h
          (try_table (catch_all $h)
            (rethrow 2)))
        rethrow 0
      end
      i32.const 0
    catch $e1
    end)
)

(assert_exception (invoke "rethrow-uncaught"))
(assert_return (invoke "rethrow-caught-outside") (i32.const 42))
(assert_return (invoke "rethrow-from-catch-all") (i32.const 4))
(assert_return (invoke "rethrow-outer-from-nested" (i32.const 9)) (i32.const 1))
(assert_return (invoke "rethrow-inside-block") (i32.const 6))
(assert_return (invoke "rethrow-after-inner-catch") (i32.const 11))
