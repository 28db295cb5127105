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
//!   The metadata the module keeps (trap table, address map, data segments,
//!   names) can ride in the same mapping, after the text, read-only
//!   ([`CodeMemory::copied_with_tail`]): one mapping, each byte copied once.
//!
//! ```text
//!   copied:  ├── text, R-X ──────┼ pad ┼── tail pieces, R ─────────────┼ pad ┤
//!            0                         text_pages (a page boundary)
//! ```

use super::mmap::{round_up_to_page, Mmap};
use super::sys;
use std::io;
use std::ops::Range;

/// The executable text of one loaded artifact.
#[derive(Debug)]
pub struct CodeMemory {
    storage: Storage,
    len: usize,
    /// Where the text starts in a copied mapping (a page boundary).
    start: usize,
    /// The read-only tail of a copied mapping: where it starts (a page
    /// boundary) and how many bytes of it hold pieces.
    tail: Range<usize>,
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
        CodeMemory { len: text.len(), storage: Storage::InPlace(text), start: 0, tail: 0..0 }
    }

    /// Copy `text` into fresh memory and make that memory read+execute.
    pub fn copied(text: &[u8]) -> io::Result<CodeMemory> {
        Ok(Self::copied_with_tail(text, &[])?.0)
    }

    /// Copy `text` into fresh memory made read+execute, and `pieces` after
    /// it (from the next page boundary on, each 16-byte aligned) into memory
    /// made read-only. Returns where each piece landed in
    /// [`CodeMemory::tail`].
    pub fn copied_with_tail(text: &[u8], pieces: &[&[u8]]) -> io::Result<(CodeMemory, Vec<Range<usize>>)> {
        Self::copied_guarded(text, pieces, false)
    }

    /// [`CodeMemory::copied_with_tail`]; with `landing_pads`, the text is
    /// code whose every indirect branch target is a landing pad (aarch64
    /// BTI), mapped so that the CPU enforces it where the platform can.
    pub fn copied_guarded(
        text: &[u8],
        pieces: &[&[u8]],
        landing_pads: bool,
    ) -> io::Result<(CodeMemory, Vec<Range<usize>>)> {
        executable_memory_allowed()?;
        let too_big = || io::Error::new(io::ErrorKind::InvalidInput, "code and metadata exceed the address space");
        let text_pages = round_up_to_page(text.len()).ok_or_else(too_big)?;
        let mut ranges = Vec::with_capacity(pieces.len());
        let mut tail_len = 0usize;
        for piece in pieces {
            let start = tail_len.checked_next_multiple_of(16).ok_or_else(too_big)?;
            tail_len = start.checked_add(piece.len()).ok_or_else(too_big)?;
            ranges.push(start..tail_len);
        }
        let (mut mmap, start) = fresh_rw(text_pages.checked_add(tail_len).ok_or_else(too_big)?)?;
        // SAFETY: `start` is inside the mapping (or 0 when it is empty).
        let base = unsafe { mmap.as_mut_ptr().add(start) };
        // SAFETY: `fresh_rw` made `text_pages + tail_len` bytes from `start`
        // read-write: the text fits at `base` and each piece at `base +
        // text_pages + range.start` (ranges lie in `0..tail_len`). The
        // sources were allocated before the mapping, so they cannot overlap
        // it.
        unsafe {
            std::ptr::copy_nonoverlapping(text.as_ptr(), base, text.len());
            for (piece, r) in pieces.iter().zip(&ranges) {
                std::ptr::copy_nonoverlapping(piece.as_ptr(), base.add(text_pages + r.start), piece.len());
            }
        }
        // Read-write → read-execute in one mprotect: at no instant is the
        // text both writable and executable.
        if landing_pads {
            mmap.make_executable_guarded(start, text_pages)?;
        } else {
            mmap.make_executable(start, text_pages)?;
        }
        mmap.make_readonly(start + text_pages, tail_len)?;
        // SAFETY: the `text.len()` bytes at `base` are readable (R-X).
        unsafe { sys::flush_icache(base, text.len()) };
        let tail = start + text_pages..start + text_pages + tail_len;
        Ok((CodeMemory { len: text.len(), storage: Storage::Copied(mmap), start, tail }, ranges))
    }

    /// First byte of the text (text offsets of the artifact are relative
    /// to it).
    pub fn text_ptr(&self) -> *const u8 {
        match &self.storage {
            Storage::InPlace(t) => t.as_ptr(),
            // `start` lies inside the mapping (or is 0 for an empty one).
            Storage::Copied(m) => m.as_ptr().wrapping_add(self.start),
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
            Storage::Copied(m) => unsafe { m.slice(self.start..self.start + self.len) },
        }
    }

    /// The read-only pieces copied after the text by
    /// [`CodeMemory::copied_with_tail`] (empty otherwise).
    pub fn tail(&self) -> &[u8] {
        match &self.storage {
            Storage::InPlace(_) => &[],
            // SAFETY: `tail` lies in the mapping, which is read-only there
            // for its whole life after construction and never written again.
            Storage::Copied(m) => unsafe { m.slice(self.tail.clone()) },
        }
    }
}

/// Whether this OS lets a process make memory executable at run time.
/// Apple's mobile systems never do: only code that is part of the app runs
/// there, which is what `include_wasm!`'s in-place code is.
fn executable_memory_allowed() -> io::Result<()> {
    if cfg!(any(target_os = "ios", target_os = "tvos", target_os = "watchos", target_os = "visionos")) {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "this OS does not allow executable memory at run time: embed the module with include_wasm!, \
             whose code runs in place from the app's own text",
        ));
    }
    Ok(())
}

/// `len` bytes of fresh read-write memory, faulted in: a mapping and the
/// offset in it where they start. All of it is about to be written, and
/// one fault per page costs more than the copy; so the pages are faulted
/// in with one call, and code of a huge page or more starts at a huge-page
/// boundary and is advised to use huge pages, so whole huge pages of it
/// fault in at once (and take one TLB entry each when the code runs). The
/// rest of the reservation stays inaccessible.
fn fresh_rw(len: usize) -> io::Result<(Mmap, usize)> {
    let (mut mmap, start) = match sys::huge_page_size() {
        Some(huge) if len >= huge => {
            let too_big = || io::Error::new(io::ErrorKind::InvalidInput, "code exceeds the address space");
            let mut mmap = Mmap::reserve(len.checked_add(huge - sys::page_size()).ok_or_else(too_big)?)?;
            // The reservation is page-aligned and `huge - page` longer than
            // needed, so the next huge-page boundary leaves room for `len`.
            let start = (mmap.as_ptr() as usize).next_multiple_of(huge) - mmap.as_ptr() as usize;
            mmap.make_accessible(start, len)?;
            mmap.advise_huge_pages(start, len)?;
            (mmap, start)
        }
        _ => (Mmap::accessible_rw(len)?, 0),
    };
    if len > 0 {
        mmap.prefault_writable(start, len)?;
    }
    Ok((mmap, start))
}

// Not under Miri: these read the host's mappings and run machine code.
#[cfg(all(test, not(miri), any(target_os = "linux", target_os = "android", windows)))]
pub(crate) mod tests {
    use super::*;
    use crate::vm::testing::{perms_over, regions};

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
        let wx: Vec<_> = regions().into_iter().filter(|m| m.is_writable_and_executable()).collect();
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
                let wx = regions().into_iter().filter(|m| m.is_writable_and_executable()).count();
                assert_eq!(wx, 0);
            }
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        });
    }

    #[test]
    fn tail_is_read_only_after_executable_text() {
        let text = [0xc3u8; 5000];
        let (a, b) = ([1u8, 2, 3], vec![7u8; 9000]);
        let (code, ranges) = CodeMemory::copied_with_tail(&text, &[&a, &[], &b]).unwrap();
        assert_eq!(code.text(), &text[..]);
        assert_eq!(&code.tail()[ranges[0].clone()], &a);
        assert!(ranges[1].is_empty());
        assert_eq!(&code.tail()[ranges[2].clone()], &b[..]);
        assert!(ranges.iter().all(|r| r.start % 16 == 0));
        let start = code.text_ptr() as usize;
        let text_perms = perms_over(start, start + text.len());
        assert!(text_perms.iter().all(|p| p.starts_with("r-x")), "{text_perms:?}");
        let tail = code.tail().as_ptr() as usize;
        assert_eq!(tail % crate::vm::sys::page_size(), 0);
        assert_read_only(tail, code.tail().len());
    }

    /// The tail's pages are readable and not writable. (That they are not
    /// executable either is `tail_is_not_executable`: an emulator's
    /// `/proc/self/maps` may report one mapping for text and tail.)
    fn assert_read_only(start: usize, len: usize) {
        let perms = perms_over(start, start + len);
        assert!(!perms.is_empty() && perms.iter().all(|p| p.starts_with('r') && &p[1..2] == "-"), "{perms:?}");
    }

    /// Calling into the tail faults, even when it holds a whole function:
    /// only the text is executable.
    #[test]
    fn tail_is_not_executable() {
        use crate::vm::testing::{is_child, run_child};
        if is_child("tail_is_not_executable") {
            let ret = crate::vm::traphandlers::tests::code::RET;
            let (code, ranges) = CodeMemory::copied_with_tail(ret, &[ret]).unwrap();
            // SAFETY: the text holds a complete `fn()` (just a return), so
            // this call runs and returns; the tail holds the same bytes,
            // which must fault when called (the expected death of this
            // child).
            unsafe {
                let text: extern "C" fn() = std::mem::transmute(code.text_ptr());
                text();
                let tail: extern "C" fn() = std::mem::transmute(code.tail()[ranges[0].clone()].as_ptr());
                tail();
            }
            std::process::exit(0);
        }
        let status = run_child("vm::code_memory::tests::tail_is_not_executable");
        assert!(crate::vm::testing::died_of_access_violation(&status), "{status:?}");
    }

    /// Code of a huge page or more starts on a huge-page boundary (so the
    /// kernel can back it with huge pages), keeps W^X, and its tail is
    /// read-only.
    #[test]
    fn large_code_is_huge_page_aligned() {
        let text: Vec<u8> = (0..3 << 20).map(|i: u32| (i % 251) as u8).collect();
        let meta = vec![9u8; 100_000];
        let (code, ranges) = CodeMemory::copied_with_tail(&text, &[&meta]).unwrap();
        if let Some(huge) = sys::huge_page_size() {
            assert_eq!(code.text_ptr() as usize % huge, 0);
        }
        assert!(code.text() == &text[..]);
        assert!(code.tail()[ranges[0].clone()] == meta[..]);
        let start = code.text_ptr() as usize;
        let perms = perms_over(start, start + text.len());
        assert!(perms.iter().all(|p| p.starts_with("r-x")), "{perms:?}");
        assert_read_only(code.tail().as_ptr() as usize, code.tail().len());
        let wx: Vec<_> = regions().into_iter().filter(|m| m.is_writable_and_executable()).collect();
        assert!(wx.is_empty(), "writable+executable mappings: {wx:?}");
    }

    /// Code copied into a huge-page-backed mapping runs, at its start and
    /// past the first huge page.
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    #[test]
    fn large_copied_code_runs() {
        // `return 42` for the host.
        #[cfg(target_arch = "x86_64")]
        let ret42: &[u8] = &[0xb8, 0x2a, 0, 0, 0, 0xc3];
        #[cfg(target_arch = "aarch64")]
        let ret42: &[u8] = &[0x40, 0x05, 0x80, 0x52, 0xc0, 0x03, 0x5f, 0xd6];
        let far = (5 << 20) / 2;
        let mut text = vec![0u8; 3 << 20];
        text[..ret42.len()].copy_from_slice(ret42);
        text[far..far + ret42.len()].copy_from_slice(ret42);
        let (code, _) = CodeMemory::copied_with_tail(&text, &[&[1, 2, 3]]).unwrap();
        for at in [0, far] {
            // SAFETY: the text is R-X and holds a complete `extern "C" fn()
            // -> u32` at `at` (checked just above), flushed from the
            // instruction cache by `copied_with_tail`; `code` outlives the
            // call.
            let f: extern "C" fn() -> u32 = unsafe { std::mem::transmute(code.text_ptr().add(at)) };
            assert_eq!(f(), 42);
        }
    }

    /// Copied code with landing pads is mapped so the CPU enforces them: a
    /// call to an entry that is one runs, a call to one that is not faults
    /// (SIGILL) where the CPU has BTI, and runs where it has none.
    #[cfg(all(target_arch = "aarch64", target_os = "linux"))]
    #[test]
    fn guarded_code_enforces_landing_pads() {
        use crate::vm::testing::{is_child, run_child};
        const BTI_C_RET: [u8; 8] = [0x5f, 0x24, 0x03, 0xd5, 0xc0, 0x03, 0x5f, 0xd6];
        const RET: [u8; 4] = [0xc0, 0x03, 0x5f, 0xd6];
        let call = |text: &[u8]| {
            let (code, _) = CodeMemory::copied_guarded(text, &[], true).unwrap();
            // SAFETY: the text is a complete `fn()` that returns; `code`
            // outlives the call, which goes through `blr`.
            let f: extern "C" fn() = unsafe { std::mem::transmute(code.text_ptr()) };
            f();
        };
        if is_child("guarded_code_enforces_landing_pads") {
            call(&BTI_C_RET);
            call(&RET);
            std::process::exit(0);
        }
        use std::os::unix::process::ExitStatusExt;
        let status = run_child("vm::code_memory::tests::guarded_code_enforces_landing_pads");
        if kiln_artifact::cpu::host_has("bti") == Some(true) {
            assert_eq!(status.signal(), Some(libc::SIGILL), "{status:?}");
        } else {
            assert!(status.success(), "{status:?}");
        }
    }

    #[test]
    fn tail_without_text() {
        let (code, ranges) = CodeMemory::copied_with_tail(&[], &[b"abc"]).unwrap();
        assert_eq!(code.text_len(), 0);
        assert_eq!(&code.tail()[ranges[0].clone()], b"abc");
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
