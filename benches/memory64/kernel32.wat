;; A memory-bound kernel (byte histogram and a read-modify-write pass
;; over 16 MiB) on a 32-bit memory; kernel64.wat is the same on a
;; 64-bit one. kiln elides bounds checks on 32-bit memories (4 GiB
;; reservation and guard pages) and checks every access of a 64-bit one
;; against its current length. See README, "Status".
(module
  (memory 257)
  (func (export "run") (param $rounds i32) (result i32)
    (local $i i32) (local $x i32) (local $acc i32)
    ;; fill 16 MiB with a pseudo-random sequence
    (local.set $x (i32.const 12345))
    (local.set $i (i32.const 0))
    (loop $fill
      (local.set $x (i32.add (i32.mul (local.get $x) (i32.const 1103515245)) (i32.const 12345)))
      (i32.store (local.get $i) (local.get $x))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br_if $fill (i32.lt_u (local.get $i) (i32.const 16777216))))
    (loop $round
      ;; histogram of the bytes into the 64 KiB after the data (as u32 counters)
      (local.set $i (i32.const 0))
      (loop $hist
        (local.set $x (i32.load8_u (local.get $i)))
        (i32.store (i32.add (i32.const 16777216) (i32.shl (local.get $x) (i32.const 2)))
          (i32.add (i32.load (i32.add (i32.const 16777216) (i32.shl (local.get $x) (i32.const 2)))) (i32.const 1)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $hist (i32.lt_u (local.get $i) (i32.const 16777216))))
      ;; read-modify-write pass with a data-dependent stride
      (local.set $i (i32.const 0))
      (loop $rmw
        (local.set $x (i32.load (local.get $i)))
        (i32.store (local.get $i) (i32.xor (local.get $x) (i32.rotl (local.get $x) (i32.const 7))))
        (local.set $acc (i32.add (local.get $acc) (local.get $x)))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br_if $rmw (i32.lt_u (local.get $i) (i32.const 16777216))))
      (local.set $rounds (i32.sub (local.get $rounds) (i32.const 1)))
      (br_if $round (local.get $rounds)))
    (i32.add (local.get $acc) (i32.load (i32.const 0)))))
