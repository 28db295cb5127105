//! [`Global`]: a global variable, read and written from the host.

use crate::error::{Error, Result};
use crate::store::AsContextMut;
use crate::values::{GlobalType, Val};
use crate::vm::instance::StoreOpaque;

/// A global of a store. A handle (`Copy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Global {
    store: u64,
    index: usize,
}

fn to_raw(s: &mut StoreOpaque, v: Val) -> Result<crate::vm::vmctx::ValRaw> {
    match v {
        Val::FuncRef(Some(f)) => Ok(crate::vm::vmctx::ValRaw::ref_(f.to_wasm(s)?)),
        other => other.to_raw(s),
    }
}

impl Global {
    pub(crate) fn from_index(store: &StoreOpaque, index: usize) -> Global {
        Global { store: store.id, index }
    }

    /// This global's index in `store`, which must be its own.
    ///
    /// # Panics
    /// If the handle belongs to another store (a host programming error, as
    /// in Wasmtime; fallible methods return an error instead).
    fn own(&self, store: &StoreOpaque) -> usize {
        assert_eq!(store.id, self.store, "global used with a store it does not belong to");
        self.index
    }

    pub(crate) fn index_in(&self, store: &StoreOpaque) -> Result<usize> {
        if store.id != self.store {
            return Err(Error::wrong_store("global"));
        }
        Ok(self.index)
    }

    /// A new global owned by the host.
    pub fn new(mut store: impl AsContextMut, ty: GlobalType, value: Val) -> Result<Global> {
        if !value.matches(store.opaque(), ty.content)? {
            return Err(Error::ty(format!("global of type {} cannot hold a {}", ty.content, value.ty())));
        }
        let s = store.opaque_mut();
        let raw = to_raw(s, value)?;
        let index = s.new_global(ty, raw);
        Ok(Global { store: s.id, index })
    }

    /// Its type.
    pub fn ty(&self, store: impl AsContextMut) -> GlobalType {
        let s = store.opaque();
        s.globals[self.own(s)].ty
    }

    /// Its value.
    pub fn get(&self, store: impl AsContextMut) -> Val {
        let s = store.opaque();
        let g = &s.globals[self.own(s)];
        Val::from_raw(s, g.get(), g.ty.content)
    }

    /// Set its value (mutable globals only).
    pub fn set(&self, mut store: impl AsContextMut, value: Val) -> Result<()> {
        let s = store.opaque_mut();
        self.index_in(s)?;
        let ty = s.globals[self.index].ty;
        if !ty.mutable {
            return Err(Error::ty("cannot set an immutable global"));
        }
        if !value.matches(s, ty.content)? {
            return Err(Error::ty(format!("global of type {} cannot hold a {}", ty.content, value.ty())));
        }
        let raw = to_raw(s, value)?;
        s.globals[self.index].set(raw);
        Ok(())
    }
}
