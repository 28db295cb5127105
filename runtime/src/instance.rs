//! [`Instance`]: a module instantiated in a store, and [`Extern`], anything
//! an instance can import or export.

use crate::error::{Error, Result};
use crate::func::{Func, TypedFunc, WasmParams, WasmResults};
use crate::global::Global;
use crate::memory::Memory;
use crate::module::{ExternType, Module};
use crate::shared_memory::SharedMemory;
use crate::store::AsContextMut;
use crate::table::Table;
use crate::tag::Tag;
use crate::values::FuncType;
use crate::vm::instance::{self as vm_instance, MemoryStorage, ResolvedImports, StoreOpaque};
use kiln_artifact::info::{ExportKind, ImportKind};
use kiln_artifact::types::{Limits, ValType};

/// Anything an instance imports or exports.
#[derive(Debug, Clone, PartialEq)]
pub enum Extern {
    /// A function.
    Func(Func),
    /// A table.
    Table(Table),
    /// A memory.
    Memory(Memory),
    /// A shared memory (threads): one memory, any number of stores.
    SharedMemory(SharedMemory),
    /// A global.
    Global(Global),
    /// A tag (exception handling).
    Tag(Tag),
}

impl Extern {
    /// The function, if it is one.
    pub fn into_func(self) -> Option<Func> {
        if let Extern::Func(f) = self {
            Some(f)
        } else {
            None
        }
    }
    /// The table, if it is one.
    pub fn into_table(self) -> Option<Table> {
        if let Extern::Table(t) = self {
            Some(t)
        } else {
            None
        }
    }
    /// The memory, if it is one.
    pub fn into_memory(self) -> Option<Memory> {
        if let Extern::Memory(m) = self {
            Some(m)
        } else {
            None
        }
    }
    /// The shared memory, if it is one.
    pub fn into_shared_memory(self) -> Option<SharedMemory> {
        if let Extern::SharedMemory(m) = self {
            Some(m)
        } else {
            None
        }
    }
    /// The global, if it is one.
    pub fn into_global(self) -> Option<Global> {
        if let Extern::Global(g) = self {
            Some(g)
        } else {
            None
        }
    }
    /// The tag, if it is one.
    pub fn into_tag(self) -> Option<Tag> {
        if let Extern::Tag(t) = self {
            Some(t)
        } else {
            None
        }
    }

    /// Its type.
    pub fn ty(&self, store: impl AsContextMut) -> ExternType {
        match self {
            Extern::Func(f) => ExternType::Func(f.ty(store)),
            Extern::Table(t) => ExternType::Table(t.ty(store)),
            Extern::Memory(m) => ExternType::Memory(m.ty(store)),
            Extern::SharedMemory(m) => ExternType::Memory(m.ty()),
            Extern::Global(g) => ExternType::Global(g.ty(store)),
            Extern::Tag(t) => ExternType::Tag(
                t.ty(store).unwrap_or_else(|_| FuncType { params: Box::new([]), results: Box::new([]) }),
            ),
        }
    }

    fn kind_name(&self) -> &'static str {
        match self {
            Extern::Func(_) => "function",
            Extern::Table(_) => "table",
            Extern::Memory(_) => "memory",
            Extern::SharedMemory(_) => "shared memory",
            Extern::Global(_) => "global",
            Extern::Tag(_) => "tag",
        }
    }
}

impl From<Func> for Extern {
    fn from(f: Func) -> Self {
        Extern::Func(f)
    }
}
impl From<Table> for Extern {
    fn from(t: Table) -> Self {
        Extern::Table(t)
    }
}
impl From<Memory> for Extern {
    fn from(m: Memory) -> Self {
        Extern::Memory(m)
    }
}
impl From<SharedMemory> for Extern {
    fn from(m: SharedMemory) -> Self {
        Extern::SharedMemory(m)
    }
}
impl From<Global> for Extern {
    fn from(g: Global) -> Self {
        Extern::Global(g)
    }
}
impl From<Tag> for Extern {
    fn from(t: Tag) -> Self {
        Extern::Tag(t)
    }
}

/// An instance of a module in a store. A handle (`Copy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Instance {
    store: u64,
    index: usize,
}

/// Whether `actual` limits fit where `expected` are required.
fn limits_match(actual: &Limits, expected: &Limits) -> bool {
    actual.min >= expected.min
        && match expected.max {
            None => true,
            Some(emax) => actual.max.is_some_and(|amax| amax <= emax),
        }
}

fn kind_name(k: &ImportKind) -> &'static str {
    match k {
        ImportKind::Func(_) => "function",
        ImportKind::Table(_) => "table",
        ImportKind::Memory(_) => "memory",
        ImportKind::Global(_) => "global",
        ImportKind::Tag(_) => "tag",
    }
}

impl Instance {
    pub(crate) fn from_index(store: &StoreOpaque, index: usize) -> Instance {
        Instance { store: store.id, index }
    }

    /// Instantiate `module` with `imports` given in the module's import
    /// order. Prefer [`Linker`](crate::Linker), which resolves by name.
    pub fn new(mut store: impl AsContextMut, module: &Module, imports: &[Extern]) -> Result<Instance> {
        let s = store.opaque_mut();
        let info = module.info();
        if imports.len() != info.imports.len() {
            return Err(Error::new(
                crate::ErrorKind::Link,
                format!("module has {} imports, {} given", info.imports.len(), imports.len()),
            ));
        }
        let mut resolved = ResolvedImports {
            funcs: Vec::new(),
            tables: Vec::new(),
            memories: Vec::new(),
            globals: Vec::new(),
            tags: Vec::new(),
        };
        for (import, ext) in info.imports.iter().zip(imports) {
            let mismatch = |found: String| Error::link(&import.module, &import.name, found);
            match (import.kind, ext) {
                (ImportKind::Func(t), Extern::Func(f)) => {
                    let raw = f.to_raw(s)?;
                    // Canonical ids: one integer compare, no type built, or
                    // a walk up the declared supertypes.
                    let expected_id = module.type_ids().get(t.index()).copied().unwrap_or(u32::MAX);
                    if !crate::type_registry::is_subtype(f.type_id(), expected_id) {
                        let expected = &info.types[t.index()];
                        let actual = f.ty(s_ctx(s));
                        return Err(mismatch(format!("expected function {expected}, found function {actual}")));
                    }
                    resolved.funcs.push(raw);
                }
                (ImportKind::Table(expected), Extern::Table(t)) => {
                    let idx = t.index_in(s)?;
                    let actual = s.tables[idx].ty;
                    let current = Limits { min: s.tables[idx].elements.len() as u64, max: actual.limits.max };
                    let element = crate::type_registry::canonical(ValType::Ref(expected.element), module.type_ids());
                    if ValType::Ref(actual.element) != element
                        || actual.table64 != expected.table64
                        || !limits_match(&current, &expected.limits)
                    {
                        return Err(mismatch(format!(
                            "expected {expected}, found {actual} with {} elements",
                            current.min
                        )));
                    }
                    resolved.tables.push(idx);
                }
                (ImportKind::Memory(expected), Extern::Memory(_) | Extern::SharedMemory(_)) => {
                    let idx = match ext {
                        Extern::SharedMemory(m) => s.import_shared_memory(&m.0)?,
                        Extern::Memory(m) => m.index_in(s)?,
                        _ => unreachable!("matched above"),
                    };
                    let actual = s.memories[idx].ty;
                    let current = Limits { min: s.memories[idx].pages(), max: actual.limits.max };
                    if actual.memory64 != expected.memory64
                        || actual.shared != expected.shared
                        || actual.page_size_log2 != expected.page_size_log2
                        || !limits_match(&current, &expected.limits)
                    {
                        return Err(mismatch(format!(
                            "expected {expected}, found {actual} with {} pages",
                            current.min
                        )));
                    }
                    resolved.memories.push(idx);
                }
                (ImportKind::Global(expected), Extern::Global(g)) => {
                    let idx = g.index_in(s)?;
                    let actual = s.globals[idx].ty;
                    // A mutable global is read and written: its type must
                    // be the same; an immutable one only read: a subtype.
                    let content = crate::type_registry::canonical(expected.content, module.type_ids());
                    let fits = if expected.mutable {
                        actual.content == content
                    } else {
                        crate::type_registry::val_subtype(actual.content, content)
                    };
                    if actual.mutable != expected.mutable || !fits {
                        return Err(mismatch(format!("expected {expected}, found {actual}")));
                    }
                    resolved.globals.push(idx);
                }
                (ImportKind::Tag(t), Extern::Tag(tag)) => {
                    let idx = tag.index_in(s)?;
                    // Tags match by type equivalence (exceptions flow both
                    // ways), i.e. the same canonical type.
                    let expected_id = module.type_ids().get(t.index()).copied().unwrap_or(u32::MAX);
                    if s.tags[idx].type_id != expected_id {
                        let expected = &info.types[t.index()];
                        return Err(mismatch(format!("expected tag {expected}, found tag {}", s.tags[idx].ty)));
                    }
                    resolved.tags.push(idx);
                }
                (k, other) => {
                    return Err(mismatch(format!("expected a {}, found a {}", kind_name(&k), other.kind_name())));
                }
            }
        }
        let import_funcs = resolved.funcs.clone();
        let index = vm_instance::instantiate(s, module, resolved)?;
        if let Some(fr) = vm_instance::start_func_ref(s, index, &import_funcs) {
            let mut values = [crate::vm::vmctx::ValRaw::default()];
            // SAFETY: the start function takes and returns nothing (checked
            // at load), so one slot is more than enough; `fr` is a function
            // of this store.
            #[allow(unsafe_code)]
            unsafe {
                crate::vm::entry::call_ref(s, &fr, &mut values)?
            };
        }
        Ok(Instance { store: s.id, index })
    }

    fn check(&self, store: &StoreOpaque) -> Result<()> {
        if store.id != self.store {
            return Err(Error::wrong_store("instance"));
        }
        Ok(())
    }

    /// The module this is an instance of.
    pub fn module(&self, store: impl AsContextMut) -> Result<Module> {
        let s = store.opaque();
        self.check(s)?;
        Ok(s.instance(self.index).module.clone())
    }

    /// The export called `name`.
    pub fn get_export(&self, store: impl AsContextMut, name: &str) -> Option<Extern> {
        let s = store.opaque();
        self.check(s).ok()?;
        let inst = s.instance(self.index);
        let export = inst.module.info().export(name)?;
        Some(match export.kind {
            ExportKind::Func(f) => Extern::Func(Func::from_raw(s, inst.func_ref(f)?)?),
            ExportKind::Table(t) => Extern::Table(Table::from_index(s, *inst.tables.get(t.index())?)),
            ExportKind::Memory(m) => {
                let index = *inst.memories.get(m.index())?;
                match &s.memories[index].storage {
                    MemoryStorage::Shared(shared) => Extern::SharedMemory(SharedMemory(shared.clone())),
                    MemoryStorage::Owned(_) => Extern::Memory(Memory::from_index(s, index)),
                }
            }
            ExportKind::Global(g) => Extern::Global(Global::from_index(s, *inst.globals.get(g.index())?)),
            ExportKind::Tag(t) => Extern::Tag(Tag::from_index(s, *inst.tags.get(t.index())?)),
        })
    }

    /// All exports, in name order.
    pub fn exports(&self, mut store: impl AsContextMut) -> Vec<(String, Extern)> {
        let names: Vec<String> = match self.module(&mut store) {
            Ok(m) => m.exports().map(|e| e.name.to_string()).collect(),
            Err(_) => return Vec::new(),
        };
        names.into_iter().filter_map(|n| Some((n.clone(), self.get_export(&mut store, &n)?))).collect()
    }

    /// The exported function `name`.
    pub fn get_func(&self, store: impl AsContextMut, name: &str) -> Option<Func> {
        self.get_export(store, name)?.into_func()
    }

    /// The exported function `name` with static types; fails if it does not
    /// exist or has another type.
    pub fn get_typed_func<P: WasmParams, R: WasmResults>(
        &self,
        mut store: impl AsContextMut,
        name: &str,
    ) -> Result<TypedFunc<P, R>> {
        let f = self
            .get_func(&mut store, name)
            .ok_or_else(|| Error::not_found(format!("no exported function `{name}`")))?;
        f.typed(store).map_err(|e| Error::ty(format!("exported function `{name}`: {e}")))
    }

    /// The exported memory `name`.
    pub fn get_memory(&self, store: impl AsContextMut, name: &str) -> Option<Memory> {
        self.get_export(store, name)?.into_memory()
    }

    /// The exported shared memory `name`.
    pub fn get_shared_memory(&self, store: impl AsContextMut, name: &str) -> Option<SharedMemory> {
        self.get_export(store, name)?.into_shared_memory()
    }

    /// The exported table `name`.
    pub fn get_table(&self, store: impl AsContextMut, name: &str) -> Option<Table> {
        self.get_export(store, name)?.into_table()
    }

    /// The exported global `name`.
    pub fn get_global(&self, store: impl AsContextMut, name: &str) -> Option<Global> {
        self.get_export(store, name)?.into_global()
    }
}

/// A store context over a bare `StoreOpaque`, for APIs taking
/// `impl AsContextMut` from inside the runtime.
fn s_ctx(s: &mut StoreOpaque) -> OpaqueCtx<'_> {
    OpaqueCtx(s)
}

struct OpaqueCtx<'a>(&'a mut StoreOpaque);

impl AsContextMut for OpaqueCtx<'_> {
    type Data = ();
    fn opaque(&self) -> &StoreOpaque {
        self.0
    }
    fn opaque_mut(&mut self) -> &mut StoreOpaque {
        self.0
    }
}
