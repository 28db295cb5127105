//! The VMContext layout and the calling conventions of compiled code.
//!
//! A VMContext is one contiguous block per instance. Compiled code reaches
//! everything outside its own text through it, at offsets computed here once
//! from the module's counts. The translator uses [`VMOffsets`] with the
//! *target's* pointer size; the runtime's `repr(C)` structs are tested
//! against [`VMOffsets`] with [`HostPtr`].
//!
//! ```text
//! offset                       field                                    size
//! 0                            magic: u32 ("kiln"), padding             P
//! P                            *const VMRuntimeLimits (store)           P
//! 2P                           *const VMBuiltins (function table)       P
//! 3P                           *const u32 canonical type ids            P
//! 4P                           *mut store (opaque to compiled code)     P
//! 5P                           *mut instance (opaque to compiled code)  P
//! imported_funcs               [VMFunctionImport; n]                    3P each
//! imported_tables              [*mut VMTableDefinition; n]              P each
//! imported_memories            [*mut VMMemoryDefinition; n]             P each
//! imported_globals             [*mut VMGlobalDefinition; n]             P each
//! defined_tables               [VMTableDefinition; n]                   2P each
//! defined_memories             [VMMemoryDefinition; n]                  2P each
//! defined_globals (16-aligned) [VMGlobalDefinition; n]                  16 each
//! func_refs                    [VMFuncRef; n]                           4P each
//! ```
//!
//! ```text
//! VMFunctionImport   { wasm_call: fn ptr, array_call: fn ptr, vmctx: ptr }
//! VMTableDefinition  { base: ptr, current_elements: usize }
//! VMMemoryDefinition { base: ptr, current_length: usize }
//! VMGlobalDefinition { 16 bytes: the value, little-endian, at offset 0 }
//! VMFuncRef          { wasm_call: fn ptr, array_call: fn ptr, vmctx: ptr, type_id: u32 }
//! VMRuntimeLimits    { stack_limit: usize, fuel_consumed: i64, epoch_deadline: u64, epoch: *const u64 }
//! VMHostFuncContext  { magic: u32, array_call: fn ptr at P, … owned by the runtime }
//! ```
//!
//! A host function is called from wasm with its `VMHostFuncContext` as the
//! callee vmctx; the wasm-to-array trampoline finds the host entry point at
//! [`VMOffsets::host_func_context_array_call`].
//!
//! Table elements are pointer-sized: a `*const VMFuncRef` for `funcref`
//! tables and an opaque non-zero handle for `externref` tables; 0 is null.
//!
//! # Calling conventions
//!
//! * **wasm**: Cranelift's `tail` convention. Parameters are
//!   `(callee_vmctx, caller_vmctx, wasm params…)`. A function with at most
//!   one result, not a `v128`, returns it natively; otherwise (riscv64
//!   returns no vector in registers) the caller passes one more
//!   parameter, a pointer to a return area of 16-byte slots, and the callee
//!   stores result `i` at `16 * i`, little-endian.
//! * **array**: the platform's C convention:
//!   `(callee_vmctx, caller_vmctx, values: *mut ValRaw, len: usize) -> u8`.
//!   Arguments are read from `values` and results written back to it, one
//!   16-byte little-endian slot each. Returns 1, or 0 when a host function
//!   failed (its error is held by the runtime). Exported wasm functions are
//!   reached from the host through per-function array trampolines; host
//!   functions are reached from wasm through per-signature wasm-to-array
//!   trampolines.
//! * **builtins**: the platform's C convention, see [`crate::builtins`].

use core::marker::PhantomData;

/// First word of every VMContext, checked by the runtime in debug builds.
pub const VMCTX_MAGIC: u32 = u32::from_le_bytes(*b"kiln");

/// Size in bytes of one value slot in array calls, return areas and globals.
pub const VAL_RAW_SIZE: u32 = 16;

/// The exception object an `exnref` points to (owned by the store that
/// threw it):
///
/// ```text
/// 0   tag: u32       the store's identity of the thrown tag
/// 4   len: u32       how many values
/// 8   holds: u32     [`exn::REFERENCED`] once wasm holds an `exnref` to it
///                    (`catch_ref`), plus one per legacy `catch` clause
///                    running with it: while non-zero it is not freed early
/// 12  slot: u32      the runtime's bookkeeping
/// 16  values: [16 bytes each, little-endian, like ValRaw]
/// ```
pub mod exn {
    /// Offset of the `holds` word, which compiled code updates.
    pub const HOLDS: u32 = 8;
    /// The bit of `holds` that says an `exnref` to the object exists.
    pub const REFERENCED: u32 = 1 << 31;
    /// Offset of the first value.
    pub const VALUES: u32 = 16;
}

/// Pointer width of the target the layout is computed for.
pub trait PtrSize: Copy {
    /// Size of a pointer in bytes.
    fn size(&self) -> u8;
}

/// The pointer size of the machine running this code.
#[derive(Debug, Clone, Copy, Default)]
pub struct HostPtr;

impl PtrSize for HostPtr {
    fn size(&self) -> u8 {
        core::mem::size_of::<usize>() as u8
    }
}

impl PtrSize for u8 {
    fn size(&self) -> u8 {
        *self
    }
}

/// Counts of a module that determine its VMContext layout.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VMCounts {
    /// Imported functions.
    pub imported_funcs: u32,
    /// Imported tables.
    pub imported_tables: u32,
    /// Imported memories.
    pub imported_memories: u32,
    /// Imported globals.
    pub imported_globals: u32,
    /// Defined tables.
    pub defined_tables: u32,
    /// Defined memories.
    pub defined_memories: u32,
    /// Defined globals.
    pub defined_globals: u32,
    /// `VMFuncRef` slots.
    pub func_refs: u32,
}

impl VMCounts {
    /// The counts of a module.
    pub fn of(m: &crate::info::ModuleInfo) -> VMCounts {
        VMCounts {
            imported_funcs: m.num_imported_funcs,
            imported_tables: m.num_imported_tables,
            imported_memories: m.num_imported_memories,
            imported_globals: m.num_imported_globals,
            defined_tables: m.num_defined_tables(),
            defined_memories: m.num_defined_memories(),
            defined_globals: m.num_defined_globals(),
            func_refs: m.func_refs.len() as u32,
        }
    }
}

/// Offsets of every field of a VMContext, for pointer size `P`.
#[derive(Debug, Clone, Copy)]
pub struct VMOffsets<P: PtrSize> {
    ptr: u8,
    /// The counts this layout was computed from.
    pub counts: VMCounts,
    imported_funcs: u32,
    imported_tables: u32,
    imported_memories: u32,
    imported_globals: u32,
    defined_tables: u32,
    defined_memories: u32,
    defined_globals: u32,
    func_refs: u32,
    size: u32,
    _ptr: PhantomData<P>,
}

fn align(n: u32, to: u32) -> u32 {
    n.div_ceil(to) * to
}

impl<P: PtrSize> VMOffsets<P> {
    /// Compute the layout.
    pub fn new(ptr: P, counts: VMCounts) -> Self {
        let p = ptr.size() as u32;
        let mut at = 6 * p;
        let mut region = |count: u32, each: u32| {
            let start = at;
            at += count * each;
            start
        };
        let imported_funcs = region(counts.imported_funcs, 3 * p);
        let imported_tables = region(counts.imported_tables, p);
        let imported_memories = region(counts.imported_memories, p);
        let imported_globals = region(counts.imported_globals, p);
        let defined_tables = region(counts.defined_tables, 2 * p);
        let defined_memories = region(counts.defined_memories, 2 * p);
        at = align(at, 16);
        let defined_globals = at;
        at += counts.defined_globals * VAL_RAW_SIZE;
        let func_refs = at;
        at += counts.func_refs * 4 * p;
        VMOffsets {
            ptr: ptr.size(),
            counts,
            imported_funcs,
            imported_tables,
            imported_memories,
            imported_globals,
            defined_tables,
            defined_memories,
            defined_globals,
            func_refs,
            size: align(at, 16),
            _ptr: PhantomData,
        }
    }

    /// Pointer size in bytes.
    pub fn ptr_size(&self) -> u8 {
        self.ptr
    }

    /// Total size of the VMContext (a multiple of 16).
    pub fn size(&self) -> u32 {
        self.size
    }

    /// `magic: u32`
    pub fn magic(&self) -> u32 {
        0
    }
    /// `*const VMRuntimeLimits`
    pub fn runtime_limits(&self) -> u32 {
        self.ptr as u32
    }
    /// `*const VMBuiltins`
    pub fn builtins(&self) -> u32 {
        2 * self.ptr as u32
    }
    /// `*const u32`: canonical type id of each module type index.
    pub fn type_ids(&self) -> u32 {
        3 * self.ptr as u32
    }
    /// Opaque store pointer.
    pub fn store(&self) -> u32 {
        4 * self.ptr as u32
    }
    /// Opaque instance pointer.
    pub fn instance(&self) -> u32 {
        5 * self.ptr as u32
    }

    /// `VMFunctionImport` of imported function `i`.
    pub fn imported_func(&self, i: u32) -> u32 {
        debug_assert!(i < self.counts.imported_funcs);
        self.imported_funcs + i * self.size_of_function_import()
    }
    /// `*mut VMTableDefinition` of imported table `i`.
    pub fn imported_table(&self, i: u32) -> u32 {
        debug_assert!(i < self.counts.imported_tables);
        self.imported_tables + i * self.ptr as u32
    }
    /// `*mut VMMemoryDefinition` of imported memory `i`.
    pub fn imported_memory(&self, i: u32) -> u32 {
        debug_assert!(i < self.counts.imported_memories);
        self.imported_memories + i * self.ptr as u32
    }
    /// `*mut VMGlobalDefinition` of imported global `i`.
    pub fn imported_global(&self, i: u32) -> u32 {
        debug_assert!(i < self.counts.imported_globals);
        self.imported_globals + i * self.ptr as u32
    }
    /// `VMTableDefinition` of defined table `i`.
    pub fn defined_table(&self, i: u32) -> u32 {
        debug_assert!(i < self.counts.defined_tables);
        self.defined_tables + i * self.size_of_table_definition()
    }
    /// `VMMemoryDefinition` of defined memory `i`.
    pub fn defined_memory(&self, i: u32) -> u32 {
        debug_assert!(i < self.counts.defined_memories);
        self.defined_memories + i * self.size_of_memory_definition()
    }
    /// `VMGlobalDefinition` of defined global `i`.
    pub fn defined_global(&self, i: u32) -> u32 {
        debug_assert!(i < self.counts.defined_globals);
        self.defined_globals + i * VAL_RAW_SIZE
    }
    /// `VMFuncRef` slot `i`.
    pub fn func_ref(&self, i: u32) -> u32 {
        debug_assert!(i < self.counts.func_refs);
        self.func_refs + i * self.size_of_func_ref()
    }

    /// Size of `VMFunctionImport`.
    pub fn size_of_function_import(&self) -> u32 {
        3 * self.ptr as u32
    }
    /// `VMFunctionImport::wasm_call`
    pub fn function_import_wasm_call(&self) -> u32 {
        0
    }
    /// `VMFunctionImport::array_call`
    pub fn function_import_array_call(&self) -> u32 {
        self.ptr as u32
    }
    /// `VMFunctionImport::vmctx`
    pub fn function_import_vmctx(&self) -> u32 {
        2 * self.ptr as u32
    }

    /// Size of `VMTableDefinition`.
    pub fn size_of_table_definition(&self) -> u32 {
        2 * self.ptr as u32
    }
    /// `VMTableDefinition::base`
    pub fn table_base(&self) -> u32 {
        0
    }
    /// `VMTableDefinition::current_elements`
    pub fn table_current_elements(&self) -> u32 {
        self.ptr as u32
    }

    /// Size of `VMMemoryDefinition`.
    pub fn size_of_memory_definition(&self) -> u32 {
        2 * self.ptr as u32
    }
    /// `VMMemoryDefinition::base`
    pub fn memory_base(&self) -> u32 {
        0
    }
    /// `VMMemoryDefinition::current_length`
    pub fn memory_current_length(&self) -> u32 {
        self.ptr as u32
    }

    /// Size of `VMFuncRef`.
    pub fn size_of_func_ref(&self) -> u32 {
        4 * self.ptr as u32
    }
    /// `VMFuncRef::wasm_call`
    pub fn func_ref_wasm_call(&self) -> u32 {
        0
    }
    /// `VMFuncRef::array_call`
    pub fn func_ref_array_call(&self) -> u32 {
        self.ptr as u32
    }
    /// `VMFuncRef::vmctx`
    pub fn func_ref_vmctx(&self) -> u32 {
        2 * self.ptr as u32
    }
    /// `VMFuncRef::type_id`
    pub fn func_ref_type_id(&self) -> u32 {
        3 * self.ptr as u32
    }

    /// Size of `VMRuntimeLimits`.
    pub fn size_of_runtime_limits(&self) -> u32 {
        2 * self.ptr as u32 + 16
    }
    /// `VMRuntimeLimits::stack_limit`
    pub fn runtime_limits_stack_limit(&self) -> u32 {
        0
    }
    /// `VMRuntimeLimits::fuel_consumed`
    pub fn runtime_limits_fuel_consumed(&self) -> u32 {
        self.ptr as u32
    }
    /// `VMRuntimeLimits::epoch_deadline`
    pub fn runtime_limits_epoch_deadline(&self) -> u32 {
        self.ptr as u32 + 8
    }
    /// `VMHostFuncContext::array_call`
    pub fn host_func_context_array_call(&self) -> u32 {
        self.ptr as u32
    }

    /// `VMRuntimeLimits::epoch` (pointer to the engine's epoch counter)
    pub fn runtime_limits_epoch(&self) -> u32 {
        self.ptr as u32 + 16
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_do_not_overlap() {
        let counts = VMCounts {
            imported_funcs: 2,
            imported_tables: 1,
            imported_memories: 1,
            imported_globals: 3,
            defined_tables: 2,
            defined_memories: 1,
            defined_globals: 5,
            func_refs: 4,
        };
        let o = VMOffsets::new(8u8, counts);
        assert_eq!(o.imported_func(0), 48);
        assert_eq!(o.imported_table(0), 48 + 2 * 24);
        assert!(o.defined_global(0).is_multiple_of(16));
        assert!(o.defined_global(4) + 16 <= o.func_ref(0));
        assert_eq!(o.size(), o.func_ref(3) + 32);
        let o4 = VMOffsets::new(4u8, counts);
        assert_eq!(o4.imported_func(1), 24 + 12);
    }
}
