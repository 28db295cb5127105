//! [`SharedMemory`]: a linear memory declared `shared`, used by instances
//! in several stores on several threads at once.

use crate::error::{Error, ErrorKind, Result};
use crate::values::MemoryType;
use crate::vm::parking::Expected;
pub use crate::vm::parking::WaitResult;
use crate::vm::shared_memory::SharedLinearMemory;
use std::sync::Arc;
use std::time::Duration;

/// A shared linear memory (`(memory 1 10 shared)`). Unlike [`Memory`]
/// (crate::Memory), it belongs to no store: clone the handle into as many
/// threads as you like, and import it into an instance in each thread's
/// store (with [`Linker::define`](crate::Linker::define)); every instance
/// sees the same bytes, and atomics, `memory.atomic.wait` and
/// `memory.atomic.notify` work across all of them.
///
/// Its bytes are never lent out as a Rust slice (another thread may be
/// writing them): use [`read`](Self::read) and [`write`](Self::write).
///
/// ```
/// use kiln::{MemoryType, SharedMemory};
/// let memory = SharedMemory::new(MemoryType::shared(1, 4))?;
/// let writer = memory.clone();
/// std::thread::spawn(move || writer.write(8, b"hi")).join().unwrap()?;
/// let mut buf = [0; 2];
/// memory.read(8, &mut buf)?;
/// assert_eq!(&buf, b"hi");
/// # Ok::<(), kiln::Error>(())
/// ```
#[derive(Clone)]
pub struct SharedMemory(pub(crate) Arc<SharedLinearMemory>);

impl SharedMemory {
    /// A new shared memory of type `ty`, which must be shared and have a
    /// maximum. Its address space is reserved up front (or up to the
    /// default reservation for larger maxima), so it never moves.
    pub fn new(ty: MemoryType) -> Result<SharedMemory> {
        let memory = SharedLinearMemory::new(&ty, &kiln_artifact::engine::Tunables::default())
            .map_err(|e| Error::new(ErrorKind::Instantiation, format!("cannot create shared memory {ty}: {e}")))?;
        Ok(SharedMemory(Arc::new(memory)))
    }

    /// Its declared type.
    pub fn ty(&self) -> MemoryType {
        self.0.ty()
    }

    /// Current size in pages.
    pub fn size(&self) -> u64 {
        self.0.pages()
    }

    /// Current size in bytes.
    pub fn data_size(&self) -> usize {
        self.0.byte_len()
    }

    /// Grow by `delta` pages; the old size in pages. Other threads see
    /// the new pages from their next access.
    pub fn grow(&self, delta: u64) -> Result<u64> {
        self.0
            .grow(delta, u64::MAX)
            .ok_or_else(|| Error::out_of_bounds(format!("cannot grow shared memory by {delta} pages")))
    }

    /// Copy `buf.len()` bytes at guest address `offset` into `buf`.
    pub fn read(&self, offset: usize, buf: &mut [u8]) -> Result<()> {
        self.0.read(offset as u64, buf).ok_or_else(|| self.oob(offset, buf.len()))
    }

    /// Copy `bytes` to guest address `offset`.
    pub fn write(&self, offset: usize, bytes: &[u8]) -> Result<()> {
        self.0.write(offset as u64, bytes).ok_or_else(|| self.oob(offset, bytes.len()))
    }

    /// `memory.atomic.notify` from the host: wake at most `count` threads
    /// waiting on `addr` (4-byte aligned); how many were woken.
    pub fn atomic_notify(&self, addr: u64, count: u32) -> Result<u32> {
        self.0.notify(addr, count).map_err(|e| self.atomic_error(addr, e))
    }

    /// `memory.atomic.wait32` from the host: block while the `u32` at
    /// `addr` equals `expected`, until notified or `timeout` passes.
    pub fn atomic_wait32(&self, addr: u64, expected: u32, timeout: Option<Duration>) -> Result<WaitResult> {
        self.0.wait(addr, Expected::U32(expected), timeout).map_err(|e| self.atomic_error(addr, e))
    }

    /// `memory.atomic.wait64` from the host, for the `u64` at `addr`.
    pub fn atomic_wait64(&self, addr: u64, expected: u64, timeout: Option<Duration>) -> Result<WaitResult> {
        self.0.wait(addr, Expected::U64(expected), timeout).map_err(|e| self.atomic_error(addr, e))
    }

    #[cold]
    fn oob(&self, offset: usize, len: usize) -> Error {
        Error::out_of_bounds(format!(
            "guest range {offset:#x}+{len:#x} is outside the {:#x}-byte shared memory",
            self.data_size()
        ))
    }

    #[cold]
    fn atomic_error(&self, addr: u64, what: &str) -> Error {
        Error::out_of_bounds(format!("{what} at {addr:#x} in the {:#x}-byte shared memory", self.data_size()))
    }
}

impl PartialEq for SharedMemory {
    /// The same memory (not equal contents).
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl std::fmt::Debug for SharedMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SharedMemory({}, {} bytes)", self.ty(), self.data_size())
    }
}
