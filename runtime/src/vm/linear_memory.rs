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
//! Growing past the declared maximum, past the wasm limit (4 GiB for a
//! 32-bit memory) or past the reservation fails, which `memory.grow`
//! reports as -1. Memory is never executable.
//!
//! **Page sizes.** Pages are 64 KiB, or 1 byte for a memory that asks for
//! it (custom page sizes). Protection works in host pages, so such a
//! memory's accessible region is its length rounded up to a host page;
//! compiled code checks every access to it explicitly (`bounds.rs`), which
//! is why the rounding is harmless.
//!
//! **Reuse.** A dropped memory's reservation goes to a small process-wide
//! pool with one `madvise(MADV_DONTNEED)` over its accessible prefix, which
//! keeps its protection and any memory image (`vm::memory_image`) mapped at
//! its start: anonymous pages read as zero again, image pages as the image.
//! The next memory of the same size changes only what differs — the
//! protection between the old and the new length, and the image if it is
//! another module's — so instantiating the same module again costs no
//! system call. Two invariants hold for every memory, new or reused: all
//! bytes past its current length are inaccessible (guard-page bounds checks
//! depend on it), and it reads as zero except for its own image.

use super::memory_image::{MappedImage, MemoryImage};
use super::mmap::Mmap;
use super::sys;
use super::vmctx::VMMemoryDefinition;
use kiln_artifact::engine::{BoundsChecks, Tunables};
use kiln_artifact::types::MemoryType;
use kiln_artifact::WASM_PAGE_SIZE;

/// The most pages a memory of type `ty` may have: 4 GiB of 32-bit memory
/// (2^32 - 1 one-byte pages, so that `memory.size` fits an i32), or all of
/// a 64-bit address space.
fn max_pages_of(ty: &MemoryType) -> u64 {
    match (ty.memory64, ty.page_size_log2) {
        (false, 16) => 1 << 16,
        (false, _) => u64::from(u32::MAX) >> ty.page_size_log2,
        (true, log2) => u64::MAX >> log2,
    }
}

/// `bytes` rounded up to whole host pages: what protection can express.
fn host_pages(bytes: usize) -> usize {
    bytes.next_multiple_of(sys::page_size())
}

/// Reservations of dropped memories, kept for reuse: reserving and
/// releasing gigabytes of address space costs more than discarding the few
/// pages a memory touched. Bounded so an idle process holds little.
static RESERVATIONS: std::sync::Mutex<Vec<PooledSlot>> = std::sync::Mutex::new(Vec::new());
const MAX_POOLED_RESERVATIONS: usize = 16;

/// A reservation as its last memory left it, with its contents discarded.
/// It keeps its protection and its image mapping, so reusing it for the
/// same module costs no system call; what it remembers is exactly what
/// the next user has to undo.
#[derive(Debug)]
struct PooledSlot {
    mmap: Mmap,
    /// `[0, accessible)` is read-write, everything after it inaccessible.
    accessible: usize,
    /// The image mapped inside `[0, accessible)`, if any.
    image: Option<MappedImage>,
}

/// The pooled reservation of exactly `len` bytes that needs the least work
/// to become a memory of `min_bytes` with `image` mapped.
fn pooled_reservation(len: usize, min_bytes: usize, image: Option<MappedImage>) -> Option<PooledSlot> {
    let mut pool = RESERVATIONS.lock().ok()?;
    let cost = |s: &PooledSlot| {
        let remap = match (s.image, image) {
            (a, b) if a == b => 0,
            (Some(_), Some(_)) => 2,
            _ => 1,
        };
        remap * 2 + usize::from(s.accessible != min_bytes)
    };
    let i = (0..pool.len()).filter(|&i| pool[i].mmap.len() == len).min_by_key(|&i| cost(&pool[i]))?;
    // `remove`, not `swap_remove`: the pool stays ordered oldest first.
    Some(pool.remove(i))
}

/// Return a discarded reservation to the pool; the oldest one makes room if
/// the pool is full, since the newest is the likeliest to be wanted again.
fn pool_reservation(slot: PooledSlot) {
    let evicted = match RESERVATIONS.lock() {
        Ok(mut pool) => {
            let evicted = (pool.len() >= MAX_POOLED_RESERVATIONS).then(|| pool.remove(0));
            pool.push(slot);
            evicted
        }
        Err(_) => Some(slot),
    };
    // Unmapped here, outside the lock.
    drop(evicted);
}

/// One linear memory: a fixed reservation, an accessible prefix.
#[derive(Debug)]
pub struct LinearMemory {
    mmap: Mmap,
    /// The memory's length: `pages * page size`.
    byte_len: usize,
    /// Log2 of the page size (16, or 0 for 1-byte pages).
    page_size_log2: u8,
    /// Bytes that may ever become accessible (the mapping minus its guard).
    reservation: usize,
    /// The most pages growth may reach.
    max_pages: u64,
    /// The image mapped over the start of the memory, if any; it lies
    /// within the initial size, so growth never touches it.
    image: Option<MappedImage>,
}

impl Drop for LinearMemory {
    fn drop(&mut self) {
        // Discard what the guest wrote — anonymous pages read as zero and
        // image pages as the image again — and pool the reservation as it
        // is; if that fails, the mapping is simply unmapped.
        let mut mmap = std::mem::replace(&mut self.mmap, Mmap::empty());
        let accessible = host_pages(self.byte_len);
        if mmap.is_empty() || mmap.discard(0, accessible).is_err() {
            return;
        }
        pool_reservation(PooledSlot { mmap, accessible, image: self.image });
    }
}

impl LinearMemory {
    /// Reserve and initialise a memory of type `ty` for code compiled with
    /// `tunables`. The first `ty.limits.min` pages are accessible and zero.
    pub fn new(ty: &MemoryType, tunables: &Tunables) -> Result<LinearMemory, String> {
        LinearMemory::with_image(ty, tunables, None)
    }

    /// Like [`LinearMemory::new`], with `image` (which must lie within the
    /// initial size) mapped copy-on-write over the start of the memory. If
    /// the host refuses the mapping the memory is still created, without
    /// the image: [`LinearMemory::has_image`] tells the caller to copy.
    pub fn with_image(
        ty: &MemoryType,
        tunables: &Tunables,
        image: Option<&MemoryImage>,
    ) -> Result<LinearMemory, String> {
        if sys::page_size() as u64 > WASM_PAGE_SIZE {
            return Err(format!("host pages of {} bytes are larger than wasm pages", sys::page_size()));
        }
        let limit = max_pages_of(ty);
        let page_size = ty.page_size();
        let min = ty.limits.min;
        let max = ty.limits.max.unwrap_or(limit).min(limit);
        if min > max {
            return Err(format!("memory minimum of {min} pages exceeds its maximum of {max}"));
        }
        let min_bytes = min << ty.page_size_log2; // min <= limit: cannot overflow
        let guard_pages = tunables.bounds_checks == BoundsChecks::GuardPages && sys::RESERVATION_LIMIT.is_none();
        let reservation = if !ty.memory64 && guard_pages {
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
            let max_bytes = max << ty.page_size_log2; // max <= limit: cannot overflow
            let cap = tunables.memory_reservation / WASM_PAGE_SIZE * WASM_PAGE_SIZE;
            let cap = sys::RESERVATION_LIMIT.map_or(cap, |limit| cap.min(limit));
            // Whole host pages, for a memory of 1-byte pages.
            max_bytes.min(cap).max(min_bytes).next_multiple_of(sys::page_size() as u64)
        };
        let guard = if sys::RESERVATION_LIMIT.is_some() { 0 } else { tunables.memory_guard_size };
        let too_big = || {
            format!(
                "a memory reservation of {reservation} bytes plus a {guard} byte guard does not fit this host's address space"
            )
        };
        let total = reservation.checked_add(guard).ok_or_else(too_big)?;
        let total = usize::try_from(total).map_err(|_| too_big())?;
        let reservation = reservation as usize; // <= total, which fits
        let min_bytes = min_bytes as usize; // <= reservation
        let wanted = image.map(MemoryImage::mapped);
        if wanted.is_some_and(|w| w.offset.checked_add(w.len).is_none_or(|end| end > min_bytes)) {
            return Err("memory image extends past the initial size of the memory".into());
        }
        // A pooled slot that cannot be brought into shape (the host refused
        // a mapping change) is given up for a fresh reservation.
        let accessible = host_pages(min_bytes);
        let reused =
            pooled_reservation(total, accessible, wanted).and_then(|slot| Self::reshape(slot, accessible, wanted).ok());
        let (mut mmap, already_mapped) = match reused {
            Some(r) => r,
            None => {
                let mut m = Mmap::reserve(total)
                    .map_err(|e| format!("cannot reserve {total} bytes for a linear memory: {e}"))?;
                m.make_accessible(0, accessible)
                    .map_err(|e| format!("cannot make {accessible} bytes of linear memory accessible: {e}"))?;
                (m, false)
            }
        };
        let image = match image {
            Some(img) if already_mapped => Some(img.mapped()),
            // The image lies in `[0, min_bytes)`, which is read-write and
            // zero; mapping it keeps it read-write. On failure the caller
            // copies instead, into fresh zero pages: a failed fixed mapping
            // may have unmapped the range already on some kernels.
            Some(img) => {
                let m = img.mapped();
                match mmap.map_file(m.offset, m.len, img.file(), 0) {
                    Ok(()) => Some(m),
                    Err(_) => {
                        mmap.map_anonymous_rw(m.offset, m.len)
                            .map_err(|e| format!("cannot map {} bytes of linear memory: {e}", m.len))?;
                        None
                    }
                }
            }
            None => None,
        };
        Ok(LinearMemory {
            mmap,
            byte_len: min_bytes,
            page_size_log2: ty.page_size_log2,
            reservation,
            max_pages: max.min((reservation as u64) / page_size),
            image,
        })
    }

    /// Turn a pooled slot into `[0, min_bytes)` read-write and zero (but
    /// for `wanted`, if it is the image already mapped) and the rest
    /// inaccessible, changing only what differs. Returns whether `wanted`
    /// is already in place.
    fn reshape(mut slot: PooledSlot, min_bytes: usize, wanted: Option<MappedImage>) -> std::io::Result<(Mmap, bool)> {
        let mut already_mapped = false;
        if let Some(old) = slot.image {
            if Some(old) == wanted {
                already_mapped = true;
            } else {
                // Another module's contents: back to zero pages. (It lies
                // in the accessible prefix, which stays read-write.)
                slot.mmap.map_anonymous_rw(old.offset, old.len)?;
            }
        }
        if slot.accessible < min_bytes {
            slot.mmap.make_accessible(slot.accessible, min_bytes - slot.accessible)?;
        } else if slot.accessible > min_bytes {
            slot.mmap.make_inaccessible(min_bytes, slot.accessible - min_bytes)?;
        }
        Ok((slot.mmap, already_mapped))
    }

    /// Whether an image is mapped over the start of the memory (and its
    /// segments therefore need no copying).
    pub fn has_image(&self) -> bool {
        self.image.is_some()
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
        // new <= max_pages <= reservation / page size: fits in usize.
        let new_bytes = (new << self.page_size_log2) as usize;
        let (old_accessible, new_accessible) = (host_pages(self.byte_len), host_pages(new_bytes));
        if new_accessible > old_accessible {
            // Pages never accessible before are still the zero pages of the
            // fresh mapping.
            self.mmap.make_accessible(old_accessible, new_accessible - old_accessible).ok()?;
        }
        // Bytes of the last host page past the old length were never
        // reachable (explicit checks): still zero.
        self.byte_len = new_bytes;
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
        self.byte_len as u64 >> self.page_size_log2
    }

    /// The most pages this memory can grow to.
    pub fn max_pages(&self) -> u64 {
        self.max_pages
    }

    /// The whole mapping, guard included: an access that faults in it is
    /// an access to this memory.
    pub fn mapped_range(&self) -> std::ops::Range<usize> {
        let base = self.mmap.as_mut_ptr() as usize;
        base..base + self.mmap.len()
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
        MemoryType { limits: Limits { min, max }, memory64: false, shared: false, page_size_log2: 16 }
    }

    #[test]
    fn one_byte_pages_grow_by_bytes() {
        let ty = MemoryType { page_size_log2: 0, ..memory(3, Some(10)) };
        for tunables in [Tunables::default(), Tunables { bounds_checks: BoundsChecks::Explicit, ..Tunables::default() }]
        {
            let mut m = LinearMemory::new(&ty, &tunables).unwrap();
            assert_eq!((m.pages(), m.byte_len(), m.max_pages()), (3, 3, 10));
            m.data_mut().copy_from_slice(b"abc");
            assert_eq!(m.grow(4), Some(3));
            assert_eq!(m.data(), b"abc\0\0\0\0");
            assert_eq!(m.grow(4), None, "past the maximum");
            assert_eq!(m.grow(3), Some(7));
            assert_eq!(m.vmmemory().current_length, 10);
            drop(m);
            // The reservation is reused: zero again.
            let m = LinearMemory::new(&ty, &tunables).unwrap();
            assert_eq!(m.data(), b"\0\0\0");
        }
        // 2^32 - 1 one-byte pages at most, so that memory.size fits an i32.
        let unbounded = MemoryType { page_size_log2: 0, ..memory(0, None) };
        assert_eq!(LinearMemory::new(&unbounded, &Tunables::default()).unwrap().max_pages(), u64::from(u32::MAX));
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
    #[cfg_attr(miri, ignore = "reservations are capped under Miri")]
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

    #[cfg(all(target_pointer_width = "64", any(target_os = "linux", windows)))]
    #[test]
    #[cfg_attr(miri, ignore = "reads the host's mappings")]
    fn beyond_the_accessible_prefix_is_inaccessible() {
        let t = Tunables::default();
        let mut m = LinearMemory::new(&memory(2, None), &t).unwrap();
        m.grow(1).unwrap();
        assert_protection(&m, &t);
    }

    /// Tunables no other test uses, so a dropped memory's reservation is
    /// the one the pool hands back to the same test (sizes must match).
    #[cfg(all(target_pointer_width = "64", any(target_os = "linux", windows)))]
    fn unique_tunables(reservation_pages: u64) -> Tunables {
        Tunables {
            bounds_checks: BoundsChecks::Explicit,
            memory_reservation: reservation_pages * WASM_PAGE_SIZE,
            memory_guard_size: WASM_PAGE_SIZE,
            ..Tunables::default()
        }
    }

    /// `m` holds `expected` followed by zeros, is read-write up to its
    /// length and inaccessible from there to the end of its mapping.
    #[cfg(all(target_pointer_width = "64", any(target_os = "linux", windows)))]
    fn assert_shape(m: &LinearMemory, t: &Tunables, expected: &[(usize, &[u8])]) {
        let mut want = vec![0u8; m.byte_len()];
        for &(o, b) in expected {
            want[o..o + b.len()].copy_from_slice(b);
        }
        assert!(m.data() == &want[..], "contents differ from the expected image and zeros");
        assert_protection(m, t);
    }

    /// `m` is read-write up to its length and inaccessible from there to
    /// the end of its mapping (guard included).
    #[cfg(all(target_pointer_width = "64", any(target_os = "linux", windows)))]
    fn assert_protection(m: &LinearMemory, t: &Tunables) {
        use crate::vm::testing::perms_over;
        let base = m.base() as usize;
        let accessible = perms_over(base, base + m.byte_len());
        assert!(accessible.iter().all(|p| p == "rw-"), "{accessible:?}");
        let end = base + m.reservation() + t.memory_guard_size as usize;
        let rest = perms_over(base + m.byte_len(), end);
        assert!(!rest.is_empty() && rest.iter().all(|p| p == "---"), "{rest:?}");
    }

    #[cfg(all(target_pointer_width = "64", any(target_os = "linux", windows)))]
    #[test]
    #[cfg_attr(miri, ignore = "reads the host's mappings")]
    fn a_pooled_reservation_keeps_only_what_the_next_memory_needs() {
        let t = unique_tunables(23);
        let mut m = LinearMemory::new(&memory(2, None), &t).unwrap();
        let base = m.base();
        m.grow(5).unwrap();
        m.data_mut().fill(0xab);
        drop(m);

        // Smaller than the last user left it: the tail becomes inaccessible
        // again, and nothing written survives.
        let mut m = LinearMemory::new(&memory(2, None), &t).unwrap();
        assert_eq!(m.base(), base, "the pooled reservation is reused");
        assert_shape(&m, &t, &[]);
        assert_eq!(m.grow(1), Some(2));
        assert_shape(&m, &t, &[]);
        m.data_mut().fill(0xcd);
        drop(m);

        // Larger: made accessible, zero.
        let m = LinearMemory::new(&memory(4, None), &t).unwrap();
        assert_eq!(m.base(), base);
        assert_shape(&m, &t, &[]);
    }

    #[cfg(all(target_pointer_width = "64", target_os = "linux"))]
    #[test]
    #[cfg_attr(miri, ignore = "memfd images and the host's mappings")]
    fn an_image_is_copy_on_write_and_comes_back_on_reuse() {
        use crate::vm::memory_image::MemoryImage;
        let t = unique_tunables(29);
        let parts: [(usize, &[u8]); 2] = [(100, b"hello"), (65536 + 7, b"world")];
        let img = MemoryImage::new(&parts.map(|(o, b)| (o as u64, b))).unwrap().unwrap();

        let mut m = LinearMemory::with_image(&memory(2, None), &t, Some(&img)).unwrap();
        let base = m.base();
        assert!(m.has_image());
        assert_shape(&m, &t, &parts);
        m.data_mut().fill(0xcd);
        assert_eq!(m.grow(2), Some(2), "growth past the image works as without one");
        assert_shape(&m, &t, &[(0, &[0xcd; 2 * 65536])]);
        m.data_mut().fill(0xef);
        drop(m);

        // The same image again: the guest's writes are gone, the image
        // (and the file under it) unchanged, the grown pages closed.
        let m = LinearMemory::with_image(&memory(2, None), &t, Some(&img)).unwrap();
        assert_eq!(m.base(), base, "the pooled reservation is reused");
        assert!(m.has_image());
        assert_shape(&m, &t, &parts);
        drop(m);

        // Without an image: nothing of the old one shows through.
        let mut m = LinearMemory::new(&memory(2, None), &t).unwrap();
        assert_eq!(m.base(), base);
        assert!(!m.has_image());
        assert_shape(&m, &t, &[]);
        m.data_mut()[70_000] = 1;
        drop(m);

        // Another image, at another place, over a slot that had one.
        let img = MemoryImage::new(&[(65536 + 3, b"other")]).unwrap().unwrap();
        let m = LinearMemory::with_image(&memory(2, None), &t, Some(&img)).unwrap();
        let back = LinearMemory::with_image(&memory(3, None), &t, Some(&img)).unwrap();
        assert_shape(&m, &t, &[(65536 + 3, b"other")]);
        assert_shape(&back, &t, &[(65536 + 3, b"other")]);
        drop(m);
        let img2 = MemoryImage::new(&[(10, b"third")]).unwrap().unwrap();
        let m = LinearMemory::with_image(&memory(2, None), &t, Some(&img2)).unwrap();
        assert_eq!(m.base(), base);
        assert_shape(&m, &t, &[(10, b"third")]);
    }

    #[cfg(target_os = "linux")]
    #[test]
    #[cfg_attr(miri, ignore = "memfd images")]
    fn an_image_must_fit_the_initial_size() {
        use crate::vm::memory_image::MemoryImage;
        let img = MemoryImage::new(&[(65536, b"x")]).unwrap().unwrap();
        let e = LinearMemory::with_image(&memory(1, None), &Tunables::default(), Some(&img)).unwrap_err();
        assert!(e.contains("past the initial size"), "{e}");
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
        let ty = MemoryType { limits: Limits { min: 1, max: None }, memory64: true, shared: false, page_size_log2: 16 };
        let t = Tunables { memory_reservation: 1 << 20, ..Tunables::default() };
        let mut m = LinearMemory::new(&ty, &t).unwrap();
        assert_eq!(m.reservation(), 1 << 20);
        assert_eq!(m.grow(15), Some(1));
        assert_eq!(m.grow(1), None);
    }

    #[test]
    fn refuses_what_it_cannot_honour() {
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
