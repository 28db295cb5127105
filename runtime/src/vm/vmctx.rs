//! The `repr(C)` structures compiled code reads and writes, checked field by
//! field against `kiln_artifact::vmctx::VMOffsets<HostPtr>`.

use core::sync::atomic::AtomicU64;

/// Opaque marker for a VMContext block; only ever used behind pointers.
#[repr(C, align(16))]
pub struct VMContext {
    _private: [u8; 0],
}

/// Per-store limits compiled code checks: the stack limit (prologues), fuel
/// and epoch deadline (when compiled in).
#[repr(C)]
#[derive(Debug)]
pub struct VMRuntimeLimits {
    /// Lowest stack address wasm code may use; prologues trap below it.
    pub stack_limit: core::cell::Cell<usize>,
    /// Fuel consumed, counting up towards zero from minus the budget.
    pub fuel_consumed: core::cell::Cell<i64>,
    /// Epoch at which running code traps or calls back to the host.
    pub epoch_deadline: core::cell::Cell<u64>,
    /// The engine-wide epoch counter.
    pub epoch: *const AtomicU64,
}

impl Default for VMRuntimeLimits {
    fn default() -> Self {
        VMRuntimeLimits {
            stack_limit: core::cell::Cell::new(usize::MAX),
            fuel_consumed: core::cell::Cell::new(0),
            epoch_deadline: core::cell::Cell::new(u64::MAX),
            epoch: core::ptr::null(),
        }
    }
}

/// Signature of array calls (see `kiln_artifact::vmctx`).
pub type VMArrayCallFunction = unsafe extern "C" fn(
    callee_vmctx: *mut VMContext,
    caller_vmctx: *mut VMContext,
    values: *mut ValRaw,
    len: usize,
) -> u8;

/// An opaque pointer to code in the wasm calling convention; only compiled
/// code calls it.
pub type VMWasmCallFunction = *const u8;

/// An imported function.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct VMFunctionImport {
    /// Entry in the wasm convention.
    pub wasm_call: VMWasmCallFunction,
    /// Entry in the array convention.
    pub array_call: Option<VMArrayCallFunction>,
    /// The callee's VMContext (or host function context).
    pub vmctx: *mut VMContext,
}

/// A table's storage as compiled code sees it.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct VMTableDefinition {
    /// First element.
    pub base: *mut usize,
    /// Number of elements.
    pub current_elements: usize,
}

/// A linear memory as compiled code sees it.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct VMMemoryDefinition {
    /// Byte 0 of the memory.
    pub base: *mut u8,
    /// Accessible length in bytes.
    pub current_length: usize,
}

/// A global's value: 16 bytes, little-endian at offset 0.
#[repr(C, align(16))]
#[derive(Debug, Clone, Copy, Default)]
pub struct VMGlobalDefinition {
    /// The bytes of the value.
    pub bytes: [u8; 16],
}

/// A function reference: what a funcref table element points to.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct VMFuncRef {
    /// Entry in the wasm convention.
    pub wasm_call: VMWasmCallFunction,
    /// Entry in the array convention.
    pub array_call: Option<VMArrayCallFunction>,
    /// The callee's VMContext (or host function context).
    pub vmctx: *mut VMContext,
    /// Canonical (process-wide) id of the function's type.
    pub type_id: u32,
}

/// One value slot of an array call, a return area or a global:
/// 16 bytes, little-endian at offset 0.
#[repr(C, align(16))]
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct ValRaw {
    /// The bytes of the value.
    pub bytes: [u8; 16],
}

impl core::fmt::Debug for ValRaw {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "ValRaw({:#x})", u128::from_le_bytes(self.bytes))
    }
}

impl ValRaw {
    /// From an `i32`.
    pub fn i32(v: i32) -> Self {
        Self::u128(v as u32 as u128)
    }
    /// From an `i64`.
    pub fn i64(v: i64) -> Self {
        Self::u128(v as u64 as u128)
    }
    /// From `f32` bits.
    pub fn f32(bits: u32) -> Self {
        Self::u128(bits as u128)
    }
    /// From `f64` bits.
    pub fn f64(bits: u64) -> Self {
        Self::u128(bits as u128)
    }
    /// From `v128` bits.
    pub fn u128(v: u128) -> Self {
        ValRaw { bytes: v.to_le_bytes() }
    }
    /// From a pointer-sized reference (0 is null).
    pub fn ref_(v: usize) -> Self {
        Self::u128(v as u128)
    }
    /// As an `i32`.
    pub fn get_i32(&self) -> i32 {
        self.get_u128() as u32 as i32
    }
    /// As an `i64`.
    pub fn get_i64(&self) -> i64 {
        self.get_u128() as u64 as i64
    }
    /// As `f32` bits.
    pub fn get_f32(&self) -> u32 {
        self.get_u128() as u32
    }
    /// As `f64` bits.
    pub fn get_f64(&self) -> u64 {
        self.get_u128() as u64
    }
    /// As `v128` bits.
    pub fn get_u128(&self) -> u128 {
        u128::from_le_bytes(self.bytes)
    }
    /// As a pointer-sized reference.
    pub fn get_ref(&self) -> usize {
        self.get_u128() as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{align_of, offset_of, size_of};
    use kiln_artifact::vmctx::{HostPtr, VMCounts, VMOffsets, VAL_RAW_SIZE};

    fn offsets() -> VMOffsets<HostPtr> {
        VMOffsets::new(HostPtr, VMCounts::default())
    }

    #[test]
    fn function_import() {
        let o = offsets();
        assert_eq!(size_of::<VMFunctionImport>() as u32, o.size_of_function_import());
        assert_eq!(offset_of!(VMFunctionImport, wasm_call) as u32, o.function_import_wasm_call());
        assert_eq!(offset_of!(VMFunctionImport, array_call) as u32, o.function_import_array_call());
        assert_eq!(offset_of!(VMFunctionImport, vmctx) as u32, o.function_import_vmctx());
    }

    #[test]
    fn table_definition() {
        let o = offsets();
        assert_eq!(size_of::<VMTableDefinition>() as u32, o.size_of_table_definition());
        assert_eq!(offset_of!(VMTableDefinition, base) as u32, o.table_base());
        assert_eq!(offset_of!(VMTableDefinition, current_elements) as u32, o.table_current_elements());
    }

    #[test]
    fn memory_definition() {
        let o = offsets();
        assert_eq!(size_of::<VMMemoryDefinition>() as u32, o.size_of_memory_definition());
        assert_eq!(offset_of!(VMMemoryDefinition, base) as u32, o.memory_base());
        assert_eq!(offset_of!(VMMemoryDefinition, current_length) as u32, o.memory_current_length());
    }

    #[test]
    fn func_ref() {
        let o = offsets();
        assert_eq!(size_of::<VMFuncRef>() as u32, o.size_of_func_ref());
        assert_eq!(offset_of!(VMFuncRef, wasm_call) as u32, o.func_ref_wasm_call());
        assert_eq!(offset_of!(VMFuncRef, array_call) as u32, o.func_ref_array_call());
        assert_eq!(offset_of!(VMFuncRef, vmctx) as u32, o.func_ref_vmctx());
        assert_eq!(offset_of!(VMFuncRef, type_id) as u32, o.func_ref_type_id());
    }

    #[test]
    fn runtime_limits() {
        let o = offsets();
        assert_eq!(size_of::<VMRuntimeLimits>() as u32, o.size_of_runtime_limits());
        assert_eq!(offset_of!(VMRuntimeLimits, stack_limit) as u32, o.runtime_limits_stack_limit());
        assert_eq!(offset_of!(VMRuntimeLimits, fuel_consumed) as u32, o.runtime_limits_fuel_consumed());
        assert_eq!(offset_of!(VMRuntimeLimits, epoch_deadline) as u32, o.runtime_limits_epoch_deadline());
        assert_eq!(offset_of!(VMRuntimeLimits, epoch) as u32, o.runtime_limits_epoch());
    }

    #[test]
    fn value_slots() {
        assert_eq!(size_of::<ValRaw>() as u32, VAL_RAW_SIZE);
        assert_eq!(align_of::<ValRaw>(), 16);
        assert_eq!(size_of::<VMGlobalDefinition>() as u32, VAL_RAW_SIZE);
        assert_eq!(align_of::<VMGlobalDefinition>(), 16);
    }
}
