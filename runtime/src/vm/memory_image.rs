//! [`MemoryImage`]: the initial contents of a defined memory, built once
//! per module and mapped copy-on-write into every instance.
//!
//! Copying data segments at each instantiation costs a page fault per page
//! touched and the copy itself; mapping a sealed in-memory file privately
//! over the start of the memory costs neither — pages fault in lazily as
//! wasm touches them, and a pooled memory that already has the same image
//! mapped needs no system call at all (see `linear_memory`):
//!
//! ```text
//!  base      offset                  offset + len              byte_len
//!  ├─ anon ───┼──── image (file, COW) ──┼──── anon (zero) ──────┤ none …
//!  │ zero     │ segments, page-rounded  │                       │
//! ```
//!
//! A module gets images only when doing so cannot be told apart from
//! copying: every active segment targets a defined memory at a constant
//! offset and fits in that memory's initial size. Then no segment can trap,
//! so applying all of them before anything else is observable is exactly
//! what in-order copying would produce. Any other module (an imported
//! memory, an offset from `global.get`, a segment out of bounds that must
//! trap) keeps the copy path for every segment, so ordering and trapping
//! stay exactly as the specification says. Hosts without `memfd` (or when
//! creating one fails) also copy.

use super::sys;
use kiln_artifact::info::{ConstOp, DataMode, ModuleInfo};
use kiln_artifact::WASM_PAGE_SIZE;
use std::sync::atomic::{AtomicU64, Ordering};

/// A sealed in-memory file holding page-aligned initial contents of one
/// linear memory, and where in the memory they go.
#[derive(Debug)]
pub struct MemoryImage {
    file: sys::ImageFile,
    /// Unique for the life of the process, so a pooled memory can tell
    /// whether this very image is already mapped (addresses may be reused
    /// once an image is dropped; ids are not).
    id: u64,
    /// Page-aligned byte offset in the memory of the file's first byte.
    offset: usize,
    /// Page-aligned length of the file and of its mapping.
    len: usize,
}

/// Where an image is mapped in a memory, remembered by pooled slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MappedImage {
    /// Which image: unique for the life of the process.
    pub id: u64,
    /// Page-aligned start in the memory.
    pub offset: usize,
    /// Page-aligned length.
    pub len: usize,
}

impl MemoryImage {
    /// An image whose bytes at memory offset `o` are those of the last of
    /// `parts` (`(o, bytes)`, applied in order) covering `o`, and zero
    /// elsewhere. `None` when the parts hold no bytes at all.
    pub fn new(parts: &[(u64, &[u8])]) -> std::io::Result<Option<MemoryImage>> {
        let page = sys::page_size() as u64;
        let too_big = || std::io::Error::new(std::io::ErrorKind::InvalidInput, "memory image too large");
        let mut extent: Option<(u64, u64)> = None;
        for &(o, bytes) in parts.iter().filter(|(_, b)| !b.is_empty()) {
            let end = o.checked_add(bytes.len() as u64).ok_or_else(too_big)?;
            extent = Some(match extent {
                None => (o, end),
                Some((s, e)) => (s.min(o), e.max(end)),
            });
        }
        let Some((start, end)) = extent else { return Ok(None) };
        // Leading pages without data stay anonymous: reading them from the
        // file would allocate file pages for nothing.
        let start = start / page * page;
        let end = end.checked_next_multiple_of(page).ok_or_else(too_big)?;
        let offset = usize::try_from(start).map_err(|_| too_big())?;
        let len = usize::try_from(end - start).map_err(|_| too_big())?;
        let file = sys::sealed_memory_file(
            c"kiln-memory-image",
            end - start,
            parts.iter().filter(|(_, b)| !b.is_empty()).map(|&(o, b)| (o - start, b)),
        )?;
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        Ok(Some(MemoryImage { file, id: NEXT_ID.fetch_add(1, Ordering::Relaxed), offset, len }))
    }

    /// The file to map; its length is [`MemoryImage::mapped`]`.len`.
    pub fn file(&self) -> &sys::ImageFile {
        &self.file
    }

    /// Identity and placement of the image.
    pub fn mapped(&self) -> MappedImage {
        MappedImage { id: self.id, offset: self.offset, len: self.len }
    }
}

/// The images of a module's defined memories (by defined index; `None` for
/// a memory without data), or `None` when the module's active segments must
/// all be copied in order (see the module doc).
pub fn module_images(info: &ModuleInfo, data: &[u8]) -> Option<Box<[Option<MemoryImage>]>> {
    let defined = info.num_defined_memories() as usize;
    let mut parts: Vec<Vec<(u64, &[u8])>> = vec![Vec::new(); defined];
    for seg in &info.data {
        let DataMode::Active { memory, offset } = &seg.mode else { continue };
        let def = info.defined_memory_index(*memory)?;
        let ty = info.memories.get(memory.index())?;
        // An image maps whole host pages, more than a memory of 1-byte
        // pages may have; a shared memory is never mapped over.
        if ty.page_size_log2 != 16 || ty.shared {
            return None;
        }
        let off = match (offset.0.as_slice(), ty.memory64) {
            ([ConstOp::I32Const(v)], false) => *v as u32 as u64,
            ([ConstOp::I64Const(v)], true) => *v as u64,
            _ => return None,
        };
        let bytes = data.get(seg.bytes.start as usize..seg.bytes.end() as usize)?;
        let end = off.checked_add(bytes.len() as u64)?;
        if end > ty.limits.min.checked_mul(WASM_PAGE_SIZE)? {
            return None;
        }
        parts.get_mut(def.index())?.push((off, bytes));
    }
    let mut images = Vec::with_capacity(defined);
    for p in &parts {
        // Any failure (no memfd on this host, out of descriptors) means the
        // module copies, which is always correct.
        images.push(MemoryImage::new(p).ok()?);
    }
    Some(images.into_boxed_slice())
}

// Not under Miri: images are memfd files, which it does not model.
#[cfg(all(test, not(miri), any(target_os = "linux", target_os = "android")))]
mod tests {
    use super::*;

    #[test]
    fn an_image_covers_the_pages_with_data() {
        let page = sys::page_size();
        let img =
            MemoryImage::new(&[(3 * page as u64 + 5, b"abc"), (3 * page as u64 + 6, b"Z"), (5 * page as u64, b"")])
                .unwrap()
                .unwrap();
        let m = img.mapped();
        assert_eq!((m.offset, m.len), (3 * page, page), "empty parts do not widen the image");
        let file = std::fs::File::from(img.file.try_clone().unwrap());
        let mut buf = vec![0u8; page];
        std::os::unix::fs::FileExt::read_exact_at(&file, &mut buf, 0).unwrap();
        assert_eq!(&buf[4..9], b"\0aZc\0");
        assert_eq!(buf.iter().filter(|&&b| b != 0).count(), 3);
        let other = MemoryImage::new(&[(0, b"x")]).unwrap().unwrap();
        assert_ne!(other.mapped().id, m.id);
        assert!(MemoryImage::new(&[(7, b"")]).unwrap().is_none());
    }

    #[test]
    fn the_image_file_is_sealed() {
        let img = MemoryImage::new(&[(0, b"sealed")]).unwrap().unwrap();
        let file = std::fs::File::from(img.file.try_clone().unwrap());
        assert!(std::os::unix::fs::FileExt::write_at(&file, b"X", 0).is_err());
        assert!(file.set_len(1).is_err());
    }
}
