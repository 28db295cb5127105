//! Guest memory as WASI functions see it: every `(pointer, length)` the
//! guest passes goes through [`GuestMemory::range`], which returns
//! `EFAULT` for anything that does not lie entirely inside the memory.
//!
//! Pointers and lengths are the guest's unsigned 32-bit values, widened
//! to `usize` before adding, so `ptr + len` cannot wrap. Nothing here
//! allocates in proportion to a guest-supplied length without that length
//! having been checked against the memory first, so a huge length costs
//! the host nothing but an errno.

use super::errno::{Errno, WasiResult};
use std::ops::Range;

/// An `iovec`/`ciovec` as the guest laid it out: a pointer and a length.
#[derive(Debug, Clone, Copy)]
pub(crate) struct IoVec {
    pub ptr: u32,
    pub len: u32,
}

/// The calling instance's linear memory, borrowed for one WASI call. A
/// module without an exported `memory` gets an empty one, so every
/// pointer it passes is `EFAULT`.
pub(crate) struct GuestMemory<'a> {
    bytes: &'a mut [u8],
}

impl<'a> GuestMemory<'a> {
    pub fn new(bytes: &'a mut [u8]) -> GuestMemory<'a> {
        GuestMemory { bytes }
    }

    /// THE check: `ptr..ptr + len` as a host range, or `EFAULT`.
    pub fn range(&self, ptr: u32, len: u32) -> WasiResult<Range<usize>> {
        let start = ptr as usize;
        let end = start.checked_add(len as usize).ok_or(Errno::Fault)?;
        if end > self.bytes.len() {
            return Err(Errno::Fault);
        }
        Ok(start..end)
    }

    /// `len` elements of `size` bytes at `ptr`: the product is checked too.
    pub fn array_range(&self, ptr: u32, count: u32, size: u32) -> WasiResult<Range<usize>> {
        let len = u32::try_from(u64::from(count) * u64::from(size)).map_err(|_| Errno::Fault)?;
        self.range(ptr, len)
    }

    pub fn slice(&self, ptr: u32, len: u32) -> WasiResult<&[u8]> {
        let r = self.range(ptr, len)?;
        Ok(&self.bytes[r])
    }

    pub fn slice_mut(&mut self, ptr: u32, len: u32) -> WasiResult<&mut [u8]> {
        let r = self.range(ptr, len)?;
        Ok(&mut self.bytes[r])
    }

    fn array<const N: usize>(&self, ptr: u32) -> WasiResult<[u8; N]> {
        let mut out = [0; N];
        out.copy_from_slice(self.slice(ptr, N as u32)?);
        Ok(out)
    }

    pub fn read_u8(&self, ptr: u32) -> WasiResult<u8> {
        Ok(self.array::<1>(ptr)?[0])
    }

    pub fn read_u16(&self, ptr: u32) -> WasiResult<u16> {
        Ok(u16::from_le_bytes(self.array(ptr)?))
    }

    pub fn read_u32(&self, ptr: u32) -> WasiResult<u32> {
        Ok(u32::from_le_bytes(self.array(ptr)?))
    }

    pub fn read_u64(&self, ptr: u32) -> WasiResult<u64> {
        Ok(u64::from_le_bytes(self.array(ptr)?))
    }

    pub fn write_bytes(&mut self, ptr: u32, bytes: &[u8]) -> WasiResult {
        let len = u32::try_from(bytes.len()).map_err(|_| Errno::Fault)?;
        self.slice_mut(ptr, len)?.copy_from_slice(bytes);
        Ok(())
    }

    pub fn write_u32(&mut self, ptr: u32, v: u32) -> WasiResult {
        self.write_bytes(ptr, &v.to_le_bytes())
    }

    pub fn write_u64(&mut self, ptr: u32, v: u64) -> WasiResult {
        self.write_bytes(ptr, &v.to_le_bytes())
    }

    /// Check that a result slot of `len` bytes at `ptr` is writable before
    /// doing anything with side effects (opening a file, reading input),
    /// so a bad result pointer never loses data or leaks a descriptor.
    pub fn check_out(&self, ptr: u32, len: u32) -> WasiResult {
        self.range(ptr, len).map(drop)
    }

    /// The guest's array of `count` iovecs at `ptr`; each buffer is checked
    /// too, so callers may index guest memory with them directly.
    pub fn iovecs(&self, ptr: u32, count: u32) -> WasiResult<Vec<IoVec>> {
        let r = self.array_range(ptr, count, 8)?;
        let vecs: Vec<IoVec> = self.bytes[r]
            .chunks_exact(8)
            .map(|c| IoVec {
                ptr: u32::from_le_bytes([c[0], c[1], c[2], c[3]]),
                len: u32::from_le_bytes([c[4], c[5], c[6], c[7]]),
            })
            .collect();
        for v in &vecs {
            self.range(v.ptr, v.len)?;
        }
        Ok(vecs)
    }

    /// A path argument: checked range, UTF-8 or `EILSEQ`.
    pub fn path(&self, ptr: u32, len: u32) -> WasiResult<String> {
        let bytes = self.slice(ptr, len)?;
        let s = std::str::from_utf8(bytes).map_err(|_| Errno::Ilseq)?;
        if s.contains('\0') {
            return Err(Errno::Inval);
        }
        Ok(s.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_checked_without_overflow() {
        let mut bytes = vec![0u8; 64];
        let mut m = GuestMemory::new(&mut bytes);
        assert!(m.range(0, 64).is_ok());
        assert!(m.range(64, 0).is_ok());
        assert_eq!(m.range(65, 0), Err(Errno::Fault));
        assert_eq!(m.range(1, 64), Err(Errno::Fault));
        assert_eq!(m.range(u32::MAX, u32::MAX), Err(Errno::Fault));
        assert_eq!(m.array_range(0, u32::MAX, 8), Err(Errno::Fault));
        assert_eq!(m.write_u64(60, 1), Err(Errno::Fault));
        m.write_u64(56, 0x0102_0304_0506_0708).unwrap();
        assert_eq!(m.read_u64(56).unwrap(), 0x0102_0304_0506_0708);
        m.write_u32(0, 60).unwrap();
        m.write_u32(4, 8).unwrap();
        assert_eq!(m.iovecs(0, 1).unwrap_err(), Errno::Fault);
    }
}
