//! [`Table`]: a table of references, accessed from the host.

use crate::error::{Error, Result};
use crate::store::AsContextMut;
use crate::values::{RefType, TableType, Val};
use crate::vm::instance::StoreOpaque;

/// A table of a store. A handle (`Copy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Table {
    store: u64,
    index: usize,
}

fn ref_to_raw(s: &mut StoreOpaque, ty: RefType, v: Val) -> Result<usize> {
    if !v.matches(s, crate::values::ValType::Ref(ty))? {
        return Err(Error::ty(format!("a {ty} table cannot hold a {}", v.ty())));
    }
    match v {
        Val::FuncRef(None) | Val::ExternRef(None) | Val::ExnRef(None) => Ok(0),
        Val::ExnRef(Some(x)) => x.to_raw(s),
        Val::FuncRef(Some(f)) => f.to_wasm(s),
        Val::ExternRef(Some(r)) => r.to_raw(s),
        other => Err(Error::ty(format!("a {ty} table cannot hold a {}", other.ty()))),
    }
}

impl Table {
    pub(crate) fn from_index(store: &StoreOpaque, index: usize) -> Table {
        Table { store: store.id, index }
    }

    /// This table's index in `store`, which must be its own.
    ///
    /// # Panics
    /// If the handle belongs to another store (a host programming error, as
    /// in Wasmtime; fallible methods return an error instead).
    fn own(&self, store: &StoreOpaque) -> usize {
        assert_eq!(store.id, self.store, "table used with a store it does not belong to");
        self.index
    }

    pub(crate) fn index_in(&self, store: &StoreOpaque) -> Result<usize> {
        if store.id != self.store {
            return Err(Error::wrong_store("table"));
        }
        Ok(self.index)
    }

    /// A new table owned by the host, every element set to `init`.
    pub fn new(mut store: impl AsContextMut, ty: TableType, init: Val) -> Result<Table> {
        let s = store.opaque_mut();
        let raw = ref_to_raw(s, ty.element, init)?;
        let index = s.new_table(ty, raw)?;
        Ok(Table { store: s.id, index })
    }

    /// Its type.
    pub fn ty(&self, store: impl AsContextMut) -> TableType {
        let s = store.opaque();
        s.tables[self.own(s)].ty
    }

    /// Current number of elements.
    pub fn size(&self, store: impl AsContextMut) -> u64 {
        let s = store.opaque();
        s.tables[self.own(s)].elements.len() as u64
    }

    /// Element `i`, if in bounds.
    pub fn get(&self, store: impl AsContextMut, i: u64) -> Option<Val> {
        let s = store.opaque();
        self.index_in(s).ok()?;
        let t = &s.tables[self.index];
        let raw = *t.elements.get(usize::try_from(i).ok()?)?;
        Some(match t.ty.element.heap.top() {
            crate::values::HeapType::Extern => Val::ExternRef(crate::ExternRef::from_raw(s, raw)),
            crate::values::HeapType::Exn => Val::ExnRef(crate::tag::ExnRef::from_raw(s, raw)),
            _ => Val::FuncRef(crate::Func::from_raw(s, raw)),
        })
    }

    /// Set element `i`.
    pub fn set(&self, mut store: impl AsContextMut, i: u64, v: Val) -> Result<()> {
        let s = store.opaque_mut();
        self.index_in(s)?;
        let raw = ref_to_raw(s, s.tables[self.index].ty.element, v)?;
        let t = &mut s.tables[self.index];
        let len = t.elements.len();
        let slot = usize::try_from(i)
            .ok()
            .and_then(|i| t.elements.get_mut(i))
            .ok_or_else(|| Error::out_of_bounds(format!("table index {i} is outside the {len}-element table")))?;
        *slot = raw;
        Ok(())
    }

    /// Grow by `delta` elements set to `init`; returns the old size.
    pub fn grow(&self, mut store: impl AsContextMut, delta: u64, init: Val) -> Result<u64> {
        let s = store.opaque_mut();
        self.index_in(s)?;
        let raw = ref_to_raw(s, s.tables[self.index].ty.element, init)?;
        s.grow_table(self.index, delta, raw)
            .ok_or_else(|| Error::out_of_bounds(format!("cannot grow table by {delta} elements")))
    }
}
