//! [`CodeMemory`]: where an artifact's `.text` runs.
//!
//! The compiled text needs no relocation (see DESIGN: "The artifact"), so it
//! can run wherever it lies. Two ways to get it into executable memory:
//!
//! * **in place** ([`CodeMemory::in_place`]): `include_wasm!` put the
//!   artifact in the binary's own executable section, so the OS loader
//!   already mapped the text read+execute. Nothing is copied, mapped or
//!   protected; this works where the platform forbids making memory
//!   executable at run time.
//! * **copied** ([`CodeMemory::copied`]): artifacts read at run time. The
//!   text is copied into a fresh read-write mapping, which is then switched
//!   to read+execute, and the instruction cache is flushed before the first
//!   call. The mapping is never writable and executable at once (W^X).

use super::mmap::Mmap;
use super::sys;
use std::io;

/// The executable text of one loaded artifact.
#[derive(Debug)]
pub struct CodeMemory {
    storage: Storage,
    len: usize,
}

#[derive(Debug)]
enum Storage {
    InPlace(&'static [u8]),
    /// R-X from construction on; kept only to own (and unmap) it.
    Copied(Mmap),
}

impl CodeMemory {
    /// Run `text` where it lies.
    ///
    /// The caller vouches (it is not checked) that `text` sits in memory the
    /// OS mapped executable — for `include_wasm!`, the binary's text
    /// section. Constructing a `CodeMemory` executes nothing; calling into
    /// the text is what needs that guarantee, and is `unsafe` anyway.
    pub fn in_place(text: &'static [u8]) -> CodeMemory {
        CodeMemory { len: text.len(), storage: Storage::InPlace(text) }
    }

    /// Copy `text` into fresh memory and make that memory read+execute.
    pub fn copied(text: &[u8]) -> io::Result<CodeMemory> {
        let mut mmap = Mmap::with_data(text)?;
        // Read-write → read-execute in one mprotect: at no instant is the
        // mapping both writable and executable.
        mmap.make_executable(0, mmap.len())?;
        // SAFETY: the mapping is readable (R-X) over its whole length, which
        // covers `text.len()` bytes.
        unsafe { sys::flush_icache(mmap.as_ptr(), text.len()) };
        Ok(CodeMemory { len: text.len(), storage: Storage::Copied(mmap) })
    }

    /// First byte of the text (text offsets of the artifact are relative
    /// to it).
    pub fn text_ptr(&self) -> *const u8 {
        match &self.storage {
            Storage::InPlace(t) => t.as_ptr(),
            Storage::Copied(m) => m.as_ptr(),
        }
    }

    /// Length of the text in bytes.
    pub fn text_len(&self) -> usize {
        self.len
    }

    /// Whether the text runs from the binary's own executable section.
    pub fn is_in_place(&self) -> bool {
        matches!(self.storage, Storage::InPlace(_))
    }

    /// The bytes of the text (readable in both modes), e.g. for
    /// disassembly.
    pub fn text(&self) -> &[u8] {
        match &self.storage {
            Storage::InPlace(t) => t,
            // SAFETY: the mapping is R-X for its whole life and never
            // written after construction; `len` bytes of it hold the text.
            Storage::Copied(m) => unsafe { m.slice(0..self.len) },
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
pub(crate) mod tests {
    use super::*;

    /// One line of `/proc/self/maps`: `[start, end)` and the 4-character
    /// permissions (`r-xp`, …).
    #[derive(Debug)]
    pub(crate) struct MapsLine {
        pub start: usize,
        pub end: usize,
        pub perms: String,
    }

    pub(crate) fn proc_self_maps() -> Vec<MapsLine> {
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        maps.lines()
            .map(|l| {
                let mut f = l.split_whitespace();
                let (range, perms) = (f.next().unwrap(), f.next().unwrap());
                let (s, e) = range.split_once('-').unwrap();
                MapsLine {
                    start: usize::from_str_radix(s, 16).unwrap(),
                    end: usize::from_str_radix(e, 16).unwrap(),
                    perms: perms.to_string(),
                }
            })
            .collect()
    }

    /// Permissions of every mapping overlapping `[start, end)`.
    pub(crate) fn perms_over(start: usize, end: usize) -> Vec<String> {
        proc_self_maps().into_iter().filter(|m| m.start < end && start < m.end).map(|m| m.perms).collect()
    }

    #[test]
    fn copied_code_is_rx_and_nothing_is_wx() {
        let text: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
        let code = CodeMemory::copied(&text).unwrap();
        assert!(!code.is_in_place());
        assert_eq!(code.text_len(), text.len());
        assert_eq!(code.text(), &text[..]);
        let start = code.text_ptr() as usize;
        let perms = perms_over(start, start + code.text_len());
        assert!(!perms.is_empty() && perms.iter().all(|p| p.starts_with("r-x")), "{perms:?}");
        let wx: Vec<_> = proc_self_maps().into_iter().filter(|m| &m.perms[1..3] == "wx").collect();
        assert!(wx.is_empty(), "writable+executable mappings: {wx:?}");
    }

    /// While code is being published on another thread, no snapshot of the
    /// address space ever shows a writable and executable mapping.
    #[test]
    fn no_wx_mapping_while_publishing() {
        let stop = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|s| {
            s.spawn(|| {
                let text = [0xc3u8; 3 * 4096];
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    drop(CodeMemory::copied(&text).unwrap());
                }
            });
            for _ in 0..200 {
                let wx = proc_self_maps().into_iter().filter(|m| &m.perms[1..3] == "wx").count();
                assert_eq!(wx, 0);
            }
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        });
    }

    #[test]
    fn copied_empty_text() {
        let code = CodeMemory::copied(&[]).unwrap();
        assert_eq!(code.text_len(), 0);
        assert!(code.text().is_empty());
    }

    #[test]
    fn in_place_runs_where_it_lies() {
        static TEXT: [u8; 4] = [1, 2, 3, 4];
        let code = CodeMemory::in_place(&TEXT);
        assert!(code.is_in_place());
        assert_eq!(code.text_ptr(), TEXT.as_ptr());
        assert_eq!(code.text(), &TEXT);
    }
}
