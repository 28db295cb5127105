//! [`Memory`]: a linear memory, read and written from the host with
//! checked guest ranges.

use crate::error::{Error, Result};
use crate::store::AsContextMut;
use crate::values::MemoryType;
use crate::vm::instance::{StoreOpaque, StoredMemory};
use crate::vm::linear_memory::LinearMemory;

/// A linear memory of a store. A handle (`Copy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Memory {
    store: u64,
    index: usize,
}

impl Memory {
    pub(crate) fn from_index(store: &StoreOpaque, index: usize) -> Memory {
        Memory { store: store.id, index }
    }

    /// This memory's index in `store`, which must be its own.
    ///
    /// # Panics
    /// If the handle belongs to another store (a host programming error, as
    /// in Wasmtime; fallible methods return an error instead).
    fn own(&self, store: &StoreOpaque) -> usize {
        assert_eq!(store.id, self.store, "memory used with a store it does not belong to");
        self.index
    }

    pub(crate) fn index_in(&self, store: &StoreOpaque) -> Result<usize> {
        if store.id != self.store {
            return Err(Error::wrong_store("memory"));
        }
        Ok(self.index)
    }

    /// A new memory owned by the host (e.g. to import into modules).
    pub fn new(mut store: impl AsContextMut, ty: MemoryType) -> Result<Memory> {
        let s = store.opaque_mut();
        let index = s.new_memory(ty, &kiln_artifact::engine::Tunables::default())?;
        Ok(Memory { store: s.id, index })
    }

    /// Its type (with the declared limits).
    pub fn ty(&self, store: impl AsContextMut) -> MemoryType {
        let s = store.opaque();
        s.memories[self.own(s)].ty
    }

    /// Current size in wasm pages.
    pub fn size(&self, store: impl AsContextMut) -> u64 {
        let s = store.opaque();
        s.memories[self.own(s)].pages()
    }

    /// Current size in bytes.
    pub fn data_size(&self, store: impl AsContextMut) -> usize {
        let s = store.opaque();
        s.memories[self.own(s)].byte_len()
    }

    /// The memory's bytes.
    pub fn data<'a, S: AsContextMut>(&self, store: &'a S) -> &'a [u8] {
        let s = store.opaque();
        linear(&s.memories[self.own(s)]).data()
    }

    /// The memory's bytes, mutably.
    pub fn data_mut<'a, S: AsContextMut>(&self, store: &'a mut S) -> &'a mut [u8] {
        let s = store.opaque_mut();
        let i = self.own(s);
        linear_mut(&mut s.memories[i]).data_mut()
    }

    /// The memory's bytes and the store's host data, borrowed at the same
    /// time: what a host function needs to read and write guest memory
    /// while updating its own state (e.g. a WASI context in `T`). Safe
    /// because the host data and the store's memories are disjoint fields.
    ///
    /// # Panics
    ///
    /// If this memory belongs to another store.
    pub fn data_and_store_mut<'a, T: 'static>(
        &self,
        caller: &'a mut crate::Caller<'_, T>,
    ) -> (&'a mut [u8], &'a mut T) {
        let inner = &mut *caller.inner;
        assert_eq!(inner.opaque.id, self.store, "memory belongs to another store");
        (linear_mut(&mut inner.opaque.memories[self.index]).data_mut(), &mut inner.data)
    }

    /// Copy `buf.len()` bytes at guest address `offset` into `buf`.
    pub fn read(&self, store: impl AsContextMut, offset: usize, buf: &mut [u8]) -> Result<()> {
        let s = store.opaque();
        self.index_in(s)?;
        let m = &s.memories[self.index];
        m.read(offset as u64, buf).ok_or_else(|| oob(offset, buf.len(), m.byte_len()))
    }

    /// Copy `bytes` to guest address `offset`.
    pub fn write(&self, mut store: impl AsContextMut, offset: usize, bytes: &[u8]) -> Result<()> {
        let s = store.opaque_mut();
        self.index_in(s)?;
        let m = &mut s.memories[self.index];
        let size = m.byte_len();
        m.write(offset as u64, bytes).ok_or_else(|| oob(offset, bytes.len(), size))
    }

    /// Grow by `delta` pages; returns the old size in pages.
    pub fn grow(&self, mut store: impl AsContextMut, delta: u64) -> Result<u64> {
        let s = store.opaque_mut();
        self.index_in(s)?;
        s.grow_memory(self.index, delta)
            .ok_or_else(|| Error::out_of_bounds(format!("cannot grow memory by {delta} pages")))
    }
}

// A `Memory` handle is only ever made for a memory its store owns alone:
// a shared one is a `SharedMemory`, whose bytes are never lent as a slice.
fn linear(m: &StoredMemory) -> &LinearMemory {
    m.linear().expect("a Memory handle names a memory its store owns")
}

fn linear_mut(m: &mut StoredMemory) -> &mut LinearMemory {
    m.linear_mut().expect("a Memory handle names a memory its store owns")
}

#[cold]
fn oob(offset: usize, len: usize, size: usize) -> Error {
    Error::out_of_bounds(format!("guest range {offset:#x}+{len:#x} is outside the {size:#x}-byte memory"))
}
