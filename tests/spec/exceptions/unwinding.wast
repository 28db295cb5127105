;; Where exceptions go: through every kind of call, across instances,
;; past frames without handlers, and not into frames a tail call left.

(module $lib
  (tag $e (export "e") (param i32))
  (tag $other (export "other"))
  (func (export "throw") (param i32) (throw $e (local.get 0)))
  (func (export "throw-other") (throw $other)))
(register "lib")

(module
  (tag $e (import "lib" "e") (param i32))
  (tag $other (import "lib" "other"))
  (tag $mine (param i32))
  (func $throw (import "lib" "throw") (param i32))
  (func $throw-other (import "lib" "throw-other"))
  (type $t (func (param i32)))
  (table funcref (elem $throw $local-throw $throw-mine))
  (func $local-throw (param i32) (throw $e (local.get 0)))
  (func $throw-mine (param i32) (throw $mine (local.get 0)))

  (func $deep (param i32) (param i32)
    (if (i32.eqz (local.get 0))
      (then (call $throw (local.get 1)))
      (else (call $deep (i32.sub (local.get 0) (i32.const 1)) (local.get 1)))))

  (func (export "from-depth") (param i32) (result i32)
    (block $h (result i32)
      (try_table (catch $e $h)
        (call $deep (local.get 0) (i32.const 123)))
      (i32.const 0)))

  (func (export "via-call-indirect") (param i32) (result i32)
    (block $h (result i32)
      (try_table (catch $e $h)
        (call_indirect (type $t) (i32.const 55) (local.get 0)))
      (i32.const -1)))

  (func (export "via-call-ref") (result i32)
    (block $h (result i32)
      (try_table (catch $e $h)
        (call_ref $t (i32.const 66) (ref.func $local-throw)))
      (i32.const -1)))

  (func (export "inner-catch-all-wins") (result i32)
    (block $outer (result i32)
      (block $inner
        (try_table (catch $e $outer)
          (try_table (catch_all $inner)
            (call $throw (i32.const 1)))))
      (return (i32.const 2)))
    drop
    (i32.const -1))

  (func (export "inner-tag-misses-outer-catches") (result i32)
    (block $outer (result i32)
      (block $inner
        (try_table (catch $e $outer)
          (try_table (catch $other $inner)
            (call $throw (i32.const 3)))))
      (return (i32.const -1))))

  (func (export "clause-order") (result i32)
    (block $all
      (block $tagged (result i32)
        (try_table (catch $e $tagged) (catch_all $all)
          (call $throw (i32.const 4)))
        (i32.const -1))
      (i32.const 100)
      (i32.add)
      (return))
    (i32.const -5))

  (func $tail-thrower (param i32) (result i32)
    (call $throw (local.get 0))
    (i32.const 0))
  (func $tail (param i32) (result i32)
    (block $h (result i32)
      (try_table (result i32) (catch $e $h)
        (return_call $tail-thrower (local.get 0))))
    ;; a handler of a frame the tail call replaced never runs
    (i32.const 1000)
    (i32.add))
  (func (export "tail-call-leaves-handler") (param i32) (result i32)
    (block $h (result i32)
      (try_table (result i32) (catch $e $h)
        (call $tail (local.get 0))))
    (i32.const 7)
    (i32.add))

  (func (export "mine-not-caught-by-imported") (result i32)
    (block $h (result i32)
      (try_table (catch $e $h)
        (call_indirect (type $t) (i32.const 9) (i32.const 2)))
      (i32.const -1)))

  (func (export "locals-survive") (param i32) (result i32)
    (local $a i32) (local $b i64) (local $c f64)
    (local.set $a (i32.add (local.get 0) (i32.const 1)))
    (local.set $b (i64.const 0x1_0000_0000))
    (local.set $c (f64.const 2.5))
    (block $h (result i32)
      (try_table (catch $e $h)
        (call $deep (i32.const 50) (i32.const 0)))
      (i32.const -1))
    drop
    (i32.add
      (local.get $a)
      (i32.add (i32.wrap_i64 (i64.shr_u (local.get $b) (i64.const 32)))
               (i32.trunc_f64_s (local.get $c)))))
)

(assert_return (invoke "from-depth" (i32.const 0)) (i32.const 123))
(assert_return (invoke "from-depth" (i32.const 1000)) (i32.const 123))
(assert_return (invoke "via-call-indirect" (i32.const 0)) (i32.const 55))
(assert_return (invoke "via-call-indirect" (i32.const 1)) (i32.const 55))
(assert_return (invoke "via-call-ref") (i32.const 66))
(assert_return (invoke "inner-catch-all-wins") (i32.const 2))
(assert_return (invoke "inner-tag-misses-outer-catches") (i32.const 3))
(assert_return (invoke "clause-order") (i32.const 104))
(assert_return (invoke "tail-call-leaves-handler" (i32.const 5)) (i32.const 12))
(assert_exception (invoke "mine-not-caught-by-imported"))
(assert_return (invoke "locals-survive" (i32.const 10)) (i32.const 14))

;; An exception thrown by a start function fails the instantiation.
(assert_exception
  (module
    (tag $e)
    (func $start (throw $e))
    (start $start)))
