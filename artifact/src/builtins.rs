//! The one list of runtime builtins: functions of the runtime that compiled
//! code calls through the `VMBuiltins` table whose address is in every
//! VMContext.
//!
//! `kiln-build` turns the list into Cranelift signatures; the runtime turns
//! it into a `repr(C)` table of `extern "C"` function pointers, in list
//! order. All builtins use the platform's C calling convention and take the
//! caller's VMContext first.
//!
//! Parameter types: `vmctx` (the caller's VMContext), `i32`, `i64`, `f32`,
//! `f64`, `ptr` (pointer-sized). A builtin listed with `=> TrapCode` returns
//! `u8`: 1 on success, 0 when the operation must trap with that code — the
//! compiled code then traps at a recorded trap site, so every trap leaves
//! wasm through the same path and builtins never unwind.

/// Invoke `$mac!` with the list of builtins.
///
/// Each entry: `name(param: type, …) -> ret;` or `name(…) => TrapCode;`.
#[macro_export]
macro_rules! for_each_builtin {
    ($mac:ident) => {
        $mac! {
            /// `memory.grow`: the old size in pages, or -1.
            memory_grow(vmctx: vmctx, memory: i32, delta: i64) -> i64;
            /// `memory.copy`.
            memory_copy(vmctx: vmctx, dst_memory: i32, dst: i64, src_memory: i32, src: i64, len: i64) => MemoryOutOfBounds;
            /// `memory.fill`.
            memory_fill(vmctx: vmctx, memory: i32, dst: i64, value: i32, len: i64) => MemoryOutOfBounds;
            /// `memory.init`.
            memory_init(vmctx: vmctx, memory: i32, data: i32, dst: i64, src: i32, len: i32) => MemoryOutOfBounds;
            /// `data.drop`.
            data_drop(vmctx: vmctx, data: i32) -> void;
            /// `table.grow`: the old size, or -1.
            table_grow(vmctx: vmctx, table: i32, delta: i64, init: ptr) -> i64;
            /// `table.fill`.
            table_fill(vmctx: vmctx, table: i32, dst: i64, value: ptr, len: i64) => TableOutOfBounds;
            /// `table.copy`.
            table_copy(vmctx: vmctx, dst_table: i32, src_table: i32, dst: i64, src: i64, len: i64) => TableOutOfBounds;
            /// `table.init`.
            table_init(vmctx: vmctx, table: i32, elem: i32, dst: i64, src: i32, len: i32) => TableOutOfBounds;
            /// `elem.drop`.
            elem_drop(vmctx: vmctx, elem: i32) -> void;
            /// `call_indirect` to a type that may have subtypes found a
            /// function of another type: whether that type (a canonical
            /// id) is a subtype of the expected one.
            is_subtype(vmctx: vmctx, actual: i32, expected: i32) => BadSignature;
            /// `memory.atomic.wait32` on a shared memory, at a checked host
            /// address: 0 woken, 1 not equal, 2 timed out (`timeout` in ns,
            /// negative for never).
            memory_atomic_wait32(vmctx: vmctx, addr: ptr, expected: i32, timeout: i64) -> i32;
            /// `memory.atomic.wait64`, likewise.
            memory_atomic_wait64(vmctx: vmctx, addr: ptr, expected: i64, timeout: i64) -> i32;
            /// `memory.atomic.notify` on a shared memory: wake at most
            /// `count` waiters on `addr`; how many were woken.
            memory_atomic_notify(vmctx: vmctx, addr: ptr, count: i32) -> i32;
            /// The epoch deadline passed: run the store's callback; 0 means
            /// interrupt, 1 means the deadline was extended.
            epoch_interrupt(vmctx: vmctx) => Interrupted;
            /// `f32.ceil` where the ISA has no rounding instruction.
            ceil_f32(vmctx: vmctx, x: f32) -> f32;
            /// `f64.ceil` where the ISA has no rounding instruction.
            ceil_f64(vmctx: vmctx, x: f64) -> f64;
            /// `f32.floor` where the ISA has no rounding instruction.
            floor_f32(vmctx: vmctx, x: f32) -> f32;
            /// `f64.floor` where the ISA has no rounding instruction.
            floor_f64(vmctx: vmctx, x: f64) -> f64;
            /// `f32.trunc` where the ISA has no rounding instruction.
            trunc_f32(vmctx: vmctx, x: f32) -> f32;
            /// `f64.trunc` where the ISA has no rounding instruction.
            trunc_f64(vmctx: vmctx, x: f64) -> f64;
            /// `f32.nearest` where the ISA has no rounding instruction.
            nearest_f32(vmctx: vmctx, x: f32) -> f32;
            /// `f64.nearest` where the ISA has no rounding instruction.
            nearest_f64(vmctx: vmctx, x: f64) -> f64;
            /// Fused `x * y + z` (relaxed SIMD, deterministic) where the ISA
            /// has no FMA instruction.
            fma_f32(vmctx: vmctx, x: f32, y: f32, z: f32) -> f32;
            /// Fused `x * y + z` where the ISA has no FMA instruction.
            fma_f64(vmctx: vmctx, x: f64, y: f64, z: f64) -> f64;
            /// `throw $tag`: a new exception object of the caller's tag
            /// `tag`, its values (laid out as in `vmctx::exn`) left for the
            /// compiled code to write.
            exn_new(vmctx: vmctx, tag: i32) -> ptr;
            /// Throw `exn` from the frame whose frame pointer is `fp` (the
            /// throw stub's, whose caller threw): jumps to the landing pad of
            /// the innermost matching handler, or leaves wasm with the
            /// exception. Never returns.
            throw(vmctx: vmctx, exn: ptr, fp: ptr) -> void;
            /// A `catch` or `catch_all` (not `_ref`) landed: the exception
            /// can be freed unless wasm holds a reference to it.
            exn_release(vmctx: vmctx, exn: ptr) -> void;
            /// Legacy `catch $tag`: 1 if `exn` was thrown with the caller's
            /// tag `tag`, else 0.
            exn_is(vmctx: vmctx, exn: ptr, tag: i32) -> i32;
            /// A host function failed: if it threw an exception, throw it
            /// into wasm from the host-call trampoline whose frame pointer
            /// is `fp` (never returning); otherwise return, and the
            /// trampoline traps.
            host_throw(vmctx: vmctx, fp: ptr) -> void;
            /// `memory.copy` within one unshared memory, both ranges already
            /// checked by the compiled code: `memmove` of host addresses.
            memmove(vmctx: vmctx, dst: ptr, src: ptr, len: i64) -> void;
            /// `memory.fill` of an unshared memory, the range already
            /// checked: `memset` of host addresses.
            memset(vmctx: vmctx, dst: ptr, value: i32, len: i64) -> void;
        }
    };
}

macro_rules! define_index {
    ($( $(#[$doc:meta])* $name:ident ( $($p:ident : $t:ident),* ) $(-> $ret:ident)? $(=> $trap:ident)? ; )*) => {
        /// Index of a builtin in the `VMBuiltins` table.
        #[allow(non_camel_case_types, missing_docs)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[repr(u32)]
        pub enum BuiltinIndex {
            $($name,)*
        }

        impl BuiltinIndex {
            /// Every builtin, in table order.
            pub const ALL: &'static [BuiltinIndex] = &[$(BuiltinIndex::$name,)*];

            /// The builtin's name.
            pub const fn name(self) -> &'static str {
                match self {
                    $(BuiltinIndex::$name => stringify!($name),)*
                }
            }

            /// For a builtin that reports failure, the trap it stands for.
            pub const fn trap_code(self) -> Option<crate::traps::TrapCode> {
                match self {
                    $(BuiltinIndex::$name => define_index!(@trap $($trap)?),)*
                }
            }
        }
    };
    (@trap $trap:ident) => { Some(crate::traps::TrapCode::$trap) };
    (@trap) => { None };
}

for_each_builtin!(define_index);

impl BuiltinIndex {
    /// Offset of this builtin's pointer in the `VMBuiltins` table.
    pub fn offset(self, ptr_size: u8) -> u32 {
        self as u32 * ptr_size as u32
    }
}
