;; `exnref` values kept beyond their handler: in locals, globals and
;; tables, rethrown later, from other calls; caught objects stay valid as
;; long as something refers to them.

(module
  (tag $e (export "e") (param i32))
  (global $saved (mut exnref) (ref.null exn))
  (table $t 4 exnref)

  (func $payload-of (param exnref) (result i32)
    (block $h (result i32)
      (try_table (catch $e $h)
        (throw_ref (local.get 0)))
      unreachable))

  (func (export "save") (param i32)
    (global.set $saved (call $catch-ref-keep (local.get 0))))
  (func $catch-ref-keep (param i32) (result exnref)
    (local $x exnref)
    (block $h (result i32 exnref)
      (try_table (catch_ref $e $h)
        (throw $e (local.get 0)))
      unreachable)
    (local.set $x)
    (drop)
    (local.get $x))
  (func (export "rethrow-saved") (result i32)
    (call $payload-of (global.get $saved)))
  (func (export "rethrow-saved-uncaught")
    (throw_ref (global.get $saved)))
  (func (export "clear") (global.set $saved (ref.null exn)))
  (func (export "saved-is-null") (result i32) (ref.is_null (global.get $saved)))

  (func (export "store-in-table") (param i32 i32)
    (table.set $t (local.get 0) (call $catch-ref-keep (local.get 1))))
  (func (export "rethrow-from-table") (param i32) (result i32)
    (call $payload-of (table.get $t (local.get 0))))

  (func (export "catch-all-ref-then-rethrow-twice") (result i32)
    (local $x exnref)
    (local.set $x
      (block $h (result exnref)
        (try_table (catch_all_ref $h) (throw $e (i32.const 30)))
        unreachable))
    (i32.add (call $payload-of (local.get $x)) (call $payload-of (local.get $x))))

  (func (export "throw-ref-null") (throw_ref (ref.null exn)))
)

(assert_return (invoke "saved-is-null") (i32.const 1))
(invoke "save" (i32.const 17))
(assert_return (invoke "saved-is-null") (i32.const 0))
;; Each invoke is an outermost call: objects only a global refers to survive.
(assert_return (invoke "rethrow-saved") (i32.const 17))
(assert_return (invoke "rethrow-saved") (i32.const 17))
(assert_exception (invoke "rethrow-saved-uncaught"))
(assert_return (invoke "rethrow-saved") (i32.const 17))
(invoke "store-in-table" (i32.const 2) (i32.const 23))
(invoke "clear")
(assert_return (invoke "rethrow-from-table" (i32.const 2)) (i32.const 23))
(assert_return (invoke "rethrow-from-table" (i32.const 2)) (i32.const 23))
(assert_trap (invoke "rethrow-from-table" (i32.const 1)) "null reference")
(assert_return (invoke "catch-all-ref-then-rethrow-twice") (i32.const 60))
(assert_trap (invoke "throw-ref-null") "null reference")
