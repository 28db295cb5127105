//! The storage of a shared linear memory: one reservation that any number
//! of stores, on any number of threads, use at the same time.
//!
//! All of them must see one length, so the definition compiled code reads
//! (`VMMemoryDefinition`) lives here, not in a VMContext: the vmctx slot of
//! a shared memory — defined or imported — holds a pointer to it. The base
//! never changes (a `LinearMemory` grows in place); growth is serialised by
//! a mutex and publishes the new length with a release store, so a thread
//! that sees the length also sees the pages made accessible before it.
//!
//! The host's own reads and writes (`memory.fill`, `memory.copy`,
//! `memory.init`, data segments, the `SharedMemory` API) are byte copies
//! through raw pointers, never Rust references: other threads may be
//! writing the same bytes, which WebAssembly's memory model allows and a
//! `&mut [u8]` would not.

use super::linear_memory::LinearMemory;
use super::parking::{self, Expected, WaitResult};
use super::vmctx::VMMemoryDefinition;
use kiln_artifact::engine::Tunables;
use kiln_artifact::types::MemoryType;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// A shared linear memory and its one definition.
pub struct SharedLinearMemory {
    ty: MemoryType,
    memory: Mutex<LinearMemory>,
    /// From `Box::into_raw`; freed in `Drop`. `base` is written once, in
    /// `new`; `current_length` only atomically.
    def: NonNull<VMMemoryDefinition>,
    /// The whole mapping, guard included (fixed).
    mapped: std::ops::Range<usize>,
}

// SAFETY: the mapping is owned by the `LinearMemory` behind the mutex, and
// the definition is only written through atomics after construction; the
// raw pointers are what make the type !Send/!Sync by default, not any
// thread-affine state.
unsafe impl Send for SharedLinearMemory {}
// SAFETY: as above: every shared access is an atomic or a raw byte copy.
unsafe impl Sync for SharedLinearMemory {}

impl std::fmt::Debug for SharedLinearMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedLinearMemory").field("ty", &self.ty).field("byte_len", &self.byte_len()).finish()
    }
}

impl Drop for SharedLinearMemory {
    fn drop(&mut self) {
        // SAFETY: allocated by `Box::into_raw` in `new`; the last owner is
        // dropping, and compiled code using it held an owner (its store).
        drop(unsafe { Box::from_raw(self.def.as_ptr()) });
    }
}

impl SharedLinearMemory {
    /// Reserve a shared memory of type `ty` for code compiled with
    /// `tunables`. The type must say `shared` and have a maximum (the
    /// validator guarantees both for modules; the host API checks here).
    pub fn new(ty: &MemoryType, tunables: &Tunables) -> Result<SharedLinearMemory, String> {
        if !ty.shared {
            return Err("the memory type is not shared".into());
        }
        if ty.limits.max.is_none() {
            return Err("a shared memory must have a maximum size".into());
        }
        let memory = LinearMemory::new(ty, tunables)?;
        let def = NonNull::from(Box::leak(Box::new(memory.vmmemory())));
        let mapped = memory.mapped_range();
        Ok(SharedLinearMemory { ty: *ty, memory: Mutex::new(memory), def, mapped })
    }

    /// The declared type.
    pub fn ty(&self) -> MemoryType {
        self.ty
    }

    /// The definition every user's vmctx slot points to.
    pub fn def_ptr(&self) -> *mut VMMemoryDefinition {
        self.def.as_ptr()
    }

    fn length(&self) -> &AtomicUsize {
        // SAFETY: `def` is live while self is; the field is aligned for a
        // usize, and every access to it after `new` is atomic.
        unsafe { AtomicUsize::from_ptr(&raw mut (*self.def.as_ptr()).current_length) }
    }

    fn base(&self) -> *mut u8 {
        // SAFETY: `base` is written only in `new`, before any sharing.
        unsafe { (*self.def.as_ptr()).base }
    }

    /// Accessible length in bytes (it only grows).
    pub fn byte_len(&self) -> usize {
        self.length().load(Ordering::Acquire)
    }

    /// The whole mapping, guard included.
    pub fn mapped_range(&self) -> std::ops::Range<usize> {
        self.mapped.clone()
    }

    /// Current size in pages.
    pub fn pages(&self) -> u64 {
        self.byte_len() as u64 >> self.ty.page_size_log2
    }

    /// Grow by `delta` pages unless that passes the maximum or
    /// `limit_bytes`; the old size in pages.
    pub fn grow(&self, delta: u64, limit_bytes: u64) -> Option<u64> {
        let mut memory = self.memory.lock().unwrap_or_else(|e| e.into_inner());
        let new_bytes = memory.pages().checked_add(delta)?.checked_mul(self.ty.page_size())?;
        if new_bytes > limit_bytes {
            return None;
        }
        let old = memory.grow(delta)?;
        // After the pages became accessible: whoever reads the new length
        // may use them.
        self.length().store(memory.byte_len(), Ordering::Release);
        Some(old)
    }

    /// `[offset, offset + len)` as a pointer into the memory, if in bounds.
    fn range(&self, offset: u64, len: usize) -> Option<*mut u8> {
        let end = offset.checked_add(len as u64)?;
        if end > self.byte_len() as u64 {
            return None;
        }
        // SAFETY: in bounds of the accessible prefix, which never shrinks.
        Some(unsafe { self.base().add(offset as usize) })
    }

    /// Copy the bytes at `offset` into `buf`; `None` if out of bounds.
    pub fn read(&self, offset: u64, buf: &mut [u8]) -> Option<()> {
        let src = self.range(offset, buf.len())?;
        // SAFETY: `src..+len` is accessible (checked above) and cannot
        // overlap `buf`, which is host memory.
        unsafe { std::ptr::copy_nonoverlapping(src, buf.as_mut_ptr(), buf.len()) };
        Some(())
    }

    /// Copy `bytes` to `offset`; `None` (and nothing written) if out of
    /// bounds.
    pub fn write(&self, offset: u64, bytes: &[u8]) -> Option<()> {
        let dst = self.range(offset, bytes.len())?;
        // SAFETY: as in `read`, the other way round.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), dst, bytes.len()) };
        Some(())
    }

    /// `memory.fill`.
    pub fn fill(&self, offset: u64, len: u64, value: u8) -> Option<()> {
        let dst = self.range(offset, usize::try_from(len).ok()?)?;
        // SAFETY: the range is accessible (checked above).
        unsafe { std::ptr::write_bytes(dst, value, len as usize) };
        Some(())
    }

    /// `memory.copy` within this memory (ranges may overlap).
    pub fn copy_within(&self, src: u64, dst: u64, len: u64) -> Option<()> {
        let n = usize::try_from(len).ok()?;
        let (s, d) = (self.range(src, n)?, self.range(dst, n)?);
        // SAFETY: both ranges are accessible; `copy` allows overlap.
        unsafe { std::ptr::copy(s, d, n) };
        Some(())
    }

    /// `memory.atomic.wait32/64` from the host: checks what compiled code
    /// checks, then parks.
    pub fn wait(&self, addr: u64, expected: Expected, timeout: Option<Duration>) -> Result<WaitResult, &'static str> {
        let width = match expected {
            Expected::U32(_) => 4,
            Expected::U64(_) => 8,
        };
        if !addr.is_multiple_of(width) {
            return Err("unaligned atomic");
        }
        let p = self.range(addr, width as usize).ok_or("out of bounds memory access")?;
        // SAFETY: aligned and in bounds of a memory that never shrinks and
        // outlives the call (self is borrowed for it).
        Ok(unsafe { parking::wait(p, expected, timeout) })
    }

    /// `memory.atomic.notify` from the host.
    pub fn notify(&self, addr: u64, count: u32) -> Result<u32, &'static str> {
        if !addr.is_multiple_of(4) {
            return Err("unaligned atomic");
        }
        let p = self.range(addr, 4).ok_or("out of bounds memory access")?;
        Ok(parking::notify(p, count))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_artifact::types::Limits;

    fn shared(min: u64, max: u64) -> MemoryType {
        MemoryType { limits: Limits { min, max: Some(max) }, memory64: false, shared: true, page_size_log2: 16 }
    }

    #[test]
    fn grows_in_place_and_publishes_the_length() {
        let m = SharedLinearMemory::new(&shared(1, 3), &Tunables::default()).unwrap();
        // SAFETY: reading the definition, which nothing else writes here.
        let base = unsafe { (*m.def_ptr()).base };
        assert_eq!(m.grow(1, u64::MAX), Some(1));
        assert_eq!(m.byte_len(), 2 << 16);
        // SAFETY: as above.
        assert_eq!(unsafe { ((*m.def_ptr()).base, (*m.def_ptr()).current_length) }, (base, 2 << 16));
        assert_eq!(m.grow(2, u64::MAX), None, "past the maximum");
        assert_eq!(m.grow(1, 2 << 16), None, "past the store's limit");
        m.write((2 << 16) - 2, &[7, 8]).unwrap();
        assert!(m.write((2 << 16) - 1, &[7, 8]).is_none());
        let mut buf = [0; 2];
        m.read((2 << 16) - 2, &mut buf).unwrap();
        assert_eq!(buf, [7, 8]);
        m.copy_within((2 << 16) - 2, 0, 2).unwrap();
        m.fill(2, 2, 9).unwrap();
        m.read(0, &mut buf).unwrap();
        assert_eq!(buf, [7, 8]);
        m.read(2, &mut buf).unwrap();
        assert_eq!(buf, [9, 9]);
    }

    #[test]
    fn refuses_unshared_or_unbounded_types() {
        let t = Tunables::default();
        assert!(SharedLinearMemory::new(&MemoryType { shared: false, ..shared(1, 1) }, &t).is_err());
        let unbounded = MemoryType { limits: Limits { min: 1, max: None }, ..shared(1, 1) };
        assert!(SharedLinearMemory::new(&unbounded, &t).is_err());
    }

    #[test]
    fn host_wait_checks_alignment_and_bounds() {
        let m = SharedLinearMemory::new(&shared(1, 1), &Tunables::default()).unwrap();
        assert_eq!(m.wait(2, Expected::U32(0), None), Err("unaligned atomic"));
        assert_eq!(m.wait(1 << 16, Expected::U64(0), None), Err("out of bounds memory access"));
        assert_eq!(m.wait(0, Expected::U32(1), None), Ok(WaitResult::Mismatch));
        assert_eq!(m.wait(8, Expected::U64(0), Some(Duration::from_millis(1))), Ok(WaitResult::TimedOut));
        assert_eq!(m.notify(0, 1), Ok(0));
    }
}
