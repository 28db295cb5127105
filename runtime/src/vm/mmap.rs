//! [`Mmap`]: the safe owner of one anonymous mapping.
//!
//! Every region kiln maps — copied code, linear memories, signal stacks —
//! is an `Mmap`. It starts either inaccessible ([`Mmap::reserve`]) or
//! read-write ([`Mmap::accessible_rw`], [`Mmap::with_data`]); protection
//! changes take `&mut self` and whole pages, so no Rust reference handed out
//! by this type can be invalidated by one; the mapping is unmapped on drop.
//!
//! ```text
//!  as_ptr()                                                    as_ptr() + len()
//!  ├── page ──┼── page ──┼── page ──┼── … ──────────────────────────────┤
//!  │  RW / R / R-X / none, chosen per page range, never W and X at once   │
//! ```
//!
//! The type hands out raw pointers; reading or writing through them is the
//! caller's `unsafe`, justified by the protection it last set.

use super::sys::{self, Protection};
use core::ops::Range;
use core::ptr::NonNull;
use std::io;

/// An owned, page-aligned anonymous mapping.
#[derive(Debug)]
pub struct Mmap {
    ptr: NonNull<u8>,
    /// A multiple of the page size; 0 for the empty mapping (then `ptr` is
    /// dangling and nothing was mapped).
    len: usize,
}

// SAFETY: `Mmap` uniquely owns its mapping, like a `Box<[u8]>`; it has no
// thread affinity and `&Mmap` only gives out raw pointers, whose use is the
// caller's responsibility.
unsafe impl Send for Mmap {}
// SAFETY: as above: shared access exposes nothing but addresses and lengths.
unsafe impl Sync for Mmap {}

/// `n` rounded up to a multiple of the page size, if it fits.
pub fn round_up_to_page(n: usize) -> Option<usize> {
    let page = sys::page_size();
    Some(n.checked_add(page - 1)? & !(page - 1))
}

fn invalid(msg: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

impl Mmap {
    /// A mapping of length 0, which maps nothing.
    pub fn empty() -> Mmap {
        Mmap { ptr: NonNull::dangling(), len: 0 }
    }

    /// Reserve at least `len` bytes (rounded up to whole pages) of
    /// inaccessible address space.
    pub fn reserve(len: usize) -> io::Result<Mmap> {
        let len = round_up_to_page(len).ok_or_else(|| invalid("mapping length overflows"))?;
        if len == 0 {
            return Ok(Mmap::empty());
        }
        let ptr = sys::mmap_reserve(len)?;
        Ok(Mmap { ptr, len })
    }

    /// At least `len` bytes (rounded up to whole pages) of zeroed
    /// read-write memory.
    pub fn accessible_rw(len: usize) -> io::Result<Mmap> {
        let mut m = Mmap::reserve(len)?;
        m.make_accessible(0, m.len)?;
        Ok(m)
    }

    /// A read-write mapping holding a copy of `bytes` (the rest of the last
    /// page is zero).
    pub fn with_data(bytes: &[u8]) -> io::Result<Mmap> {
        let m = Mmap::accessible_rw(bytes.len())?;
        if !bytes.is_empty() {
            // SAFETY: the mapping is fresh, read-write and at least
            // `bytes.len()` long; it cannot overlap `bytes`, which was
            // allocated before it.
            unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), m.ptr.as_ptr(), bytes.len()) };
        }
        Ok(m)
    }

    /// Make `[offset, offset + len)` readable and writable. `offset` must
    /// be page-aligned; `len` is rounded up to whole pages.
    pub fn make_accessible(&mut self, offset: usize, len: usize) -> io::Result<()> {
        self.protect(offset, len, Protection::ReadWrite)
    }

    /// Discard what was written to `[offset, offset + len)`, keeping its
    /// protection: it reads as zero again, or as the file's contents where
    /// [`Mmap::map_file`] put a file. `offset` must be page-aligned.
    pub fn discard(&mut self, offset: usize, len: usize) -> io::Result<()> {
        let range = self.page_range(offset, len)?;
        // SAFETY: `page_range` checked the range lies in this mapping, which
        // `self` owns; `&mut self` guarantees no reference into it is alive.
        unsafe { sys::discard(self.ptr.as_ptr().add(range.start), range.len()) }
    }

    /// Replace `[offset, offset + len)` with fresh zeroed read-write pages,
    /// whatever was mapped there before (e.g. a file). `offset` must be
    /// page-aligned.
    pub fn map_anonymous_rw(&mut self, offset: usize, len: usize) -> io::Result<()> {
        let range = self.page_range(offset, len)?;
        // SAFETY: as in `discard`: the range is ours and nothing borrows it.
        unsafe { sys::map_anonymous_fixed(self.ptr.as_ptr().add(range.start), range.len(), Protection::ReadWrite) }
    }

    /// Map `len` bytes of `file` from `file_offset` over `[offset, offset +
    /// len)`, read-write and copy-on-write: writes stay private to this
    /// mapping and [`Mmap::discard`] brings the file's contents back. Both
    /// offsets must be page-aligned and the file long enough. On failure
    /// the range may have been unmapped: map zero pages over it
    /// ([`Mmap::map_anonymous_rw`]) before using it again.
    pub fn map_file(&mut self, offset: usize, len: usize, file: &sys::ImageFile, file_offset: u64) -> io::Result<()> {
        let range = self.page_range(offset, len)?;
        if !file_offset.is_multiple_of(sys::page_size() as u64) {
            return Err(invalid("file offset is not page-aligned"));
        }
        // SAFETY: as in `discard`: the range is ours and nothing borrows it;
        // the caller vouches for the file's length (a short file makes
        // accesses fault, which is no memory-safety issue for this type).
        unsafe { sys::map_file_private(self.ptr.as_ptr().add(range.start), range.len(), file, file_offset) }
    }

    /// Make `[offset, offset + len)` inaccessible. `offset` must be
    /// page-aligned; `len` is rounded up to whole pages.
    pub fn make_inaccessible(&mut self, offset: usize, len: usize) -> io::Result<()> {
        self.protect(offset, len, Protection::None)
    }

    /// Make `[offset, offset + len)` read-only. `offset` must be
    /// page-aligned; `len` is rounded up to whole pages.
    pub fn make_readonly(&mut self, offset: usize, len: usize) -> io::Result<()> {
        self.protect(offset, len, Protection::Read)
    }

    /// Make `[offset, offset + len)` readable and executable, and no longer
    /// writable. `offset` must be page-aligned; `len` is rounded up to whole
    /// pages. The caller flushes the instruction cache where needed (see
    /// `vm::code_memory`).
    pub fn make_executable(&mut self, offset: usize, len: usize) -> io::Result<()> {
        self.protect(offset, len, Protection::ReadExecute)
    }

    /// [`Mmap::make_executable`], for code whose every indirect branch
    /// target is a landing pad: indirect branches anywhere else fault
    /// where the platform enforces it (aarch64 BTI).
    pub fn make_executable_guarded(&mut self, offset: usize, len: usize) -> io::Result<()> {
        self.protect(offset, len, Protection::ReadExecuteBti)
    }

    /// Ask for `[offset, offset + len)` to be backed by transparent huge
    /// pages where possible (see [`sys::advise_huge_pages`]); a hint.
    /// `offset` must be page-aligned.
    pub fn advise_huge_pages(&mut self, offset: usize, len: usize) -> io::Result<()> {
        let range = self.page_range(offset, len)?;
        // SAFETY: `page_range` checked the range lies in this mapping, which
        // `self` owns; the advice changes neither contents nor protection.
        unsafe { sys::advise_huge_pages(self.ptr.as_ptr().add(range.start), range.len()) };
        Ok(())
    }

    /// Fault in `[offset, offset + len)` now, in one go, ready to be
    /// written (see [`sys::prefault_writable`]); a hint. The range must be
    /// read-write; `offset` must be page-aligned.
    pub fn prefault_writable(&mut self, offset: usize, len: usize) -> io::Result<()> {
        let range = self.page_range(offset, len)?;
        // SAFETY: `page_range` checked the range lies in this mapping, which
        // `self` owns; the caller made it read-write, and populating it
        // changes neither contents nor protection.
        unsafe { sys::prefault_writable(self.ptr.as_ptr().add(range.start), range.len()) };
        Ok(())
    }

    fn protect(&mut self, offset: usize, len: usize, prot: Protection) -> io::Result<()> {
        let range = self.page_range(offset, len)?;
        if range.is_empty() {
            return Ok(());
        }
        // SAFETY: `page_range` checked that the range is page-aligned and
        // inside this mapping, which `self` owns. `&mut self` guarantees that
        // no reference obtained through `slice`/`slice_mut` is alive, and
        // raw-pointer users were told protection may change under them.
        unsafe { sys::mprotect(self.ptr.as_ptr().add(range.start), range.len(), prot) }
    }

    /// `[offset, offset + round_up(len))`, checked to be page-aligned and
    /// inside the mapping.
    fn page_range(&self, offset: usize, len: usize) -> io::Result<Range<usize>> {
        if !offset.is_multiple_of(sys::page_size()) {
            return Err(invalid("protection change at an offset that is not page-aligned"));
        }
        let len = round_up_to_page(len).ok_or_else(|| invalid("protection change length overflows"))?;
        match offset.checked_add(len) {
            Some(end) if end <= self.len => Ok(offset..end),
            _ => Err(invalid("protection change outside the mapping")),
        }
    }

    /// First byte of the mapping (dangling when empty).
    pub fn as_ptr(&self) -> *const u8 {
        self.ptr.as_ptr()
    }

    /// First byte of the mapping, for writing through (dangling when
    /// empty). Writes need the pages to be read-write.
    pub fn as_mut_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// Length in bytes (a multiple of the page size).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is mapped.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The bytes of `range`.
    ///
    /// # Safety
    ///
    /// `range` must lie inside the mapping and be readable (last made
    /// accessible, read-only or executable), and no one may write to it
    /// through a raw pointer while the slice lives.
    pub unsafe fn slice(&self, range: Range<usize>) -> &[u8] {
        debug_assert!(range.start <= range.end && range.end <= self.len);
        // SAFETY: the caller guarantees the range is inside the mapping,
        // readable and not written concurrently; `ptr` is non-null and
        // aligned for `u8` even when dangling.
        unsafe { core::slice::from_raw_parts(self.ptr.as_ptr().add(range.start), range.len()) }
    }

    /// The bytes of `range`, writable.
    ///
    /// # Safety
    ///
    /// `range` must lie inside the mapping and be read-write, and no one may
    /// access it through a raw pointer while the slice lives.
    pub unsafe fn slice_mut(&mut self, range: Range<usize>) -> &mut [u8] {
        debug_assert!(range.start <= range.end && range.end <= self.len);
        // SAFETY: as in `slice`, plus `&mut self` excludes other slices and
        // the caller excludes raw-pointer access.
        unsafe { core::slice::from_raw_parts_mut(self.ptr.as_ptr().add(range.start), range.len()) }
    }
}

impl Drop for Mmap {
    fn drop(&mut self) {
        if self.len == 0 {
            return;
        }
        // SAFETY: `self` owns exactly this mapping and is being dropped, so
        // nothing can use it afterwards.
        let r = unsafe { sys::munmap(self.ptr.as_ptr(), self.len) };
        debug_assert!(r.is_ok(), "munmap failed: {r:?}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_maps_nothing() {
        let m = Mmap::reserve(0).unwrap();
        assert!(m.is_empty());
        let m = Mmap::with_data(&[]).unwrap();
        assert_eq!(m.len(), 0);
    }

    #[test]
    fn with_data_copies_and_rounds_up() {
        let m = Mmap::with_data(b"kiln").unwrap();
        assert_eq!(m.len(), sys::page_size());
        // SAFETY: the whole mapping is read-write and nothing writes to it.
        let bytes = unsafe { m.slice(0..m.len()) };
        assert_eq!(&bytes[..4], b"kiln");
        assert!(bytes[4..].iter().all(|&b| b == 0));
    }

    #[test]
    fn protection_changes_are_checked() {
        let page = sys::page_size();
        let mut m = Mmap::reserve(3 * page).unwrap();
        assert!(m.make_accessible(1, page).is_err(), "unaligned offset");
        assert!(m.make_accessible(2 * page, page + 1).is_err(), "past the end");
        assert!(m.make_accessible(usize::MAX & !(page - 1), page).is_err(), "overflow");
        m.make_accessible(page, 1).unwrap();
        // SAFETY: page 1 was just made read-write.
        unsafe { m.slice_mut(page..2 * page)[0] = 9 };
        m.make_readonly(page, page).unwrap();
        // SAFETY: page 1 is read-only now and nothing writes to it.
        assert_eq!(unsafe { m.slice(page..page + 1) }, &[9]);
        m.make_executable(page, page).unwrap();
        m.make_accessible(0, 0).unwrap();
    }

    #[test]
    fn is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Mmap>();
    }
}
