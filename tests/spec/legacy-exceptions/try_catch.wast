;; Legacy exception handling: `try` with `catch` and `catch_all` clauses.
;; kiln's own tests (the instructions predate the standard; Wasmtime does
;; not run them). Run with the `legacy-exceptions` feature on.

(module
  (tag $e0)
  (tag $e1 (param i32))
  (tag $e2 (param i64 f32 f64))
  (tag $e3 (param v128))

  (func $throw-if (param i32) (result i32)
    (if (local.get 0) (then (throw $e1 (local.get 0))))
    (i32.const 0))

  (func (export "empty-try") (result i32)
    try end
    i32.const 1)

  (func (export "catch-none-thrown") (result i32)
    try (result i32)
      i32.const 7
    catch $e0
      i32.const 1
    end)

  (func (export "catch-same-function") (result i32)
    try (result i32)
      throw $e0
    catch $e0
      i32.const 2
    end)

  (func (export "catch-param") (param i32) (result i32)
    try (result i32)
      local.get 0
      call $throw-if
    catch $e1
      i32.const 1000
      i32.add
    end)

  (func (export "catch-several-values") (result f64)
    (local $d f64)
    try (result f64)
      i64.const 3
      f32.const 1.5
      f64.const 0.25
      throw $e2
    catch $e2
      local.set $d
      f64.promote_f32
      local.get $d
      f64.add
      local.set $d
      f64.convert_i64_s
      local.get $d
      f64.add
    end)

  (func (export "catch-v128") (result i32)
    try (result i32)
      v128.const i32x4 1 2 3 4
      throw $e3
    catch $e3
      i32x4.extract_lane 2
    end)

  (func (export "second-clause") (result i32)
    try (result i32)
      i32.const 5
      throw $e1
    catch $e0
      i32.const -1
    catch $e1
      i32.const 10
      i32.mul
    end)

  (func (export "catch-all") (param i32) (result i32)
    try (result i32)
      local.get 0
      call $throw-if
    catch $e0
      i32.const -1
    catch_all
      i32.const 42
    end)

  (func (export "no-matching-clause") (result i32)
    try (result i32)
      throw $e0
    catch $e1
      drop
      i32.const 0
    end)

  (func (export "nested-inner-misses") (result i32)
    try (result i32)
      try (result i32)
        i32.const 3
        throw $e1
      catch $e0
        i32.const -1
      end
    catch $e1
      i32.const 1
      i32.add
    end)

  (func (export "throw-in-catch-goes-outward") (result i32)
    try (result i32)
      try (result i32)
        throw $e0
      catch $e0
        i32.const 9
        throw $e1
      catch $e1
        ;; not reached: a clause does not catch what its siblings throw
        drop
        i32.const -1
      end
    catch $e1
    end)

  (func (export "branch-out-of-catch") (result i32)
    (block $out (result i32)
      try
        throw $e0
      catch $e0
        i32.const 77
        br $out
      end
      i32.const 0))

  (func (export "loop-throw-catch") (param i32) (result i32)
    (local $n i32)
    (block $done
      (loop $again
        (br_if $done (i32.eqz (local.get 0)))
        try
          local.get 0
          throw $e1
        catch $e1
          local.get $n
          i32.add
          local.set $n
        end
        (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
        (br $again)))
    local.get $n)

  (func (export "uncaught") (result i32)
    try (result i32)
      throw $e0
    catch $e1
    end)

  (func (export "trap-not-caught") (result i32)
    try (result i32)
      unreachable
    catch_all
      i32.const 1
    end)
)

(assert_return (invoke "empty-try") (i32.const 1))
(assert_return (invoke "catch-none-thrown") (i32.const 7))
(assert_return (invoke "catch-same-function") (i32.const 2))
(assert_return (invoke "catch-param" (i32.const 0)) (i32.const 0))
(assert_return (invoke "catch-param" (i32.const 5)) (i32.const 1005))
(assert_return (invoke "catch-several-values") (f64.const 4.75))
(assert_return (invoke "catch-v128") (i32.const 3))
(assert_return (invoke "second-clause") (i32.const 50))
(assert_return (invoke "catch-all" (i32.const 0)) (i32.const 0))
(assert_return (invoke "catch-all" (i32.const 1)) (i32.const 42))
(assert_exception (invoke "no-matching-clause"))
(assert_return (invoke "nested-inner-misses") (i32.const 4))
(assert_return (invoke "throw-in-catch-goes-outward") (i32.const 9))
(assert_return (invoke "branch-out-of-catch") (i32.const 77))
(assert_return (invoke "loop-throw-catch" (i32.const 100)) (i32.const 5050))
(assert_exception (invoke "uncaught"))
(assert_trap (invoke "trap-not-caught") "unreachable")

;; Across instances: a tag is one identity wherever it is imported.
(module $M
  (tag $e (export "e") (param i32))
  (func (export "throw") (param i32) (local.get 0) (throw $e)))
(register "M")

(module
  (tag $e (import "M" "e") (param i32))
  (tag $local (param i32))
  (func $throw (import "M" "throw") (param i32))
  (func (export "catch-imported") (param i32) (result i32)
    try (result i32)
      local.get 0
      call $throw
      i32.const 0
    catch $local
      drop
      i32.const -1
    catch $e
    end)
  (func (export "catch-all-from-import") (result i32)
    try (result i32)
      i32.const 1
      call $throw
      i32.const 0
    catch_all
      i32.const 2
    end))

(assert_return (invoke "catch-imported" (i32.const 8)) (i32.const 8))
(assert_return (invoke "catch-all-from-import") (i32.const 2))

;; The same module instantiated twice: two distinct tags.
(module $A (tag (export "e")) (func (export "throw") (throw 0)))
(register "A")
(module $B (tag (export "e")) (func (export "throw") (throw 0)))
(register "B")
(module
  (tag $a (import "A" "e"))
  (func $throw-b (import "B" "throw"))
  (func (export "other-instance-not-caught") (result i32)
    try (result i32)
      call $throw-b
      i32.const 0
    catch $a
      i32.const 1
    end))
(assert_exception (invoke "other-instance-not-caught"))
