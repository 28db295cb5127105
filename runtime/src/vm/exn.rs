//! Exception objects: what an `exnref` points to.
//!
//! Each object is one heap block of `ValRaw` slots owned by the store: a
//! header slot (layout in `kiln_artifact::vmctx::exn`), then the values.
//! Compiled code reads the values and updates the `holds` word in place, so
//! the block never moves while it lives.
//!
//! **When objects are freed.** Wasm keeps `exnref`s in places the runtime
//! does not track (locals, operand stacks), so an object is freed only when
//! nothing can reach it:
//!
//! * at once, when a `catch`/`catch_all` (not `_ref`) lands with it and
//!   nothing holds it (no `exnref` was ever made of it, no legacy `catch`
//!   clause runs with it), or when it leaves wasm to the host (its values
//!   are copied into the host's [`Exception`](crate::Exception));
//! * otherwise, when the host next calls into the store with no wasm of
//!   it running: with no wasm on the stack, the only `exnref`s left are in
//!   globals, tables and the host's own [`ExnRef`](crate::ExnRef)s, and
//!   [`ExnHeap::sweep`] keeps what they reach.
//!
//! So a loop that throws and catches by value runs in constant memory; one
//! that keeps `exnref`s (`catch_ref`) frees them once it has returned to
//! the host.

use super::vmctx::ValRaw;
use core::ptr::NonNull;
use kiln_artifact::vmctx::exn;

/// One object's block. Owned through a raw pointer rather than a `Box`:
/// compiled code writes to it through the `exnref` while the heap owns it.
struct Object(NonNull<[ValRaw]>);

// SAFETY: the block is plain bytes owned by this value alone; the store
// that holds it is used by one thread at a time.
unsafe impl Send for Object {}

impl Object {
    fn new(len: usize) -> Object {
        let b = vec![ValRaw::default(); len].into_boxed_slice();
        Object(NonNull::from(Box::leak(b)))
    }

    fn addr(&self) -> usize {
        self.0.as_ptr() as *mut ValRaw as usize
    }

    fn slots(&self) -> &[ValRaw] {
        // SAFETY: the block is live until `drop`; compiled code writes to
        // it only while wasm runs, never during a borrow of the heap (which
        // builtins and the host take only while wasm is suspended or off
        // the stack).
        unsafe { self.0.as_ref() }
    }

    fn slots_mut(&mut self) -> &mut [ValRaw] {
        // SAFETY: as in `slots`, and `&mut self` is the only borrow.
        unsafe { self.0.as_mut() }
    }
}

impl Drop for Object {
    fn drop(&mut self) {
        // SAFETY: the block came from `Box::leak` in `new` and is freed once.
        drop(unsafe { Box::from_raw(self.0.as_ptr()) });
    }
}

/// The exception objects of a store.
#[derive(Default)]
pub struct ExnHeap {
    objects: Vec<Option<Object>>,
    free: Vec<u32>,
    live: usize,
    /// Address → slot: every `exnref` is checked against it before use.
    by_addr: std::collections::HashMap<usize, u32>,
    /// Objects the host has seen as [`ExnRef`](crate::ExnRef)s: kept for
    /// the store's life. Behind a lock because values are read from a
    /// shared borrow of the store.
    host_roots: std::sync::Mutex<std::collections::HashSet<usize>>,
}

/// The header of an object, as plain values.
#[derive(Debug, Clone, Copy)]
pub struct Header {
    /// The store's index of the thrown tag.
    pub tag: u32,
    /// How many values.
    pub len: u32,
    /// The `holds` word.
    pub holds: u32,
    /// Index in the heap.
    pub slot: u32,
}

fn header_of(block: &[ValRaw]) -> Header {
    let b = &block[0].bytes;
    let word = |at: usize| u32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
    Header { tag: word(0), len: word(4), holds: word(exn::HOLDS as usize), slot: word(12) }
}

impl ExnHeap {
    /// Whether no object lives.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// How many objects live.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.live
    }

    /// A new object of tag `tag` with `values`; returns its address (the
    /// `exnref`).
    pub fn alloc(&mut self, tag: u32, values: &[ValRaw]) -> usize {
        let slot = match self.free.pop() {
            Some(s) => s,
            None => {
                self.objects.push(None);
                (self.objects.len() - 1) as u32
            }
        };
        let mut object = Object::new(1 + values.len());
        let block = object.slots_mut();
        let h = &mut block[0].bytes;
        h[0..4].copy_from_slice(&tag.to_ne_bytes());
        h[4..8].copy_from_slice(&(values.len() as u32).to_ne_bytes());
        h[12..16].copy_from_slice(&slot.to_ne_bytes());
        block[1..].copy_from_slice(values);
        let addr = object.addr();
        let block = object;
        self.objects[slot as usize] = Some(block);
        self.by_addr.insert(addr, slot);
        self.live += 1;
        addr
    }

    /// The header and values of the object at `addr` (an `exnref` compiled
    /// code handed over), if it is a live object of this heap.
    pub fn get(&self, addr: usize) -> Option<(Header, &[ValRaw])> {
        let &slot = self.by_addr.get(&addr)?;
        let block = self.objects.get(slot as usize)?.as_ref()?.slots();
        Some((header_of(block), &block[1..]))
    }

    /// Keep the live object at `addr` for the store's life, for a host
    /// that now holds a reference to it; false if `addr` is none.
    pub fn root_for_host(&self, addr: usize) -> bool {
        if !self.by_addr.contains_key(&addr) {
            return false;
        }
        self.host_roots.lock().unwrap_or_else(|e| e.into_inner()).insert(addr);
        true
    }

    fn host_held(&self, addr: usize) -> bool {
        self.host_roots.lock().unwrap_or_else(|e| e.into_inner()).contains(&addr)
    }

    /// Free the object at `addr` unless something holds it.
    pub fn release(&mut self, addr: usize) {
        let Some((h, _)) = self.get(addr) else { return };
        if h.holds == 0 && !self.host_held(addr) {
            self.remove(h.slot);
        }
    }

    fn remove(&mut self, slot: u32) {
        if let Some(o) = self.objects.get_mut(slot as usize) {
            if let Some(b) = o.take() {
                self.by_addr.remove(&b.addr());
                self.live -= 1;
                self.free.push(slot);
            }
        }
    }

    /// Free every object not in `roots` (addresses found in globals and
    /// tables). Only while no wasm of the store runs.
    pub fn sweep(&mut self, roots: &std::collections::HashSet<usize>) {
        for slot in 0..self.objects.len() {
            let keep = match &self.objects[slot] {
                Some(b) => roots.contains(&b.addr()) || self.host_held(b.addr()),
                None => continue,
            };
            if !keep {
                self.remove(slot as u32);
            }
        }
        if self.live == 0 {
            self.objects.clear();
            self.free.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alloc_get_release() {
        let mut heap = ExnHeap::default();
        let a = heap.alloc(3, &[ValRaw::i32(7), ValRaw::i64(-1)]);
        let (h, v) = heap.get(a).unwrap();
        assert_eq!((h.tag, h.len, h.holds), (3, 2, 0));
        assert_eq!(v[0], ValRaw::i32(7));
        heap.release(a);
        assert!(heap.get(a).is_none() && heap.is_empty());
        let b = heap.alloc(1, &[]);
        let c = heap.alloc(2, &[]);
        heap.sweep(&[c].into_iter().collect());
        assert!(heap.get(b).is_none() && heap.get(c).is_some() && heap.len() == 1);
        assert!(heap.get(0).is_none() && heap.get(c + 16).is_none());
    }
}
