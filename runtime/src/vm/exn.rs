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
//! * otherwise, when the outermost call into the store returns: with no
//!   wasm on the stack, the only `exnref`s left are in globals and tables,
//!   and [`ExnHeap::sweep`] keeps what they reach.
//!
//! So a loop that throws and catches by value runs in constant memory; one
//! that keeps `exnref`s (`catch_ref`) frees them when it returns to the
//! host.

use super::vmctx::ValRaw;
use kiln_artifact::vmctx::exn;

/// The exception objects of a store.
#[derive(Default)]
pub struct ExnHeap {
    objects: Vec<Option<Box<[ValRaw]>>>,
    free: Vec<u32>,
    live: usize,
    /// Address → slot: every `exnref` is checked against it before use.
    by_addr: std::collections::HashMap<usize, u32>,
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
    pub fn len(&self) -> usize {
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
        let mut block = vec![ValRaw::default(); 1 + values.len()].into_boxed_slice();
        let h = &mut block[0].bytes;
        h[0..4].copy_from_slice(&tag.to_ne_bytes());
        h[4..8].copy_from_slice(&(values.len() as u32).to_ne_bytes());
        h[12..16].copy_from_slice(&slot.to_ne_bytes());
        block[1..].copy_from_slice(values);
        let addr = block.as_ptr() as usize;
        self.objects[slot as usize] = Some(block);
        self.by_addr.insert(addr, slot);
        self.live += 1;
        addr
    }

    /// The header and values of the object at `addr` (an `exnref` compiled
    /// code handed over), if it is a live object of this heap.
    pub fn get(&self, addr: usize) -> Option<(Header, &[ValRaw])> {
        let &slot = self.by_addr.get(&addr)?;
        let block = self.objects.get(slot as usize)?.as_deref()?;
        Some((header_of(block), &block[1..]))
    }

    /// Free the object at `addr` unless something holds it.
    pub fn release(&mut self, addr: usize) {
        let Some((h, _)) = self.get(addr) else { return };
        if h.holds == 0 {
            self.remove(h.slot);
        }
    }

    fn remove(&mut self, slot: u32) {
        if let Some(o) = self.objects.get_mut(slot as usize) {
            if let Some(b) = o.take() {
                self.by_addr.remove(&(b.as_ptr() as usize));
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
                Some(b) => roots.contains(&(b.as_ptr() as usize)),
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
