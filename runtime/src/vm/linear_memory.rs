//! [`LinearMemory`]: the storage of one defined wasm memory.
//!
//! The base address never changes, so compiled code may keep it in a
//! register for a whole function. The whole region a memory may ever use is
//! reserved up front and growing only changes protection:
//!
//! ```text
//!  base                 base + byte_len      base + reservation     + guard
//!  ├── accessible (RW) ──┼── reserved (none) ──┼──── guard (none) ────┤
//!  │ min pages, grown    │ future growth;      │ catches accesses     │
//!  │ by mprotect         │ faults if touched   │ base + index + offset│
//! ```
//!
//! * **Guard pages** (a 32-bit memory with `BoundsChecks::GuardPages`): the
//!   region is exactly `memory_reservation + memory_guard_size` bytes from
//!   the tunables the code was compiled with. With the default 4 GiB + 2 GiB,
//!   any 32-bit index plus a static offset below the guard size lands in
//!   this region, so compiled code does no bounds check and an
//!   out-of-bounds access faults into an inaccessible page — a trap.
//! * **Explicit** bounds checks (and every memory64): compiled code compares
//!   each access with the current length, so the region is only as large as
//!   the memory can grow: the declared maximum, capped by
//!   `memory_reservation` (but at least the minimum), plus the guard.
//!
//! Growing past the declared maximum, past the wasm limit (65536 pages for a
//! 32-bit memory) or past the reservation fails, which `memory.grow`
//! reports as -1. Memory is never executable.

use super::mmap::Mmap;
use super::sys;
use super::vmctx::VMMemoryDefinition;
use kiln_artifact::engine::{BoundsChecks, Tunables};
use kiln_artifact::types::MemoryType;
use kiln_artifact::WASM_PAGE_SIZE;

/// Largest number of pages of a 32-bit memory (4 GiB).
const MAX_PAGES_32: u64 = 1 << 16;
/// Largest number of pages of a 64-bit memory (2^64 bytes).
const MAX_PAGES_64: u64 = 1 << 48;

/// Reservations of dropped memories, kept for reuse: reserving and
/// releasing gigabytes of address space costs more than discarding the few
/// pages a memory touched. Bounded so an idle process holds little.
static RESERVATIONS: std::sync::Mutex<Vec<Mmap>> = std::sync::Mutex::new(Vec::new());
const MAX_POOLED_RESERVATIONS: usize = 16;

/// A pooled reservation of exactly `len` bytes, all inaccessible.
fn pooled_reservation(len: usize) -> Option<Mmap> {
    let mut pool = RESERVATIONS.lock().ok()?;
    let i = pool.iter().position(|m| m.len() == len)?;
    Some(pool.swap_remove(i))
}

/// One linear memory: a fixed reservation, an accessible prefix.
#[derive(Debug)]
pub struct LinearMemory {
    mmap: Mmap,
    /// Accessible bytes: `pages * WASM_PAGE_SIZE`.
    byte_len: usize,
    /// Bytes that may ever become accessible (the mapping minus its guard).
    reservation: usize,
    /// The most pages growth may reach.
    max_pages: u64,
}

impl Drop for LinearMemory {
    fn drop(&mut self) {
        // Discard the pages the guest used (they read as zero when the
        // next memory makes them accessible) and pool the reservation; if
        // that fails, the mapping is simply unmapped.
        let mut mmap = std::mem::replace(&mut self.mmap, Mmap::empty());
        if mmap.is_empty() || mmap.decommit(0, self.byte_len).is_err() {
            return;
        }
        if let Ok(mut pool) = RESERVATIONS.lock() {
            if pool.len() < MAX_POOLED_RESERVATIONS {
                pool.push(mmap);
            }
        }
    }
}

impl LinearMemory {
    /// Reserve and initialise a memory of type `ty` for code compiled with
    /// `tunables`. The first `ty.limits.min` pages are accessible and zero.
    pub fn new(ty: &MemoryType, tunables: &Tunables) -> Result<LinearMemory, String> {
        if ty.shared {
            return Err("shared memories are not supported".into());
        }
        if sys::page_size() as u64 > WASM_PAGE_SIZE {
            return Err(format!("host pages of {} bytes are larger than wasm pages", sys::page_size()));
        }
        let limit = if ty.memory64 { MAX_PAGES_64 } else { MAX_PAGES_32 };
        let min = ty.limits.min;
        let max = ty.limits.max.unwrap_or(limit).min(limit);
        if min > max {
            return Err(format!("memory minimum of {min} pages exceeds its maximum of {max}"));
        }
        let min_bytes = min * WASM_PAGE_SIZE; // min <= 2^48: cannot overflow
        let reservation = if !ty.memory64 && tunables.bounds_checks == BoundsChecks::GuardPages {
            // Compiled code relies on exactly this much address space.
            let r = tunables.memory_reservation;
            if !r.is_multiple_of(WASM_PAGE_SIZE) {
                return Err(format!("memory reservation of {r} bytes is not a whole number of wasm pages"));
            }
            if min_bytes > r {
                return Err(format!(
                    "memory of {min} pages does not fit the memory reservation of {r} bytes the module was compiled with"
                ));
            }
            r
        } else {
            let max_bytes = max.saturating_mul(WASM_PAGE_SIZE);
            let cap = tunables.memory_reservation / WASM_PAGE_SIZE * WASM_PAGE_SIZE;
            max_bytes.min(cap).max(min_bytes)
        };
        let too_big = || {
            format!(
                "a memory reservation of {reservation} bytes plus a {} byte guard does not fit this host's address space",
                tunables.memory_guard_size
            )
        };
        let total = reservation.checked_add(tunables.memory_guard_size).ok_or_else(too_big)?;
        let total = usize::try_from(total).map_err(|_| too_big())?;
        let reservation = reservation as usize; // <= total, which fits
        let min_bytes = min_bytes as usize; // <= reservation
        let mut mmap = match pooled_reservation(total) {
            Some(m) => m,
            None => {
                Mmap::reserve(total).map_err(|e| format!("cannot reserve {total} bytes for a linear memory: {e}"))?
            }
        };
        mmap.make_accessible(0, min_bytes)
            .map_err(|e| format!("cannot make {min_bytes} bytes of linear memory accessible: {e}"))?;
        Ok(LinearMemory {
            mmap,
            byte_len: min_bytes,
            reservation,
            max_pages: max.min((reservation as u64) / WASM_PAGE_SIZE),
        })
    }

    /// Grow by `delta_pages` zeroed pages without moving. Returns the
    /// previous size in pages, or `None` (and changes nothing) if the new
    /// size would exceed the maximum or the host refuses the memory.
    pub fn grow(&mut self, delta_pages: u64) -> Option<u64> {
        let old = self.pages();
        let new = old.checked_add(delta_pages)?;
        if new > self.max_pages {
            return None;
        }
        // new <= max_pages <= reservation / WASM_PAGE_SIZE: fits in usize.
        let new_bytes = (new * WASM_PAGE_SIZE) as usize;
        if new_bytes > self.byte_len {
            // Pages never accessible before are still the zero pages of the
            // fresh mapping.
            self.mmap.make_accessible(self.byte_len, new_bytes - self.byte_len).ok()?;
            self.byte_len = new_bytes;
        }
        Some(old)
    }

    /// Byte 0 of the memory (fixed for the memory's lifetime).
    pub fn base(&self) -> *mut u8 {
        self.mmap.as_mut_ptr()
    }

    /// Accessible length in bytes.
    pub fn byte_len(&self) -> usize {
        self.byte_len
    }

    /// Current size in wasm pages.
    pub fn pages(&self) -> u64 {
        self.byte_len as u64 / WASM_PAGE_SIZE
    }

    /// The most pages this memory can grow to.
    pub fn max_pages(&self) -> u64 {
        self.max_pages
    }

    /// Bytes of address space reserved for the memory itself, guard excluded.
    pub fn reservation(&self) -> usize {
        self.reservation
    }

    /// The memory as compiled code sees it.
    pub fn vmmemory(&self) -> VMMemoryDefinition {
        VMMemoryDefinition { base: self.base(), current_length: self.byte_len }
    }

    /// Write base and current length into the definition compiled code
    /// reads (after instantiation and after every growth).
    pub fn update_definition(&self, def: &mut VMMemoryDefinition) {
        *def = self.vmmemory();
    }

    /// The accessible bytes.
    pub fn data(&self) -> &[u8] {
        // SAFETY: `[0, byte_len)` was made read-write and stays so for the
        // lifetime of `self` (protection only ever widens, under `&mut`).
        // Compiled code may write through the base pointer, but only while
        // wasm runs, during which the host holds no borrow of the memory.
        unsafe { self.mmap.slice(0..self.byte_len) }
    }

    /// The accessible bytes, writable.
    pub fn data_mut(&mut self) -> &mut [u8] {
        let len = self.byte_len;
        // SAFETY: as in `data`; `&mut self` makes the borrow exclusive.
        unsafe { self.mmap.slice_mut(0..len) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_artifact::types::Limits;

    fn memory(min: u64, max: Option<u64>) -> MemoryType {
        MemoryType { limits: Limits { min, max }, memory64: false, shared: false }
    }

    #[cfg(target_pointer_width = "64")]
    #[test]
    fn a_reused_reservation_starts_zeroed_and_inaccessible() {
        let tunables = Tunables::default();
        for round in 0..(MAX_POOLED_RESERVATIONS + 3) {
            let mut m = LinearMemory::new(&memory(1, Some(4)), &tunables).unwrap();
            assert_eq!(m.byte_len(), 65536);
            assert!(m.data().iter().all(|&b| b == 0), "round {round}: stale bytes from an earlier memory");
            m.grow(2).unwrap();
            m.data_mut().fill(0xab);
            // Dropped here: its pages are discarded and the reservation pooled.
        }
        let m = LinearMemory::new(&memory(1, Some(4)), &tunables).unwrap();
        assert_eq!(m.byte_len(), 65536, "only the minimum is accessible again");
        assert!(m.data().iter().all(|&b| b == 0));
    }

    #[cfg(target_pointer_width = "64")]
    #[test]
    fn grows_by_protection_up_to_the_maximum() {
        let mut m = LinearMemory::new(&memory(1, Some(10)), &Tunables::default()).unwrap();
        let base = m.base();
        assert_eq!((m.pages(), m.byte_len()), (1, 65536));
        assert_eq!(m.reservation(), 4 << 30, "guard-page memories reserve what the code was compiled for");
        m.data_mut()[65535] = 7;
        assert_eq!(m.grow(2), Some(1));
        assert_eq!(m.pages(), 3);
        assert_eq!(m.base(), base, "growth never moves the memory");
        assert_eq!(m.data()[65535], 7);
        assert!(m.data()[65536..].iter().all(|&b| b == 0));
        m.data_mut()[3 * 65536 - 1] = 1;
        assert_eq!(m.grow(8), None, "past the declared maximum");
        assert_eq!(m.pages(), 3);
        assert_eq!(m.grow(7), Some(3));
        assert_eq!(m.grow(0), Some(10));
        assert_eq!(m.grow(1), None);
        assert_eq!(m.grow(u64::MAX), None);
        let def = m.vmmemory();
        assert_eq!((def.base, def.current_length), (base, 10 * 65536));
    }

    #[cfg(target_pointer_width = "64")]
    #[test]
    fn a_32_bit_memory_stops_at_4_gib() {
        let mut m = LinearMemory::new(&memory(0, None), &Tunables::default()).unwrap();
        assert_eq!(m.byte_len(), 0);
        assert!(m.data().is_empty());
        assert_eq!(m.max_pages(), 65536);
        assert_eq!(m.grow(65536), Some(0));
        assert_eq!(m.grow(1), None);
        assert_eq!(m.byte_len(), 4 << 30);
    }

    #[cfg(all(target_pointer_width = "64", target_os = "linux"))]
    #[test]
    fn beyond_the_accessible_prefix_is_inaccessible() {
        use crate::vm::code_memory::tests::perms_over;
        let t = Tunables::default();
        let mut m = LinearMemory::new(&memory(2, None), &t).unwrap();
        m.grow(1).unwrap();
        let base = m.base() as usize;
        let accessible = perms_over(base, base + m.byte_len());
        assert!(accessible.iter().all(|p| p == "rw-p"), "{accessible:?}");
        let end = base + m.reservation() + t.memory_guard_size as usize;
        let rest = perms_over(base + m.byte_len(), end);
        assert!(!rest.is_empty() && rest.iter().all(|p| p == "---p"), "{rest:?}");
    }

    #[cfg(target_pointer_width = "64")]
    #[test]
    fn explicit_bounds_reserve_only_the_maximum() {
        let t = Tunables { bounds_checks: BoundsChecks::Explicit, memory_guard_size: 0, ..Tunables::default() };
        let mut m = LinearMemory::new(&memory(1, Some(4)), &t).unwrap();
        assert_eq!(m.reservation(), 4 * 65536);
        assert_eq!(m.grow(3), Some(1));
        assert_eq!(m.grow(1), None);

        // No maximum: as much as the tunables' reservation allows.
        let small = Tunables { memory_reservation: 16 * 65536, ..t.clone() };
        let mut m = LinearMemory::new(&memory(2, None), &small).unwrap();
        assert_eq!(m.max_pages(), 16);
        assert_eq!(m.grow(14), Some(2));
        assert_eq!(m.grow(1), None);

        // The minimum is always honoured.
        let m = LinearMemory::new(&memory(20, None), &small).unwrap();
        assert_eq!(m.pages(), 20);
        assert_eq!(m.max_pages(), 20);
    }

    #[cfg(target_pointer_width = "64")]
    #[test]
    fn memory64_uses_explicit_bounds() {
        let ty = MemoryType { limits: Limits { min: 1, max: None }, memory64: true, shared: false };
        let t = Tunables { memory_reservation: 1 << 20, ..Tunables::default() };
        let mut m = LinearMemory::new(&ty, &t).unwrap();
        assert_eq!(m.reservation(), 1 << 20);
        assert_eq!(m.grow(15), Some(1));
        assert_eq!(m.grow(1), None);
    }

    #[test]
    fn refuses_what_it_cannot_honour() {
        let shared = MemoryType { shared: true, ..memory(1, Some(1)) };
        assert!(LinearMemory::new(&shared, &Tunables::default()).is_err());
        let small = Tunables { memory_reservation: 65536, ..Tunables::default() };
        let e = LinearMemory::new(&memory(2, None), &small).unwrap_err();
        assert!(e.contains("does not fit the memory reservation"), "{e}");
        let odd = Tunables { memory_reservation: 65537, ..Tunables::default() };
        assert!(LinearMemory::new(&memory(0, None), &odd).is_err());
        let huge = Tunables { memory_reservation: u64::MAX - 65535, ..Tunables::default() };
        assert!(LinearMemory::new(&memory(0, None), &huge).is_err());
        assert!(LinearMemory::new(&memory(3, Some(2)), &Tunables::default()).is_err());
    }

    #[test]
    fn is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<LinearMemory>();
    }
}
