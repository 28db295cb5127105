;; A tiny plugin: the host lends it a name, it builds a greeting in its own
;; memory, hands the greeting to the host's `log`, and returns its length.
(module
  (import "host" "log" (func $log (param i32 i32)))
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 4096))
  (data (i32.const 0) "Hello, ")

  ;; Bump allocator: the host asks for room to write its string.
  (func (export "alloc") (param $len i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (local.get $len)))
    (local.get $p))

  ;; greet(name_ptr, name_len) -> greeting length
  (func (export "greet") (param $name i32) (param $len i32) (result i32)
    (local $out i32)
    (local $total i32)
    (local.set $out (i32.const 1024))
    ;; "Hello, " + name + "!"
    (memory.copy (local.get $out) (i32.const 0) (i32.const 7))
    (memory.copy (i32.add (local.get $out) (i32.const 7)) (local.get $name) (local.get $len))
    (i32.store8 (i32.add (local.get $out) (i32.add (i32.const 7) (local.get $len))) (i32.const 33))
    (local.set $total (i32.add (local.get $len) (i32.const 8)))
    (call $log (local.get $out) (local.get $total))
    (local.get $total))
)
