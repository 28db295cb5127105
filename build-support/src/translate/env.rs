//! `FuncEnv`: how translated code reaches everything outside its own
//! values — the VMContext, builtins, callees, memories, tables, globals —
//! and every per-function cache of those accesses.
//!
//! All offsets come from [`VMOffsets`](kiln_artifact::vmctx::VMOffsets);
//! none is written here as a number.
//!
//! # Memory flags
//!
//! Each kind of access has one constructor below:
//!
//! * [`FuncEnv::readonly_flags`]: fields that never change while an instance
//!   lives (the builtins table and its entries, the type-id array and its
//!   entries, the definition pointers of imports, the code and vmctx of an
//!   imported function, the base of a memory that never moves). Read-only,
//!   non-trapping and movable, so Cranelift may merge and hoist them freely.
//! * [`FuncEnv::vmctx_flags`]: mutable state reached through the vmctx
//!   (memory length, table base and length, global values). Alias region
//!   "vmctx": wasm stores to linear memory or tables cannot change it, so
//!   such loads survive them; any call (which may grow a memory) is a barrier.
//! * [`FuncEnv::heap_flags`]: linear memory. Little-endian, may trap with
//!   `HEAP_OUT_OF_BOUNDS` (the guard-page fault is a recorded trap site).
//! * [`FuncEnv::table_flags`]: table elements, after their bounds check.
//! * [`FuncEnv::global_flags`]: a global's value, vmctx region,
//!   little-endian; read-only and movable when the global is immutable.
//! * [`FuncEnv::return_area_flags`]: return-area slots, little-endian.
//!
//! # Caches
//!
//! Values that cannot change during a call are loaded once per function, in
//! the entry block (which dominates every use), the first time they are
//! needed; see [`EnvCache`]. With optimisation on, Cranelift treats those
//! loads as pure and re-places them next to their uses anyway; without it,
//! the function pays one load per cached value per call. Values that can
//! change (memory length, moving memory bases, table base and length,
//! globals) are never cached: they are loaded at each use and Cranelift's
//! alias analysis removes the redundant ones between barriers.

use super::{bounds, traps, TranslateContext};
use crate::abi;
use crate::error::{Error, Result};
use cranelift_codegen::cursor::{Cursor, FuncCursor};
use cranelift_codegen::ir::{
    self, types, AliasRegion, AliasRegionData, Endianness, ExtFuncData, ExternalName, GlobalValueData, InstBuilder,
    MemFlagsData, StackSlotData, StackSlotKind, UserExternalName, Value,
};
use cranelift_frontend::FunctionBuilder;
use kiln_artifact::builtins::BuiltinIndex;
use kiln_artifact::index::{FuncIndex, GlobalIndex, MemoryIndex, TableIndex, TypeIndex};
use kiln_artifact::types::{FuncType, MemoryType, ValType};
use std::borrow::Cow;
use std::collections::HashMap;

/// User ids of the alias regions (unique within a function, which is
/// enough: kiln does not inline).
const HEAP_REGION: u32 = 1;
const TABLE_REGION: u32 = 2;
const VMCTX_REGION: u32 = 3;

/// Per-function caches. Owned by the `FuncTranslator` so their allocations
/// are reused from one function to the next; [`EnvCache::reset`] empties
/// them before each function. Every cached `Value` is defined in the entry
/// block.
#[derive(Default)]
pub(crate) struct EnvCache {
    /// The last instruction [`FuncEnv::entry_load`] put in the entry block:
    /// the next one goes after it, so a cached value that depends on another
    /// (an imported memory's base on its definition pointer) comes later.
    entry_tail: Option<ir::Inst>,
    /// `*const VMBuiltins`: set at instantiation, never changes.
    builtins: Option<Value>,
    /// Signature of each builtin, imported on first use (indexed by
    /// `BuiltinIndex`).
    builtin_sigs: Vec<Option<ir::SigRef>>,
    /// `*const u32` canonical type ids: set at instantiation, never changes.
    type_ids: Option<Value>,
    /// Wasm signature of each function type used by a call, imported once.
    wasm_sigs: HashMap<TypeIndex, ir::SigRef>,
    /// The `FuncRef` of each defined function called directly, declared once.
    direct_callees: HashMap<FuncIndex, ir::FuncRef>,
    /// `*mut VMMemoryDefinition` of each imported or shared memory
    /// (indexed by `MemoryIndex`): set at instantiation, never changed.
    imported_memories: Vec<Option<Value>>,
    /// Base of each memory whose base never moves (see
    /// `bounds::memory_base_is_static`), indexed by `MemoryIndex`.
    static_memory_bases: Vec<Option<Value>>,
    /// `*mut VMTableDefinition` of each imported table (by `TableIndex`).
    imported_tables: Vec<Option<Value>>,
    /// `*mut VMGlobalDefinition` of each imported global (by `GlobalIndex`).
    imported_globals: Vec<Option<Value>>,
    /// One return area for every call of this function to a callee with
    /// several results: results are loaded right after each call, so the
    /// calls never use it at the same time. Grown to the largest need.
    return_area: Option<ir::StackSlot>,
    /// The module's throw stub, declared once (see `exceptions.rs`).
    pub(crate) throw_stub: Option<ir::FuncRef>,
}

impl EnvCache {
    /// Empty every cache for a new function of the module of `cx`.
    pub(crate) fn reset(&mut self, cx: &TranslateContext<'_>) {
        let m = cx.module;
        self.entry_tail = None;
        self.builtins = None;
        self.builtin_sigs.clear();
        self.builtin_sigs.resize(BuiltinIndex::ALL.len(), None);
        self.type_ids = None;
        self.wasm_sigs.clear();
        self.direct_callees.clear();
        reset_vec(&mut self.imported_memories, m.memories.len());
        reset_vec(&mut self.static_memory_bases, m.memories.len());
        reset_vec(&mut self.imported_tables, m.tables.len());
        reset_vec(&mut self.imported_globals, m.globals.len());
        self.return_area = None;
        self.throw_stub = None;
    }
}

fn reset_vec<T>(v: &mut Vec<Option<T>>, len: usize) {
    v.clear();
    v.resize_with(len, || None);
}

/// A vmctx offset as a Cranelift immediate. VMContexts are far smaller than
/// 2 GiB (the counts are bounded by the validator's limits).
fn imm(offset: u32) -> i32 {
    offset as i32
}

/// The translation environment of one function.
pub(crate) struct FuncEnv<'a> {
    /// The module being compiled and the target.
    pub cx: &'a TranslateContext<'a>,
    /// The target's pointer type (always `I64`: kiln targets are 64-bit).
    pub ptr: ir::Type,
    /// The callee vmctx parameter: the instance of the function being
    /// translated. Defined by the entry block, so usable everywhere.
    pub vmctx: Value,
    /// The function's own type.
    pub ty: &'a FuncType,
    /// The return-area parameter, when the function has several results.
    pub ret_area: Option<Value>,
    /// Fuel of the straight-line code translated since the last flush
    /// (see `interrupts.rs`).
    pub fuel_pending: i64,
    entry: ir::Block,
    heap: AliasRegion,
    table: AliasRegion,
    vmctx_region: AliasRegion,
    pub(crate) cache: &'a mut EnvCache,
}

impl<'a> FuncEnv<'a> {
    /// Set up the environment of a function whose entry block is `entry`.
    pub(crate) fn new(
        cx: &'a TranslateContext<'a>,
        cache: &'a mut EnvCache,
        builder: &mut FunctionBuilder<'_>,
        entry: ir::Block,
        ty: &'a FuncType,
    ) -> Result<Self> {
        let params = builder.block_params(entry);
        let vmctx = *params.first().ok_or_else(|| Error::codegen("wasm signature without a vmctx parameter"))?;
        let ret_area = if ty.uses_return_area() { params.last().copied() } else { None };
        let mut region = |user_id, description| {
            builder.func.dfg.alias_regions.insert(AliasRegionData { user_id, description: Cow::Borrowed(description) })
        };
        let heap = region(HEAP_REGION, "heap");
        let table = region(TABLE_REGION, "table");
        let vmctx_region = region(VMCTX_REGION, "vmctx");
        Ok(FuncEnv {
            cx,
            ptr: cx.isa.pointer_type(),
            vmctx,
            ty,
            ret_area,
            fuel_pending: 0,
            entry,
            heap,
            table,
            vmctx_region,
            cache,
        })
    }

    // ---------------------------------------------------------------- flags

    /// A field that never changes while the instance lives.
    pub fn readonly_flags() -> MemFlagsData {
        MemFlagsData::trusted().with_readonly().with_can_move()
    }

    /// Mutable runtime state reached through the vmctx.
    pub fn vmctx_flags(&self) -> MemFlagsData {
        MemFlagsData::trusted().with_alias_region(Some(self.vmctx_region))
    }

    /// A wasm value stored in a VMGlobalDefinition (always little-endian).
    pub fn global_flags(&self, mutable: bool) -> MemFlagsData {
        let flags = self.vmctx_flags().with_endianness(Endianness::Little);
        // An immutable global is written once, at instantiation, before any
        // code of the instance runs.
        if mutable {
            flags
        } else {
            flags.with_readonly().with_can_move()
        }
    }

    /// A linear-memory access: little-endian, traps as out-of-bounds.
    pub fn heap_flags(&self) -> MemFlagsData {
        MemFlagsData::new()
            .with_endianness(Endianness::Little)
            .with_trap_code(Some(ir::TrapCode::HEAP_OUT_OF_BOUNDS))
            .with_alias_region(Some(self.heap))
    }

    /// A table element, already bounds-checked.
    pub fn table_flags(&self) -> MemFlagsData {
        MemFlagsData::trusted().with_alias_region(Some(self.table))
    }

    /// A value slot of a return area (16 bytes each, little-endian).
    pub fn return_area_flags() -> MemFlagsData {
        MemFlagsData::trusted().with_endianness(Endianness::Little)
    }

    // ---------------------------------------------------------------- types

    /// The Cranelift type of a kiln value type.
    pub fn ir_type(&self, ty: ValType) -> ir::Type {
        abi::ir_type(ty, self.ptr)
    }

    /// The Cranelift type of a wasmparser value type (block types, locals).
    pub fn wasm_type(&self, ty: wasmparser::ValType) -> ir::Type {
        match ty {
            wasmparser::ValType::I32 => types::I32,
            wasmparser::ValType::I64 => types::I64,
            wasmparser::ValType::F32 => types::F32,
            wasmparser::ValType::F64 => types::F64,
            wasmparser::ValType::V128 => types::I8X16,
            wasmparser::ValType::Ref(_) => self.ptr,
        }
    }

    /// The function type `ty` of the module.
    pub fn func_type(&self, ty: TypeIndex) -> Result<&'a FuncType> {
        let module = self.cx.module;
        module.types.get(ty.index()).ok_or_else(|| Error::codegen(format!("type {ty} out of range")))
    }

    /// Whether type `ty` is final, so that no type can be a subtype of it
    /// but itself: every type but those declared `(sub …)` without `final`.
    pub fn type_is_final(&self, ty: TypeIndex) -> bool {
        !self.cx.module.subtypes.iter().any(|d| d.ty == ty && !d.is_final)
    }

    /// The type of function `func`.
    pub fn func_type_of(&self, func: FuncIndex) -> Result<(TypeIndex, &'a FuncType)> {
        let module = self.cx.module;
        let ty = *module
            .functions
            .get(func.index())
            .ok_or_else(|| Error::codegen(format!("function {func} out of range")))?;
        Ok((ty, self.func_type(ty)?))
    }

    // ---------------------------------------------------- the cached loads

    /// A read-only pointer-sized load of `base + offset`, placed once in the
    /// entry block.
    fn entry_load(&mut self, builder: &mut FunctionBuilder<'_>, base: Value, offset: u32) -> Value {
        let pos = FuncCursor::new(builder.func);
        let mut pos = match self.cache.entry_tail {
            Some(inst) => pos.after_inst(inst),
            None => pos.at_first_insertion_point(self.entry),
        };
        let value = pos.ins().load(self.ptr, Self::readonly_flags(), base, imm(offset));
        self.cache.entry_tail = pos.func.dfg.value_def(value).inst();
        value
    }

    fn builtins_table(&mut self, builder: &mut FunctionBuilder<'_>) -> Value {
        if let Some(v) = self.cache.builtins {
            return v;
        }
        let v = self.entry_load(builder, self.vmctx, self.cx.offsets.builtins());
        self.cache.builtins = Some(v);
        v
    }

    fn type_ids(&mut self, builder: &mut FunctionBuilder<'_>) -> Value {
        if let Some(v) = self.cache.type_ids {
            return v;
        }
        let v = self.entry_load(builder, self.vmctx, self.cx.offsets.type_ids());
        self.cache.type_ids = Some(v);
        v
    }

    // ------------------------------------------------------------- builtins

    /// Call builtin `b` with the vmctx and `args`. For a builtin that reports
    /// failure (`=> TrapCode`), trap with its code when it returns 0 and
    /// return `None`; otherwise return its result, if any.
    pub fn call_builtin(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        b: BuiltinIndex,
        args: &[Value],
    ) -> Result<Option<Value>> {
        let slot = self
            .cache
            .builtin_sigs
            .get_mut(b as usize)
            .ok_or_else(|| Error::codegen(format!("builtin {} out of range", b.name())))?;
        let sig = match *slot {
            Some(sig) => sig,
            None => *slot.insert(builder.import_signature(abi::builtin_signature(self.cx.isa, b))),
        };
        let table = self.builtins_table(builder);
        let callee =
            builder.ins().load(self.ptr, Self::readonly_flags(), table, imm(b.offset(self.cx.offsets.ptr_size())));
        let mut all = Vec::with_capacity(args.len() + 1);
        all.push(self.vmctx);
        all.extend_from_slice(args);
        let call = builder.ins().call_indirect(sig, callee, &all);
        let result = builder.inst_results(call).first().copied();
        match b.trap_code() {
            Some(code) => {
                let ok = result.ok_or_else(|| Error::codegen(format!("builtin {} returns no status", b.name())))?;
                builder.ins().trapz(ok, traps::to_ir(code));
                Ok(None)
            }
            None => Ok(result),
        }
    }

    /// Like [`FuncEnv::call_builtin`], for a builtin that returns a value.
    pub fn call_builtin_value(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        b: BuiltinIndex,
        args: &[Value],
    ) -> Result<Value> {
        self.call_builtin(builder, b, args)?
            .ok_or_else(|| Error::codegen(format!("builtin {} returns no value", b.name())))
    }

    // ---------------------------------------------------------------- calls

    /// The wasm signature of function type `ty`, imported once.
    pub fn wasm_sig(&mut self, builder: &mut FunctionBuilder<'_>, ty: TypeIndex) -> Result<ir::SigRef> {
        if let Some(&sig) = self.cache.wasm_sigs.get(&ty) {
            return Ok(sig);
        }
        let sig = builder.import_signature(abi::wasm_signature(self.cx.isa, self.func_type(ty)?));
        self.cache.wasm_sigs.insert(ty, sig);
        Ok(sig)
    }

    /// The callee of a direct call of defined function `func`: a colocated
    /// user name the driver resolves at build time (the only relocation kiln
    /// code has).
    pub fn direct_callee(&mut self, builder: &mut FunctionBuilder<'_>, func: FuncIndex) -> Result<ir::FuncRef> {
        if let Some(&f) = self.cache.direct_callees.get(&func) {
            return Ok(f);
        }
        let (ty, _) = self.func_type_of(func)?;
        let signature = self.wasm_sig(builder, ty)?;
        let name = builder.func.declare_imported_user_function(UserExternalName { namespace: 0, index: func.0 });
        let f = builder.import_function(ExtFuncData {
            name: ExternalName::User(name),
            signature,
            colocated: true,
            patchable: false,
        });
        self.cache.direct_callees.insert(func, f);
        Ok(f)
    }

    /// `(wasm_call, vmctx)` of imported function `func`. Not cached in the
    /// entry block (a function may call many imports, most of them on cold
    /// paths); the loads are read-only, so Cranelift merges repeated ones.
    pub fn imported_func(&mut self, builder: &mut FunctionBuilder<'_>, func: FuncIndex) -> (Value, Value) {
        let o = self.cx.offsets;
        let at = o.imported_func(func.0);
        let flags = Self::readonly_flags();
        let code = builder.ins().load(self.ptr, flags, self.vmctx, imm(at + o.function_import_wasm_call()));
        let vmctx = builder.ins().load(self.ptr, flags, self.vmctx, imm(at + o.function_import_vmctx()));
        (code, vmctx)
    }

    /// The canonical (process-wide) type id of the module's type `ty`.
    pub fn canonical_type_id(&mut self, builder: &mut FunctionBuilder<'_>, ty: TypeIndex) -> Value {
        let ids = self.type_ids(builder);
        builder.ins().load(types::I32, Self::readonly_flags(), ids, imm(4 * ty.0))
    }

    /// The address of this function's return area, big enough for `results`
    /// values.
    pub fn return_area(&mut self, builder: &mut FunctionBuilder<'_>, results: usize) -> Result<Value> {
        let size = u32::try_from(results)
            .ok()
            .and_then(|n| n.checked_mul(kiln_artifact::vmctx::VAL_RAW_SIZE))
            .ok_or_else(|| Error::codegen("return area too large"))?;
        let slot = match self.cache.return_area {
            Some(slot) => {
                let data = &mut builder.func.sized_stack_slots[slot];
                data.size = data.size.max(size);
                slot
            }
            None => {
                // 16-byte aligned: slots hold v128 values.
                let slot = builder.create_sized_stack_slot(StackSlotData::new(StackSlotKind::ExplicitSlot, size, 4));
                self.cache.return_area = Some(slot);
                slot
            }
        };
        Ok(builder.ins().stack_addr(self.ptr, slot, 0))
    }

    // ------------------------------------------------------------- memories

    /// The type of memory `mem`.
    pub fn memory_type(&self, mem: MemoryIndex) -> Result<&'a MemoryType> {
        let module = self.cx.module;
        let ty =
            module.memories.get(mem.index()).ok_or_else(|| Error::codegen(format!("memory {mem} out of range")))?;
        Ok(ty)
    }

    /// Where the `VMMemoryDefinition` of `mem` is: `(pointer, offset)`.
    fn memory_definition(&mut self, builder: &mut FunctionBuilder<'_>, mem: MemoryIndex) -> Result<(Value, u32)> {
        let o = self.cx.offsets;
        if mem.index() >= self.cx.module.memories.len() {
            return Err(Error::codegen(format!("memory {mem} out of range")));
        }
        let slot = match self.cx.module.defined_memory_index(mem) {
            // A shared memory's definition lives outside every instance
            // (all that share it must see one length): its slot holds a
            // pointer to it, as an import's does.
            Some(def) if self.cx.module.memories[mem.index()].shared => o.defined_memory(def.0),
            Some(def) => return Ok((self.vmctx, o.defined_memory(def.0))),
            None => o.imported_memory(mem.0),
        };
        if let Some(p) = self.cache.imported_memories[mem.index()] {
            return Ok((p, 0));
        }
        let p = self.entry_load(builder, self.vmctx, slot);
        self.cache.imported_memories[mem.index()] = Some(p);
        Ok((p, 0))
    }

    /// The base address of memory `mem` (pointer type).
    pub fn memory_base(&mut self, builder: &mut FunctionBuilder<'_>, mem: MemoryIndex) -> Result<Value> {
        let ty = self.memory_type(mem)?;
        let (def, at) = self.memory_definition(builder, mem)?;
        let at = at + self.cx.offsets.memory_base();
        if !bounds::memory_base_is_static(self.cx.tunables, ty) {
            let flags = self.vmctx_flags();
            return Ok(builder.ins().load(self.ptr, flags, def, imm(at)));
        }
        if let Some(base) = self.cache.static_memory_bases[mem.index()] {
            return Ok(base);
        }
        let base = self.entry_load(builder, def, at);
        self.cache.static_memory_bases[mem.index()] = Some(base);
        Ok(base)
    }

    /// The current length in bytes of memory `mem` (pointer type). Never
    /// cached: `memory.grow`, here or in another instance sharing the
    /// memory, changes it.
    pub fn memory_length(&mut self, builder: &mut FunctionBuilder<'_>, mem: MemoryIndex) -> Result<Value> {
        let (def, at) = self.memory_definition(builder, mem)?;
        let flags = self.vmctx_flags();
        Ok(builder.ins().load(self.ptr, flags, def, imm(at + self.cx.offsets.memory_current_length())))
    }

    // --------------------------------------------------------------- tables

    /// Whether table `table` has 64-bit indices.
    pub fn table64(&self, table: TableIndex) -> bool {
        self.cx.module.tables.get(table.index()).is_some_and(|t| t.table64)
    }

    /// Where the `VMTableDefinition` of `table` is: `(pointer, offset)`.
    fn table_definition(&mut self, builder: &mut FunctionBuilder<'_>, table: TableIndex) -> Result<(Value, u32)> {
        let o = self.cx.offsets;
        if table.index() >= self.cx.module.tables.len() {
            return Err(Error::codegen(format!("table {table} out of range")));
        }
        if let Some(def) = self.cx.module.defined_table_index(table) {
            return Ok((self.vmctx, o.defined_table(def.0)));
        }
        let ptr = match self.cache.imported_tables[table.index()] {
            Some(p) => p,
            None => {
                let p = self.entry_load(builder, self.vmctx, o.imported_table(table.0));
                self.cache.imported_tables[table.index()] = Some(p);
                p
            }
        };
        Ok((ptr, 0))
    }

    /// The address of the first element of `table`. Not cached: `table.grow`
    /// may move the elements.
    pub fn table_base(&mut self, builder: &mut FunctionBuilder<'_>, table: TableIndex) -> Result<Value> {
        let (def, at) = self.table_definition(builder, table)?;
        let flags = self.vmctx_flags();
        Ok(builder.ins().load(self.ptr, flags, def, imm(at + self.cx.offsets.table_base())))
    }

    /// The current number of elements of `table` (pointer type).
    pub fn table_length(&mut self, builder: &mut FunctionBuilder<'_>, table: TableIndex) -> Result<Value> {
        let (def, at) = self.table_definition(builder, table)?;
        let flags = self.vmctx_flags();
        Ok(builder.ins().load(self.ptr, flags, def, imm(at + self.cx.offsets.table_current_elements())))
    }

    // -------------------------------------------------------------- globals

    /// Where the value of `global` is: `(pointer, offset)`.
    pub fn global_location(&mut self, builder: &mut FunctionBuilder<'_>, global: GlobalIndex) -> Result<(Value, i32)> {
        let o = self.cx.offsets;
        if global.index() >= self.cx.module.globals.len() {
            return Err(Error::codegen(format!("global {global} out of range")));
        }
        if let Some(def) = self.cx.module.defined_global_index(global) {
            return Ok((self.vmctx, imm(o.defined_global(def.0))));
        }
        let ptr = match self.cache.imported_globals[global.index()] {
            Some(p) => p,
            None => {
                let p = self.entry_load(builder, self.vmctx, o.imported_global(global.0));
                self.cache.imported_globals[global.index()] = Some(p);
                p
            }
        };
        Ok((ptr, 0))
    }

    /// The address of the `VMFuncRef` of `func` in this instance's vmctx.
    pub fn func_ref_address(&mut self, builder: &mut FunctionBuilder<'_>, func: FuncIndex) -> Result<Value> {
        let slot = self
            .cx
            .module
            .func_ref_index(func)
            .ok_or_else(|| Error::codegen(format!("function {func} is referenced but has no VMFuncRef slot")))?;
        let at = self.cx.offsets.func_ref(slot.0);
        Ok(builder.ins().iadd_imm_u(self.vmctx, i64::from(at)))
    }
}

/// An index operand (i32, or i64 for 64-bit memories and tables) as an i64.
pub(crate) fn index_to_i64(builder: &mut FunctionBuilder<'_>, index: Value) -> Value {
    if builder.func.dfg.value_type(index) == types::I64 {
        index
    } else {
        builder.ins().uextend(types::I64, index)
    }
}

/// An i64 size or index as the operand type of a memory or table: itself
/// when 64-bit, its low half otherwise (sizes and -1 survive either way).
pub(crate) fn i64_to_index(builder: &mut FunctionBuilder<'_>, value: Value, is64: bool) -> Value {
    if is64 {
        value
    } else {
        builder.ins().ireduce(types::I32, value)
    }
}

/// Make the prologue check the stack pointer against
/// `VMRuntimeLimits::stack_limit` (trap `STACK_OVERFLOW`). The limit is
/// reached through two loads, which Cranelift emits in the prologue.
pub(crate) fn set_stack_limit(func: &mut ir::Function, cx: &TranslateContext<'_>) -> Result<()> {
    let o = cx.offsets;
    let ptr = cx.isa.pointer_type();
    let flags =
        func.dfg.mem_flags.insert(MemFlagsData::trusted()).map_err(|_| Error::codegen("too many memory flags"))?;
    let vmctx = func.create_global_value(GlobalValueData::VMContext);
    let limits = func.create_global_value(GlobalValueData::Load {
        base: vmctx,
        offset: imm(o.runtime_limits()).into(),
        global_type: ptr,
        flags,
    });
    let limit = func.create_global_value(GlobalValueData::Load {
        base: limits,
        offset: imm(o.runtime_limits_stack_limit()).into(),
        global_type: ptr,
        flags,
    });
    func.stack_limit = Some(limit);
    Ok(())
}
