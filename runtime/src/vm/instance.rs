//! Store-owned runtime state and the instantiation of a module: allocating
//! a VMContext, filling it from `VMOffsets`, creating memories, tables and
//! globals, applying segments.
//!
//! Ownership: a store owns every instance, memory, table, global and host
//! function created in it, and frees them together when it is dropped. A
//! definition (`VMMemoryDefinition`, `VMTableDefinition`,
//! `VMGlobalDefinition`) has exactly one location — inline in the defining
//! instance's VMContext, or boxed for host-created ones — and importers hold
//! pointers to it, so growth is visible to all of them at once. Nothing moves
//! until the store drops: instances, VMContexts and boxed definitions are
//! heap-allocated and never reallocated.

use crate::error::{Error, Result};
use crate::module::Module;
use crate::trap::{Trap, TrapCode};
use crate::vm::linear_memory::LinearMemory;
use crate::vm::raw_box::RawBox;
use crate::vm::shared_memory::SharedLinearMemory;
use crate::vm::vmctx::*;
use kiln_artifact::index::*;
use kiln_artifact::info::{ConstExpr, ConstOp, DataMode, ElementItems, ElementMode};
use kiln_artifact::types::{FuncType, GlobalType, TableType, ValType};
use kiln_artifact::vmctx::{HostPtr, VMCounts, VMOffsets, VMCTX_MAGIC};
use std::alloc::Layout;
use std::any::{Any, TypeId};
use std::cell::Cell;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// An owned, zeroed, 16-aligned VMContext block.
pub struct VMContextBox {
    ptr: NonNull<u8>,
    layout: Layout,
}

impl VMContextBox {
    fn new(size: u32) -> VMContextBox {
        let layout = Layout::from_size_align(size.max(16) as usize, 16).unwrap_or_else(|_| Layout::new::<[u128; 1]>());
        // SAFETY: the layout has a non-zero size.
        let ptr = unsafe { std::alloc::alloc_zeroed(layout) };
        let ptr = NonNull::new(ptr).unwrap_or_else(|| std::alloc::handle_alloc_error(layout));
        VMContextBox { ptr, layout }
    }

    /// The VMContext pointer compiled code receives.
    pub fn as_ptr(&self) -> *mut VMContext {
        self.ptr.as_ptr().cast()
    }

    /// Pointer to the field at `offset`, checked to lie inside the block
    /// with room for a `T`.
    fn field<T>(&self, offset: u32) -> *mut T {
        let end = offset as usize + std::mem::size_of::<T>();
        assert!(end <= self.layout.size(), "VMContext field {offset:#x} out of bounds");
        assert!((offset as usize).is_multiple_of(std::mem::align_of::<T>()), "VMContext field {offset:#x} misaligned");
        // SAFETY: in bounds of the allocation (checked above).
        unsafe { self.ptr.as_ptr().add(offset as usize).cast() }
    }

    fn write<T>(&self, offset: u32, value: T) {
        let p = self.field::<T>(offset);
        // SAFETY: `field` checked bounds and alignment; the block is owned by
        // self and only written during instantiation, before any code runs.
        unsafe { p.write(value) }
    }
}

impl Drop for VMContextBox {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout.
        unsafe { std::alloc::dealloc(self.ptr.as_ptr(), self.layout) }
    }
}

/// Where a store's memory lives.
pub enum MemoryStorage {
    /// Owned by this store alone.
    Owned(LinearMemory),
    /// Shared with other stores and threads (`(memory … shared)`).
    Shared(Arc<SharedLinearMemory>),
}

/// A linear memory of a store.
pub struct StoredMemory {
    pub(crate) storage: MemoryStorage,
    pub(crate) ty: kiln_artifact::types::MemoryType,
    /// The one definition compiled code reads (a shared memory's own).
    def: NonNull<VMMemoryDefinition>,
    _owned: Option<RawBox<VMMemoryDefinition>>,
}

impl StoredMemory {
    fn owned(memory: LinearMemory, ty: kiln_artifact::types::MemoryType, def: NonNull<VMMemoryDefinition>) -> Self {
        let mut m = StoredMemory { storage: MemoryStorage::Owned(memory), ty, def, _owned: None };
        m.sync();
        m
    }

    pub(crate) fn shared(memory: Arc<SharedLinearMemory>) -> Self {
        // SAFETY of later use: the definition lives as long as the Arc,
        // which this entry holds.
        let def = NonNull::new(memory.def_ptr()).unwrap_or(NonNull::dangling());
        StoredMemory { ty: memory.ty(), storage: MemoryStorage::Shared(memory), def, _owned: None }
    }

    fn sync(&mut self) {
        let MemoryStorage::Owned(memory) = &self.storage else { return };
        // SAFETY: `def` points into a VMContext or box owned by the same
        // store, alive as long as self; no reference to it is held elsewhere
        // while the host runs.
        unsafe {
            self.def.as_ptr().write(VMMemoryDefinition { base: memory.base(), current_length: memory.byte_len() })
        }
    }

    /// Grow by `delta` pages unless the new size passes `limit_bytes`; the
    /// old size in pages, or None.
    pub(crate) fn grow(&mut self, delta: u64, limit_bytes: u64) -> Option<u64> {
        match &mut self.storage {
            MemoryStorage::Owned(memory) => {
                let new_bytes = memory.pages().checked_add(delta)?.checked_mul(self.ty.page_size())?;
                if new_bytes > limit_bytes {
                    return None;
                }
                let old = memory.grow(delta)?;
                self.sync();
                Some(old)
            }
            MemoryStorage::Shared(shared) => shared.grow(delta, limit_bytes),
        }
    }

    pub(crate) fn def_ptr(&self) -> *mut VMMemoryDefinition {
        self.def.as_ptr()
    }

    /// Current size in pages.
    pub(crate) fn pages(&self) -> u64 {
        match &self.storage {
            MemoryStorage::Owned(m) => m.pages(),
            MemoryStorage::Shared(m) => m.pages(),
        }
    }

    /// Current size in bytes.
    pub(crate) fn byte_len(&self) -> usize {
        match &self.storage {
            MemoryStorage::Owned(m) => m.byte_len(),
            MemoryStorage::Shared(m) => m.byte_len(),
        }
    }

    /// The memory, if this store owns it alone (only such memories are
    /// lent out as byte slices).
    pub(crate) fn linear(&self) -> Option<&LinearMemory> {
        match &self.storage {
            MemoryStorage::Owned(m) => Some(m),
            MemoryStorage::Shared(_) => None,
        }
    }

    /// As `linear`, mutably.
    pub(crate) fn linear_mut(&mut self) -> Option<&mut LinearMemory> {
        match &mut self.storage {
            MemoryStorage::Owned(m) => Some(m),
            MemoryStorage::Shared(_) => None,
        }
    }

    /// Copy `bytes` to `offset`; `None` (nothing written) if out of bounds.
    pub(crate) fn write(&mut self, offset: u64, bytes: &[u8]) -> Option<()> {
        match &mut self.storage {
            MemoryStorage::Owned(m) => {
                let r = range(offset, bytes.len() as u64, m.byte_len())?;
                m.data_mut()[r].copy_from_slice(bytes);
                Some(())
            }
            MemoryStorage::Shared(m) => m.write(offset, bytes),
        }
    }

    /// Copy the bytes at `offset` into `buf`; `None` if out of bounds.
    pub(crate) fn read(&self, offset: u64, buf: &mut [u8]) -> Option<()> {
        match &self.storage {
            MemoryStorage::Owned(m) => {
                buf.copy_from_slice(&m.data()[range(offset, buf.len() as u64, m.byte_len())?]);
                Some(())
            }
            MemoryStorage::Shared(m) => m.read(offset, buf),
        }
    }

    /// `memory.fill`; `None` if out of bounds.
    pub(crate) fn fill(&mut self, offset: u64, len: u64, value: u8) -> Option<()> {
        match &mut self.storage {
            MemoryStorage::Owned(m) => {
                let r = range(offset, len, m.byte_len())?;
                m.data_mut()[r].fill(value);
                Some(())
            }
            MemoryStorage::Shared(m) => m.fill(offset, len, value),
        }
    }

    /// `memory.copy` within this memory; `None` if out of bounds.
    pub(crate) fn copy_within(&mut self, src: u64, dst: u64, len: u64) -> Option<()> {
        match &mut self.storage {
            MemoryStorage::Owned(m) => {
                let (s, d) = (range(src, len, m.byte_len())?, range(dst, len, m.byte_len())?);
                m.data_mut().copy_within(s, d.start);
                Some(())
            }
            MemoryStorage::Shared(m) => m.copy_within(src, dst, len),
        }
    }

    /// The wasm address `addr` stands for, if it lies in this memory's
    /// mapping (its accessible part or its guard).
    pub(crate) fn wasm_address_of(&self, addr: usize) -> Option<u64> {
        let mapped = match &self.storage {
            MemoryStorage::Owned(m) => m.mapped_range(),
            MemoryStorage::Shared(m) => m.mapped_range(),
        };
        mapped.contains(&addr).then(|| (addr - mapped.start) as u64)
    }

    /// Whether an image is mapped over the start (segments need no copy).
    pub(crate) fn has_image(&self) -> bool {
        self.linear().is_some_and(LinearMemory::has_image)
    }
}

/// `[start, start + len)` as indices, if it lies within `size` elements
/// (memory bytes, table slots, segment items).
pub(crate) fn range(start: u64, len: u64, size: usize) -> Option<std::ops::Range<usize>> {
    let end = start.checked_add(len)?;
    if end > size as u64 {
        return None;
    }
    Some(start as usize..end as usize)
}

/// A table owned by a store. Elements are pointer-sized: `*const VMFuncRef`
/// or an externref handle; 0 is null.
pub struct StoredTable {
    pub(crate) elements: Vec<usize>,
    pub(crate) ty: TableType,
    def: NonNull<VMTableDefinition>,
    _owned: Option<RawBox<VMTableDefinition>>,
}

impl StoredTable {
    fn sync(&mut self) {
        // SAFETY: as for `StoredMemory::sync`.
        unsafe {
            self.def
                .as_ptr()
                .write(VMTableDefinition { base: self.elements.as_mut_ptr(), current_elements: self.elements.len() })
        }
    }

    /// Grow by `delta` elements set to `init`; the old size, or None.
    pub(crate) fn grow(&mut self, delta: u64, init: usize) -> Option<u64> {
        let old = self.elements.len() as u64;
        let new = old.checked_add(delta)?;
        let max = self.ty.limits.max.unwrap_or(u32::MAX as u64).min(u32::MAX as u64);
        // A cap on what one table may take from the host: 10 M elements.
        if new > max || new > 10_000_000 {
            return None;
        }
        self.elements.try_reserve(delta as usize).ok()?;
        self.elements.resize(new as usize, init);
        self.sync();
        Some(old)
    }

    pub(crate) fn def_ptr(&self) -> *mut VMTableDefinition {
        self.def.as_ptr()
    }
}

/// A global owned by a store.
pub struct StoredGlobal {
    pub(crate) ty: GlobalType,
    def: NonNull<VMGlobalDefinition>,
    _owned: Option<RawBox<VMGlobalDefinition>>,
}

impl StoredGlobal {
    /// The raw value.
    pub(crate) fn get(&self) -> ValRaw {
        // SAFETY: `def` is live for the store's lifetime and 16-aligned.
        ValRaw { bytes: unsafe { self.def.as_ptr().read().bytes } }
    }

    /// Set the raw value.
    pub(crate) fn set(&mut self, v: ValRaw) {
        // SAFETY: as in `get`.
        unsafe { self.def.as_ptr().write(VMGlobalDefinition { bytes: v.bytes }) }
    }

    pub(crate) fn def_ptr(&self) -> *mut VMGlobalDefinition {
        self.def.as_ptr()
    }
}

/// The erased body of a host function: store, caller instance, value slots.
pub type HostFn = dyn Fn(&mut StoreOpaque, Option<usize>, &mut [ValRaw]) -> Result<()> + Send + Sync;

/// A host function before it belongs to a store: its type, its erased
/// body, and the entry point compiled code calls — `host_array_call`
/// instantiated for the body's concrete type, so a call from wasm reaches
/// the closure without a dynamic dispatch and with the closure inlined.
#[derive(Clone)]
pub struct HostFunc {
    pub(crate) ty: FuncType,
    func: Arc<HostFn>,
    array_call: VMArrayCallFunction,
}

impl HostFunc {
    /// A host function of type `ty` running `body`.
    pub fn new<C>(ty: FuncType, body: C) -> HostFunc
    where
        C: Fn(&mut StoreOpaque, Option<usize>, &mut [ValRaw]) -> Result<()> + Send + Sync + 'static,
    {
        // `host_array_call::<C>` relies on `func` holding a `C`: both are
        // set here, together, and never changed.
        HostFunc { ty, func: Arc::new(body), array_call: host_array_call::<C> }
    }

    /// Identity of the body (shared by clones), for per-store caching.
    pub(crate) fn key(&self) -> usize {
        Arc::as_ptr(&self.func) as *const () as usize
    }
}

/// A host function as wasm sees it. `array_call` must sit at
/// `VMOffsets::host_func_context_array_call` (tested below).
#[repr(C)]
pub struct VMHostFuncContext {
    magic: u32,
    array_call: VMArrayCallFunction,
    pub(crate) func_ref: VMFuncRef,
    pub(crate) ty: FuncType,
    /// The owning store's [`StoreOpaque::lent`].
    lent: *const Cell<*mut StoreOpaque>,
    /// The body; its concrete type is the one `array_call` was
    /// instantiated for (see [`HostFunc::new`]).
    func: Arc<HostFn>,
}

/// Magic of a host function context.
const HOST_MAGIC: u32 = u32::from_le_bytes(*b"host");

/// What a failed host call left behind for the entry point.
pub enum Pending {
    /// The host function returned an error.
    Error(Error),
    /// The host function panicked; resumed once wasm has been left.
    Panic(Box<dyn Any + Send>),
    /// A wasm exception no handler caught.
    Exception(crate::tag::Exception),
}

/// Everything a store owns, independent of its data type.
pub struct StoreOpaque {
    pub(crate) id: u64,
    pub(crate) data_type: TypeId,
    pub(crate) limits: RawBox<VMRuntimeLimits>,
    /// The store as the innermost running host → wasm call of it lent it
    /// (null while no wasm of the store runs). Host functions and builtins
    /// reach the store only through this: a pointer kept from the store's
    /// creation would not be derived from the `&mut` the call holds, and
    /// using it would break that borrow's exclusivity (see `vm::entry`).
    pub(crate) lent: RawBox<Cell<*mut StoreOpaque>>,
    // Boxed so VMContexts and compiled code can hold pointers to them
    // while the vector grows.
    pub(crate) instances: Vec<RawBox<InstanceData>>,
    pub(crate) memories: Vec<StoredMemory>,
    pub(crate) tables: Vec<StoredTable>,
    pub(crate) globals: Vec<StoredGlobal>,
    // Boxed: compiled code holds pointers to the contexts.
    pub(crate) host_funcs: Vec<RawBox<VMHostFuncContext>>,
    pub(crate) externrefs: Vec<Box<dyn Any + Send + Sync>>,
    pub(crate) pending: Option<Pending>,
    /// Tags, defined by instances or by the host.
    pub(crate) tags: Vec<crate::tag::StoredTag>,
    /// Thrown exception objects (see `vm::exn`).
    pub(crate) exns: super::exn::ExnHeap,
    pub(crate) max_wasm_stack: usize,
    /// Whether the host gave this store a fuel budget (modules must then be
    /// compiled with fuel metering, and only then).
    pub(crate) fuel_enabled: bool,
    /// Whether the host set an epoch deadline (same rule for epoch checks).
    pub(crate) epoch_enabled: bool,
    /// The epoch counter compiled code compares with the deadline; the host
    /// may bump it from any thread.
    pub(crate) epoch: Arc<AtomicU64>,
    /// What to do when the deadline passes: None traps.
    pub(crate) epoch_callback: Option<Box<EpochCallback>>,
    /// Caps on what guests of this store may take from the host.
    pub(crate) limits_policy: StoreLimits,
    /// Host functions created from linker definitions, by the address of
    /// the definition's closure (kept alive by the context, so the address
    /// cannot be reused while it is a key): instantiating many times reuses
    /// one context.
    pub(crate) linker_funcs: std::collections::HashMap<usize, usize>,
}

/// Caps on what the instances of one store may take from the host, so one
/// plugin cannot exhaust it. Growth past a cap fails the way the
/// specification allows (`memory.grow` and `table.grow` return -1);
/// creation past a cap fails instantiation with an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreLimits {
    /// Bytes any one linear memory may reach.
    pub memory_size: usize,
    /// Elements any one table may reach.
    pub table_elements: usize,
    /// Instances in the store.
    pub instances: usize,
    /// Linear memories in the store.
    pub memories: usize,
    /// Tables in the store.
    pub tables: usize,
}

impl Default for StoreLimits {
    /// No cap beyond what the module types and the address space allow.
    fn default() -> Self {
        StoreLimits {
            memory_size: usize::MAX,
            table_elements: 10_000_000,
            instances: usize::MAX,
            memories: usize::MAX,
            tables: usize::MAX,
        }
    }
}

/// What the host decides when a store's epoch deadline passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateDeadline {
    /// Keep running; the new deadline is this many ticks after the current
    /// epoch.
    Continue(u64),
    /// Stop the guest with `TrapCode::Interrupted`.
    Interrupt,
}

/// The erased epoch-deadline callback of a store.
pub type EpochCallback = dyn FnMut(&mut StoreOpaque) -> UpdateDeadline + Send;

// SAFETY: the raw pointers a store holds point into memory the store itself
// owns (VMContexts, definitions, host contexts), so moving the store to
// another thread moves all of it; the store is not `Sync`, and host closures
// are `Send + Sync`.
unsafe impl Send for StoreOpaque {}

/// A store with its user data; `repr(C)` so that a pointer to the opaque
/// part is a pointer to the whole.
#[repr(C)]
pub struct StoreInner<T> {
    pub(crate) opaque: StoreOpaque,
    pub(crate) data: T,
}

impl StoreOpaque {
    pub(crate) fn new(id: u64, data_type: TypeId) -> StoreOpaque {
        let epoch = Arc::new(AtomicU64::new(0));
        // The counter is shared with the host through the Arc, so its
        // address is stable for the store's whole life.
        let limits = RawBox::new(VMRuntimeLimits { epoch: Arc::as_ptr(&epoch), ..VMRuntimeLimits::default() });
        StoreOpaque {
            id,
            data_type,
            limits,
            lent: RawBox::new(Cell::new(std::ptr::null_mut())),
            instances: Vec::new(),
            memories: Vec::new(),
            tables: Vec::new(),
            globals: Vec::new(),
            host_funcs: Vec::new(),
            externrefs: Vec::new(),
            pending: None,
            tags: Vec::new(),
            exns: super::exn::ExnHeap::default(),
            max_wasm_stack: 512 * 1024,
            fuel_enabled: false,
            epoch_enabled: false,
            epoch,
            epoch_callback: None,
            limits_policy: StoreLimits::default(),
            linker_funcs: std::collections::HashMap::new(),
        }
    }

    /// The host function of this store for a linker definition, created
    /// on first use.
    pub(crate) fn host_func_for(&mut self, func: &HostFunc) -> usize {
        let key = func.key();
        if let Some(&raw) = self.linker_funcs.get(&key) {
            return raw;
        }
        let raw = self.new_host_func(func.clone());
        self.linker_funcs.insert(key, raw);
        raw
    }

    /// Grow memory `index` by `delta` pages within the store's limits; the
    /// old size in pages, or None.
    pub(crate) fn grow_memory(&mut self, index: usize, delta: u64) -> Option<u64> {
        self.memories[index].grow(delta, self.limits_policy.memory_size as u64)
    }

    /// Grow table `index` by `delta` elements within the store's limits;
    /// the old size, or None.
    pub(crate) fn grow_table(&mut self, index: usize, delta: u64, init: usize) -> Option<u64> {
        let t = &mut self.tables[index];
        let new = (t.elements.len() as u64).checked_add(delta)?;
        if new > self.limits_policy.table_elements as u64 {
            return None;
        }
        t.grow(delta, init)
    }

    /// Refuse to create more of something than the limits allow.
    fn check_count(&self, what: &str, current: usize, adding: usize, cap: usize) -> Result<()> {
        if current.saturating_add(adding) > cap {
            return Err(Error::new(
                crate::ErrorKind::Instantiation,
                format!("store limit reached: at most {cap} {what}, {current} exist and {adding} more were requested"),
            ));
        }
        Ok(())
    }

    /// Refuse an initial size beyond the limits.
    fn check_initial(&self, what: &str, size: u64, cap: usize) -> Result<()> {
        if size > cap as u64 {
            return Err(Error::new(
                crate::ErrorKind::Instantiation,
                format!("store limit reached: a {what} of initial size {size} exceeds the limit of {cap}"),
            ));
        }
        Ok(())
    }

    /// The deadline passed while wasm ran: ask the host's callback. True if
    /// the guest may go on (the deadline was moved), false to interrupt it.
    pub(crate) fn epoch_deadline_reached(&mut self) -> bool {
        let Some(mut callback) = self.epoch_callback.take() else { return false };
        let decision = callback(self);
        self.epoch_callback = Some(callback);
        match decision {
            UpdateDeadline::Continue(ticks) => {
                let now = self.epoch.load(Ordering::Acquire);
                self.limits.epoch_deadline.set(now.saturating_add(ticks));
                true
            }
            UpdateDeadline::Interrupt => false,
        }
    }

    /// The whole store, if its data type is `T`.
    pub(crate) fn downcast_mut<T: 'static>(&mut self) -> Option<&mut StoreInner<T>> {
        if self.data_type != TypeId::of::<T>() {
            return None;
        }
        // SAFETY: every StoreOpaque with `data_type == T` is the first field
        // of a `repr(C)` StoreInner<T> (only `Store::new` creates them), so
        // the pointer to it is a pointer to the StoreInner<T>, and `&mut
        // self` gives exclusive access to the whole.
        Some(unsafe { &mut *(self as *mut StoreOpaque).cast::<StoreInner<T>>() })
    }

    /// Create a memory outside any instance.
    pub(crate) fn new_memory(
        &mut self,
        ty: kiln_artifact::types::MemoryType,
        tunables: &kiln_artifact::engine::Tunables,
    ) -> Result<usize> {
        self.check_count("memories", self.memories.len(), 1, self.limits_policy.memories)?;
        self.check_initial(
            "memory (bytes)",
            ty.limits.min.saturating_mul(ty.page_size()),
            self.limits_policy.memory_size,
        )?;
        let memory = LinearMemory::new(&ty, tunables).map_err(|e| Error::new(crate::ErrorKind::Instantiation, e))?;
        let owned = RawBox::new(VMMemoryDefinition { base: std::ptr::null_mut(), current_length: 0 });
        let def = owned.as_non_null();
        let mut m = StoredMemory::owned(memory, ty, def);
        m._owned = Some(owned);
        self.memories.push(m);
        Ok(self.memories.len() - 1)
    }

    /// The store's entry for `shared`, added on first import (one entry
    /// however often it is imported).
    pub(crate) fn import_shared_memory(&mut self, shared: &Arc<SharedLinearMemory>) -> Result<usize> {
        let existing =
            self.memories.iter().position(|m| matches!(&m.storage, MemoryStorage::Shared(s) if Arc::ptr_eq(s, shared)));
        if let Some(index) = existing {
            return Ok(index);
        }
        self.check_count("memories", self.memories.len(), 1, self.limits_policy.memories)?;
        self.memories.push(StoredMemory::shared(shared.clone()));
        Ok(self.memories.len() - 1)
    }

    /// Create a table outside any instance.
    pub(crate) fn new_table(&mut self, ty: TableType, init: usize) -> Result<usize> {
        self.check_count("tables", self.tables.len(), 1, self.limits_policy.tables)?;
        self.check_initial("table (elements)", ty.limits.min, self.limits_policy.table_elements)?;
        let owned = RawBox::new(VMTableDefinition { base: std::ptr::null_mut(), current_elements: 0 });
        let def = owned.as_non_null();
        let mut t = StoredTable { elements: Vec::new(), ty, def, _owned: Some(owned) };
        if t.grow(ty.limits.min, init).is_none() {
            return Err(Error::new(
                crate::ErrorKind::Instantiation,
                format!("table of {} elements is too large", ty.limits.min),
            ));
        }
        t.sync();
        self.tables.push(t);
        Ok(self.tables.len() - 1)
    }

    /// Create a global outside any instance.
    pub(crate) fn new_global(&mut self, ty: GlobalType, value: ValRaw) -> usize {
        let owned = RawBox::new(VMGlobalDefinition { bytes: value.bytes });
        let def = owned.as_non_null();
        self.globals.push(StoredGlobal { ty, def, _owned: Some(owned) });
        self.globals.len() - 1
    }

    /// Create a host function; returns its `VMFuncRef` address.
    pub(crate) fn new_host_func(&mut self, host: HostFunc) -> usize {
        let HostFunc { ty, func, array_call } = host;
        let type_id = crate::type_registry::id_of(&ty);
        let ctx = RawBox::new(VMHostFuncContext {
            magic: HOST_MAGIC,
            array_call,
            func_ref: VMFuncRef {
                wasm_call: std::ptr::null(),
                array_call: Some(array_call),
                vmctx: std::ptr::null_mut(),
                type_id,
            },
            ty,
            lent: self.lent.as_ptr(),
            func,
        });
        let p = ctx.as_ptr();
        // SAFETY: `p` is the live, unshared context just allocated; the
        // field pointers derive from it, so they stay valid as long as it.
        let raw = unsafe {
            (*p).func_ref.vmctx = p.cast::<VMContext>();
            core::ptr::addr_of!((*p).func_ref) as usize
        };
        self.host_funcs.push(ctx);
        raw
    }

    /// Instance `index` of this store.
    pub(crate) fn instance(&self, index: usize) -> &InstanceData {
        &self.instances[index]
    }
}

/// Read the `VMFuncRef` at `raw` (a funcref value of this store).
///
/// # Safety
/// `raw` must be a non-null funcref produced by this store: the address of
/// a `VMFuncRef` in one of its VMContexts or host function contexts.
pub unsafe fn read_func_ref(raw: usize) -> VMFuncRef {
    // SAFETY: guaranteed by the caller.
    unsafe { (raw as *const VMFuncRef).read() }
}

/// Make sure a host function's `VMFuncRef` can be called from wasm: its
/// wasm entry is a wasm-to-array trampoline of a module of this store with
/// the same signature. Returns false when no module provides one.
///
/// # Safety
/// `raw` must be a non-null funcref produced by `store`.
pub unsafe fn ensure_wasm_callable(store: &mut StoreOpaque, raw: usize) -> bool {
    // SAFETY: guaranteed by the caller.
    let fr = unsafe { read_func_ref(raw) };
    if !fr.wasm_call.is_null() {
        return true;
    }
    for inst in &store.instances {
        if let Some(t) = inst.module.wasm_to_array_trampoline_for(fr.type_id) {
            // SAFETY: the VMFuncRef is inside a host context owned by the
            // store; nothing else references it now.
            unsafe { (*(raw as *mut VMFuncRef)).wasm_call = t };
            return true;
        }
    }
    false
}

/// The wasm→host entry point of a host function whose body is a `C`.
///
/// # Safety
/// Called by compiled code or the entry path only, with `callee_vmctx` a
/// `VMHostFuncContext` whose body is a `C` (the context's `array_call` is
/// this instantiation: see [`HostFunc::new`]) and `values` valid for `len`
/// slots.
unsafe extern "C" fn host_array_call<C>(
    callee_vmctx: *mut VMContext,
    caller_vmctx: *mut VMContext,
    values: *mut ValRaw,
    len: usize,
) -> u8
where
    C: Fn(&mut StoreOpaque, Option<usize>, &mut [ValRaw]) -> Result<()> + Send + Sync + 'static,
{
    // SAFETY: the callee vmctx of a host function is its context (set in
    // `new_host_func`), owned by the store for as long as the function can
    // be called.
    let ctx = unsafe { &*callee_vmctx.cast::<VMHostFuncContext>() };
    debug_assert_eq!(ctx.magic, HOST_MAGIC);
    // The closure lives in the Arc's own allocation, which the context keeps
    // alive for the store's whole life (contexts are never dropped before
    // the store); calling through a pointer to it avoids a reference-count
    // round trip per call, and it is shared data, so the store's exclusive
    // borrow below does not cover it. The allocation holds a `C` (the
    // caller's guarantee), so the data pointer of the erased Arc is one.
    let func: *const C = Arc::as_ptr(&ctx.func).cast::<C>();
    // SAFETY: the store outlives its host functions, and while wasm runs the
    // host holds no other reference into it: the entry point lent its
    // exclusive borrow down to this call, as the pointer it stored.
    let store = unsafe { &mut *(*ctx.lent).get() };
    let caller = if caller_vmctx.is_null() {
        None
    } else {
        // SAFETY: a non-null caller vmctx is a VMContext of this store
        // whose instance field points at its InstanceData.
        Some(unsafe { instance_of(caller_vmctx) }.index)
    };
    // SAFETY: the caller passes `len` valid slots.
    let values = unsafe { std::slice::from_raw_parts_mut(values, len) };
    // SAFETY: see `func` above: the closure outlives this call.
    let func = unsafe { &*func };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| func(store, caller, values)));
    match result {
        Ok(Ok(())) => 1,
        Ok(Err(e)) => {
            store.pending = Some(Pending::Error(e));
            0
        }
        Err(panic) => {
            store.pending = Some(Pending::Panic(panic));
            0
        }
    }
}

/// The InstanceData of a VMContext.
///
/// # Safety
/// `vmctx` must be the VMContext of a live instance.
#[inline]
pub unsafe fn instance_of<'a>(vmctx: *mut VMContext) -> &'a mut InstanceData {
    let offsets = VMOffsets::new(HostPtr, VMCounts::default());
    // SAFETY: the instance field is written at instantiation and the
    // InstanceData is boxed in the store, so it outlives the VMContext.
    unsafe {
        let p = vmctx.cast::<u8>().add(offsets.instance() as usize).cast::<*mut InstanceData>().read();
        &mut *p
    }
}

/// A module instance's runtime state.
pub struct InstanceData {
    pub(crate) index: usize,
    pub(crate) module: Module,
    pub(crate) vmctx: VMContextBox,
    pub(crate) offsets: VMOffsets<HostPtr>,
    /// The owning store: its identity only (see [`InstanceData::store`]).
    pub(crate) store: *const StoreOpaque,
    /// The owning store's [`StoreOpaque::lent`].
    lent: *const Cell<*mut StoreOpaque>,
    /// Store index of each memory, table and global in the module's index spaces.
    pub(crate) memories: Vec<usize>,
    pub(crate) tables: Vec<usize>,
    pub(crate) globals: Vec<usize>,
    /// Store index of each tag, imports first.
    pub(crate) tags: Vec<usize>,
    /// Evaluated passive element segments; None once dropped.
    pub(crate) elements: Vec<Option<Vec<usize>>>,
    /// Whether each data segment was dropped.
    pub(crate) dropped_data: Vec<bool>,
}

impl InstanceData {
    /// The funcref value (address of the `VMFuncRef`) of function `f`, if
    /// it has a slot.
    pub(crate) fn func_ref(&self, f: FuncIndex) -> Option<usize> {
        let slot = self.module.info().func_ref_index(f)?;
        Some(self.vmctx.field::<VMFuncRef>(self.offsets.func_ref(slot.0)) as usize)
    }

    /// The store this instance belongs to, as the running call lent it.
    ///
    /// # Safety
    /// Wasm of the store must be running (called from compiled code), and
    /// no other reference to the store may be live.
    pub(crate) unsafe fn store<'a>(&self) -> &'a mut StoreOpaque {
        // SAFETY: the store owns this instance and outlives it; the
        // caller's contract makes the lent pointer the live one.
        unsafe { &mut *(*self.lent).get() }
    }
}

/// How imports are satisfied, resolved and type-checked by the caller.
pub struct ResolvedImports {
    /// For each imported function, its funcref (address of a `VMFuncRef`).
    pub funcs: Vec<usize>,
    /// Store index of each imported table.
    pub tables: Vec<usize>,
    /// Store index of each imported memory.
    pub memories: Vec<usize>,
    /// Store index of each imported global.
    pub globals: Vec<usize>,
    /// Store index of each imported tag.
    pub tags: Vec<usize>,
}

/// The module's compiled-in checks must match what the store asks for:
/// fuel accounting against a budget nobody set would trap at once, and a
/// budget or deadline the code never checks would silently not hold.
fn check_interruption(store: &StoreOpaque, module: &Module) -> Result<()> {
    let t = &module.engine().tunables;
    // The message is built only on a mismatch: this runs at every
    // instantiation.
    let mismatch = |what: &str, compiled: bool, asked: bool, how: &str| {
        (compiled != asked).then(|| {
            let msg = if compiled {
                format!("module was compiled with {what} but the store does not use it: call {how} before instantiating, or compile without it")
            } else {
                format!("the store uses {what} ({how} was called) but the module was compiled without it: recompile it with {what} enabled")
            };
            Error::new(crate::ErrorKind::Instantiation, msg)
        })
    };
    if let Some(e) = mismatch("fuel metering", t.consume_fuel, store.fuel_enabled, "Store::set_fuel") {
        return Err(e);
    }
    if let Some(e) =
        mismatch("epoch interruption", t.epoch_interruption, store.epoch_enabled, "Store::set_epoch_deadline")
    {
        return Err(e);
    }
    Ok(())
}

/// Evaluate a constant expression in an instance under construction.
fn eval(store: &StoreOpaque, inst: &InstanceData, expr: &ConstExpr) -> Result<ValRaw> {
    let bad = || Error::load(kiln_artifact::sections::INFO, "malformed constant expression");
    // Nearly every initialiser is one constant: no stack needed.
    match expr.0.as_slice() {
        [ConstOp::I32Const(v)] => return Ok(ValRaw::i32(*v)),
        [ConstOp::I64Const(v)] => return Ok(ValRaw::i64(*v)),
        [ConstOp::F32Const(v)] => return Ok(ValRaw::f32(*v)),
        [ConstOp::F64Const(v)] => return Ok(ValRaw::f64(*v)),
        [ConstOp::RefNull(_)] => return Ok(ValRaw::ref_(0)),
        [ConstOp::RefFunc(f)] => return Ok(ValRaw::ref_(inst.func_ref(*f).ok_or_else(bad)?)),
        _ => {}
    }
    let mut stack: Vec<ValRaw> = Vec::with_capacity(2);
    for op in &expr.0 {
        let v = match *op {
            ConstOp::I32Const(v) => ValRaw::i32(v),
            ConstOp::I64Const(v) => ValRaw::i64(v),
            ConstOp::F32Const(v) => ValRaw::f32(v),
            ConstOp::F64Const(v) => ValRaw::f64(v),
            ConstOp::V128Const(v) => ValRaw::u128(v),
            ConstOp::GlobalGet(g) => {
                let idx = *inst.globals.get(g.index()).ok_or_else(bad)?;
                store.globals[idx].get()
            }
            ConstOp::RefNull(_) => ValRaw::ref_(0),
            ConstOp::RefFunc(f) => ValRaw::ref_(inst.func_ref(f).ok_or_else(bad)?),
            ConstOp::I32Add | ConstOp::I32Sub | ConstOp::I32Mul => {
                let (b, a) = (stack.pop().ok_or_else(bad)?, stack.pop().ok_or_else(bad)?);
                let (a, b) = (a.get_i32(), b.get_i32());
                ValRaw::i32(match *op {
                    ConstOp::I32Add => a.wrapping_add(b),
                    ConstOp::I32Sub => a.wrapping_sub(b),
                    _ => a.wrapping_mul(b),
                })
            }
            ConstOp::I64Add | ConstOp::I64Sub | ConstOp::I64Mul => {
                let (b, a) = (stack.pop().ok_or_else(bad)?, stack.pop().ok_or_else(bad)?);
                let (a, b) = (a.get_i64(), b.get_i64());
                ValRaw::i64(match *op {
                    ConstOp::I64Add => a.wrapping_add(b),
                    ConstOp::I64Sub => a.wrapping_sub(b),
                    _ => a.wrapping_mul(b),
                })
            }
        };
        stack.push(v);
    }
    match stack.as_slice() {
        [v] => Ok(*v),
        _ => Err(bad()),
    }
}

/// Item `k` of an element segment, as a table element.
fn element_item(store: &StoreOpaque, inst: &InstanceData, items: &ElementItems, k: usize) -> Result<usize> {
    match items {
        ElementItems::Functions(fs) => inst.func_ref(fs[k]).ok_or_else(|| {
            Error::load(kiln_artifact::sections::INFO, format!("element function {} has no funcref slot", fs[k]))
        }),
        ElementItems::Expressions(es) => eval(store, inst, &es[k]).map(|v| v.get_ref()),
    }
}

/// Instantiate `module` in `store`. On a trap during segment
/// initialisation or the start function, the instance stays in the store
/// (its effects on imported tables and memories are observable, as the
/// specification requires) and the trap is returned.
pub fn instantiate(store: &mut StoreOpaque, module: &Module, imports: ResolvedImports) -> Result<usize> {
    check_interruption(store, module)?;
    let info = module.info();
    let p = store.limits_policy;
    store.check_count("instances", store.instances.len(), 1, p.instances)?;
    store.check_count("memories", store.memories.len(), info.num_defined_memories() as usize, p.memories)?;
    store.check_count("tables", store.tables.len(), info.num_defined_tables() as usize, p.tables)?;
    for m in &info.memories[info.num_imported_memories as usize..] {
        store.check_initial("memory (bytes)", m.limits.min.saturating_mul(m.page_size()), p.memory_size)?;
    }
    for t in &info.tables[info.num_imported_tables as usize..] {
        store.check_initial("table (elements)", t.limits.min, p.table_elements)?;
    }
    let offsets = VMOffsets::new(HostPtr, VMCounts::of(info));
    let vmctx = VMContextBox::new(offsets.size());
    let index = store.instances.len();
    // Every vector below gets its final size at once rather than growing
    // push by push.
    let defined = |all: usize, imported: u32| all - imported as usize;
    store.instances.reserve(1);
    store.memories.reserve(defined(info.memories.len(), info.num_imported_memories));
    store.tables.reserve(defined(info.tables.len(), info.num_imported_tables));
    store.globals.reserve(defined(info.globals.len(), info.num_imported_globals));
    let index_space = |imported: &[usize], len: usize| {
        let mut v = Vec::with_capacity(len);
        v.extend_from_slice(imported);
        v
    };
    let store_ptr: *mut StoreOpaque = store;
    let mut owner = RawBox::new(InstanceData {
        index,
        module: module.clone(),
        vmctx,
        offsets,
        store: store_ptr,
        lent: store.lent.as_ptr(),
        memories: index_space(&imports.memories, info.memories.len()),
        tables: index_space(&imports.tables, info.tables.len()),
        globals: index_space(&imports.globals, info.globals.len()),
        tags: index_space(&imports.tags, info.tags.len()),
        elements: vec![None; info.elements.len()],
        dropped_data: vec![false; info.data.len()],
    });
    let inst_ptr: *mut InstanceData = owner.as_ptr();
    let inst: &mut InstanceData = &mut owner;
    let v = &inst.vmctx;

    // Header.
    v.write::<u32>(offsets.magic(), VMCTX_MAGIC);
    v.write::<*const VMRuntimeLimits>(offsets.runtime_limits(), &*store.limits);
    v.write::<*const u8>(offsets.builtins(), crate::vm::libcalls::builtins_table());
    v.write::<*const u32>(offsets.type_ids(), module.type_ids().as_ptr());
    v.write::<*mut StoreOpaque>(offsets.store(), store_ptr);
    v.write::<*mut InstanceData>(offsets.instance(), inst_ptr);

    // Imported functions.
    let type_ids = module.type_ids();
    let mut import_func_refs = Vec::with_capacity(imports.funcs.len());
    for (i, &raw) in imports.funcs.iter().enumerate() {
        let ty = info.functions[i];
        // SAFETY: the caller resolved `raw` from this store's funcrefs.
        let mut fr = unsafe { read_func_ref(raw) };
        if fr.wasm_call.is_null() {
            // A host function: wasm reaches it through this module's
            // trampoline for the import's type.
            let t = module
                .wasm_to_array_trampoline(TypeIndex(ty.0))
                .ok_or_else(|| Error::load(kiln_artifact::sections::INFO, "missing wasm-to-host trampoline"))?;
            // SAFETY: host contexts are owned by the store and not
            // otherwise borrowed now.
            unsafe { (*(raw as *mut VMFuncRef)).wasm_call = t };
            fr.wasm_call = t;
        }
        v.write(
            offsets.imported_func(i as u32),
            VMFunctionImport { wasm_call: fr.wasm_call, array_call: fr.array_call, vmctx: fr.vmctx },
        );
        import_func_refs.push(VMFuncRef { type_id: type_ids[ty.index()], ..fr });
    }
    for (i, &t) in imports.tables.iter().enumerate() {
        v.write(offsets.imported_table(i as u32), store.tables[t].def_ptr());
    }
    for (i, &m) in imports.memories.iter().enumerate() {
        v.write(offsets.imported_memory(i as u32), store.memories[m].def_ptr());
    }
    for (i, &g) in imports.globals.iter().enumerate() {
        v.write(offsets.imported_global(i as u32), store.globals[g].def_ptr());
    }

    // Function references: everything that can escape.
    let text = module.text_ptr();
    for (slot, &f) in info.func_refs.iter().enumerate() {
        let fr = match info.defined_func_index(f) {
            None => import_func_refs[f.index()],
            Some(def) => {
                let c = &info.defined_funcs[def.index()];
                let tramp = c.array_trampoline.ok_or_else(|| {
                    Error::load(
                        kiln_artifact::sections::INFO,
                        format!("function {f} escapes but has no array trampoline"),
                    )
                })?;
                // SAFETY: ranges were validated to lie inside the text at load.
                let (wasm_call, array_call) = unsafe {
                    (
                        text.add(c.body.start as usize),
                        std::mem::transmute::<*const u8, VMArrayCallFunction>(text.add(tramp.start as usize)),
                    )
                };
                VMFuncRef {
                    wasm_call,
                    array_call: Some(array_call),
                    vmctx: v.as_ptr(),
                    type_id: type_ids[info.functions[f.index()].index()],
                }
            }
        };
        v.write(offsets.func_ref(slot as u32), fr);
    }

    // Defined memories.
    let tunables = &module.engine().tunables;
    let images = module.memory_images();
    for (i, ty) in info.memories[info.num_imported_memories as usize..].iter().enumerate() {
        let fail = |e: String| Error::new(crate::ErrorKind::Instantiation, format!("memory {i}: {e}"));
        let m = if ty.shared {
            let shared = Arc::new(SharedLinearMemory::new(ty, tunables).map_err(fail)?);
            // Compiled code loads the definition's address from the slot.
            v.write(offsets.defined_memory(i as u32), shared.def_ptr());
            StoredMemory::shared(shared)
        } else {
            let image = images.and_then(|images| images.get(i)?.as_ref());
            let memory = LinearMemory::with_image(ty, tunables, image).map_err(fail)?;
            let def = NonNull::new(v.field::<VMMemoryDefinition>(offsets.defined_memory(i as u32)))
                .unwrap_or(NonNull::dangling());
            StoredMemory::owned(memory, *ty, def)
        };
        store.memories.push(m);
        inst.memories.push(store.memories.len() - 1);
    }

    // Defined tags: a new identity each, per instance.
    for &t in &info.tags[info.num_imported_tags as usize..] {
        let type_id = module.type_ids().get(t.index()).copied().unwrap_or(u32::MAX);
        store.tags.push(crate::tag::StoredTag { ty: info.types[t.index()].clone(), type_id });
        inst.tags.push(store.tags.len() - 1);
    }

    // Defined globals, in order (an initialiser may read earlier ones).
    for (i, ty) in info.globals[info.num_imported_globals as usize..].iter().enumerate() {
        let def = NonNull::new(v.field::<VMGlobalDefinition>(offsets.defined_global(i as u32)))
            .unwrap_or(NonNull::dangling());
        // Stored in canonical form, so other modules can compare.
        let ty = GlobalType { content: crate::type_registry::canonical(ty.content, type_ids), ..*ty };
        store.globals.push(StoredGlobal { ty, def, _owned: None });
        inst.globals.push(store.globals.len() - 1);
        let value = eval(store, inst, &info.global_inits[i])?;
        let last = store.globals.len() - 1;
        store.globals[last].set(value);
    }

    // Defined tables.
    for (i, ty) in info.tables[info.num_imported_tables as usize..].iter().enumerate() {
        let init = eval(store, inst, &info.table_inits[i])?.get_ref();
        let def =
            NonNull::new(v.field::<VMTableDefinition>(offsets.defined_table(i as u32))).unwrap_or(NonNull::dangling());
        let element = match crate::type_registry::canonical(ValType::Ref(ty.element), type_ids) {
            ValType::Ref(r) => r,
            _ => ty.element,
        };
        let mut t = StoredTable { elements: Vec::new(), ty: TableType { element, ..*ty }, def, _owned: None };
        if t.grow(ty.limits.min, init).is_none() {
            return Err(Error::new(
                crate::ErrorKind::Instantiation,
                format!("table {i} of {} elements is too large", ty.limits.min),
            ));
        }
        store.tables.push(t);
        inst.tables.push(store.tables.len() - 1);
    }

    // Passive element segments are evaluated now and kept for
    // `table.init`. Active ones are evaluated straight into their tables
    // below — evaluation has no side effects, so when makes no difference —
    // and then count as dropped.
    for (i, seg) in info.elements.iter().enumerate() {
        if let ElementMode::Passive = seg.mode {
            let items =
                (0..seg.items.len()).map(|k| element_item(store, inst, &seg.items, k)).collect::<Result<_>>()?;
            inst.elements[i] = Some(items);
        }
    }

    store.instances.push(owner);

    // From here on, effects are observable even if a later step traps.
    for seg in &info.elements {
        let ElementMode::Active { table, offset } = &seg.mode else { continue };
        let inst = &store.instances[index];
        let t = inst.tables[table.index()];
        let off = eval(store, inst, offset)?.get_i32() as u32 as usize;
        let len = seg.items.len();
        if off.checked_add(len).is_none_or(|end| end > store.tables[t].elements.len()) {
            return Err(Trap::new(TrapCode::ElementOutOfBounds, Vec::new()).into());
        }
        for k in 0..len {
            let item = element_item(store, &store.instances[index], &seg.items, k)?;
            store.tables[t].elements[off + k] = item;
        }
    }
    let data = module.data_section();
    for (i, seg) in info.data.iter().enumerate() {
        let DataMode::Active { memory, offset } = &seg.mode else { continue };
        let inst = &store.instances[index];
        let mem = inst.memories[memory.index()];
        // With images, every active segment targets a memory this instance
        // just created, in bounds (see `vm::memory_image`): where the image
        // got mapped, the segments are already in place and cannot trap.
        if images.is_none() || !store.memories[mem].has_image() {
            let v = eval(store, inst, offset)?;
            let off =
                if info.memories[memory.index()].memory64 { v.get_i64() as u64 } else { v.get_i32() as u32 as u64 };
            let bytes = data
                .get(seg.bytes.start as usize..seg.bytes.end() as usize)
                .ok_or_else(|| Error::load(kiln_artifact::sections::DATA, "segment out of range"))?;
            if store.memories[mem].write(off, bytes).is_none() {
                return Err(Trap::new(TrapCode::MemoryOutOfBounds, Vec::new()).into());
            }
        }
        // An applied active segment is dropped, as by `data.drop`:
        // `memory.init` sees it empty from now on.
        store.instances[index].dropped_data[i] = true;
    }
    Ok(index)
}

/// The `VMFuncRef` of an instance's start function, if it has one.
pub fn start_func_ref(store: &StoreOpaque, instance: usize, imported: &[usize]) -> Option<VMFuncRef> {
    let inst = &store.instances[instance];
    let info = inst.module.info();
    let f = info.start?;
    match info.defined_func_index(f) {
        // SAFETY: import funcrefs were resolved from this store.
        None => Some(unsafe { read_func_ref(*imported.get(f.index())?) }),
        Some(def) => {
            let c = &info.defined_funcs[def.index()];
            let text = inst.module.text_ptr();
            let tramp = c.array_trampoline?;
            // SAFETY: ranges were validated against the text at load; the
            // trampoline has the array-call signature by construction.
            let (wasm_call, array_call) = unsafe {
                (
                    text.add(c.body.start as usize),
                    std::mem::transmute::<*const u8, VMArrayCallFunction>(text.add(tramp.start as usize)),
                )
            };
            Some(VMFuncRef { wasm_call, array_call: Some(array_call), vmctx: inst.vmctx.as_ptr(), type_id: 0 })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::offset_of;

    #[test]
    fn host_func_context_layout() {
        let o = VMOffsets::new(HostPtr, VMCounts::default());
        assert_eq!(offset_of!(VMHostFuncContext, array_call) as u32, o.host_func_context_array_call());
    }
}
