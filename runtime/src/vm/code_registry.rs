//! The process-wide registry of loaded code: which text ranges are kiln code
//! and where their trap sites are. The signal handler asks it, for a
//! faulting PC, "is this a trap site, and which trap?" — so lookups take no
//! lock, allocate nothing and never wait (async-signal-safe).
//!
//! ```text
//!   PUBLISHED: AtomicPtr ──► Snapshot (immutable once published)
//!                            [ Entry { start, end, traps: TrapTable } ; n ]
//!                              sorted by start, ranges disjoint
//!
//!   reader (signal handler, backtraces)     writer (register / drop)
//!   ───────────────────────────────────     ──────────────────────────────
//!   READERS += 1                            lock REGISTERED (a Mutex)
//!   p = PUBLISHED.load()                    build a new sorted Snapshot
//!   binary search *p                        old = PUBLISHED.swap(new)
//!   READERS -= 1                            wait until READERS == 0
//!                                           free old; unlock
//! ```
//!
//! Why this is sound: all accesses are `SeqCst`, so a reader that loaded
//! `old` incremented `READERS` before the writer's swap, and the writer's
//! wait, which comes after the swap, sees the count until that reader is
//! done. A reader that loads after the swap gets `new`. The wait cannot
//! deadlock: a signal handler that interrupts the waiting writer on its own
//! thread finishes its lookup (it never waits for anything) before the
//! writer resumes, and it decrements `READERS` before it leaves — by return
//! or by `longjmp`.
//!
//! Registering the same text range again (one static artifact loaded by
//! two `Module`s) bumps a reference count; the range is unpublished when
//! the last [`Registration`] is dropped.

use kiln_artifact::traps::{TrapCode, TrapTable};
use std::ptr;
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering::SeqCst};
use std::sync::{Mutex, MutexGuard};

#[derive(Clone, Copy, Debug)]
struct Entry {
    start: usize,
    end: usize,
    /// Borrowed from the registrant, who keeps the bytes alive until its
    /// [`Registration`] is dropped (the `'static` is a promise of
    /// `register`'s caller, not of the compiler).
    traps: TrapTable<'static>,
}

struct Snapshot {
    entries: Box<[Entry]>,
}

struct Registered {
    entry: Entry,
    refs: usize,
}

/// The current snapshot; null when nothing is registered.
static PUBLISHED: AtomicPtr<Snapshot> = AtomicPtr::new(ptr::null_mut());
/// How many readers may be looking at a snapshot right now.
static READERS: AtomicUsize = AtomicUsize::new(0);
/// The writers' view, sorted by start; also serialises writers.
static REGISTERED: Mutex<Vec<Registered>> = Mutex::new(Vec::new());

fn registered() -> MutexGuard<'static, Vec<Registered>> {
    // A panic while holding the lock happens before any change (see
    // `register`), so the data is consistent even if poisoned.
    REGISTERED.lock().unwrap_or_else(|e| e.into_inner())
}

/// Keeps a text range registered; dropping it unregisters the range (or
/// drops one reference to it).
#[derive(Debug)]
#[must_use = "the code is unregistered when the Registration is dropped"]
pub struct Registration {
    /// `None` for an empty text, which is never registered.
    start: Option<usize>,
}

/// Register `[text_start, text_start + text_len)` as kiln code whose trap
/// sites are described by `traps`, the bytes of its `.kiln.traps` section.
///
/// # Safety
///
/// Until the returned [`Registration`] is dropped:
/// * the range must hold the text the trap table describes (mapped
///   executable, in place or copied), so that a fault at a listed offset
///   really is that trap — the signal handler abandons the faulting frames
///   on that basis;
/// * the bytes of `traps` must stay valid and unchanged.
///
/// So drop the `Registration` before the code memory and the artifact
/// bytes (declare it before them in the owning struct).
///
/// # Panics
///
/// If the range overlaps a registered range other than the identical one
/// (impossible for live mappings; a caller bug).
pub unsafe fn register(text_start: usize, text_len: usize, traps: &[u8]) -> Registration {
    if text_len == 0 {
        return Registration { start: None };
    }
    let end = text_start.checked_add(text_len).expect("text range overflows the address space");
    // SAFETY: the caller keeps the bytes valid and unchanged until the
    // Registration is dropped; after that no snapshot holding this table is
    // reachable (dropping unpublishes it and waits for readers).
    let traps: &'static [u8] = unsafe { core::slice::from_raw_parts(traps.as_ptr(), traps.len()) };
    let traps = match TrapTable::parse(traps) {
        Ok(t) => t,
        Err(e) => {
            // The loader validated the section; treat a bad one as having no
            // trap sites, which only makes the handler claim fewer faults.
            debug_assert!(false, "register: invalid trap table: {e}");
            TrapTable::EMPTY
        }
    };
    let mut reg = registered();
    let at = reg.partition_point(|r| r.entry.start < text_start);
    if let Some(same) = reg.get_mut(at).filter(|r| r.entry.start == text_start && r.entry.end == end) {
        same.refs += 1;
        return Registration { start: Some(text_start) };
    }
    let overlaps_prev = at > 0 && reg[at - 1].entry.end > text_start;
    let overlaps_next = reg.get(at).is_some_and(|r| r.entry.start < end);
    assert!(!overlaps_prev && !overlaps_next, "code range {text_start:#x}..{end:#x} overlaps a registered range");
    reg.insert(at, Registered { entry: Entry { start: text_start, end, traps }, refs: 1 });
    publish(&reg);
    Registration { start: Some(text_start) }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let Some(start) = self.start else { return };
        let mut reg = registered();
        let Ok(i) = reg.binary_search_by_key(&start, |r| r.entry.start) else {
            debug_assert!(false, "dropping an unknown registration");
            return;
        };
        reg[i].refs -= 1;
        if reg[i].refs == 0 {
            reg.remove(i);
            publish(&reg);
        }
    }
}

/// Replace the published snapshot by one built from `reg`, and free the old
/// one once no reader can be looking at it. Called with the writer lock held.
fn publish(reg: &[Registered]) {
    let new = if reg.is_empty() {
        ptr::null_mut()
    } else {
        let entries = reg.iter().map(|r| r.entry).collect();
        Box::into_raw(Box::new(Snapshot { entries }))
    };
    let old = PUBLISHED.swap(new, SeqCst);
    while READERS.load(SeqCst) != 0 {
        std::thread::yield_now();
    }
    if !old.is_null() {
        // SAFETY: `old` came from `Box::into_raw` in an earlier `publish`
        // and was unpublished by the swap above; readers that could have
        // loaded it have all left (READERS reached 0 after the swap, see
        // the module doc), and writers are serialised by the lock.
        drop(unsafe { Box::from_raw(old) });
    }
}

/// Apply `f` to the entry whose range contains `pc`. Lock-free,
/// allocation-free, panic-free: callable from a signal handler.
#[inline]
fn with_entry<R>(pc: usize, f: impl FnOnce(&Entry) -> Option<R>) -> Option<R> {
    READERS.fetch_add(1, SeqCst);
    let snap = PUBLISHED.load(SeqCst);
    let result = if snap.is_null() {
        None
    } else {
        // SAFETY: a non-null published snapshot is a live `Box<Snapshot>`
        // that no one mutates, and it is not freed while READERS counts us.
        let entries = unsafe { &(*snap).entries };
        let i = entries.partition_point(|e| e.start <= pc);
        match entries.get(i.wrapping_sub(1)) {
            Some(e) if pc < e.end => f(e),
            _ => None,
        }
    };
    READERS.fetch_sub(1, SeqCst);
    result
}

/// If `pc` is a recorded trap site of registered code: its trap code, the
/// start of the text it is in, and its offset in that text.
///
/// Async-signal-safe: no lock, no allocation, no panic.
pub fn lookup_trap(pc: usize) -> Option<(TrapCode, usize, usize)> {
    with_entry(pc, |e| {
        let offset = pc - e.start;
        let code = e.traps.lookup(u32::try_from(offset).ok()?)?;
        Some((code, e.start, offset))
    })
}

/// If `pc` is inside registered code: the start and length of that text.
/// Async-signal-safe, like [`lookup_trap`]; used to walk wasm frames.
pub fn lookup_code(pc: usize) -> Option<(usize, usize)> {
    with_entry(pc, |e| Some((e.start, e.end - e.start)))
}

/// Whether `pc` is inside registered code.
pub fn is_kiln_code(pc: usize) -> bool {
    lookup_code(pc).is_some()
}

#[cfg(all(test, target_pointer_width = "64"))]
mod tests {
    use super::*;
    use kiln_artifact::traps::TrapTableBuilder;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// Addresses no real mapping can have (non-canonical on x86_64, kernel
    /// half elsewhere), so these tests never collide with code registered
    /// by other tests of the same process. Each test uses its own slot.
    fn fake_text(slot: usize) -> usize {
        0xfff0_0000_0000_0000 + slot * 0x1_0000_0000
    }

    fn table(sites: &[(u32, TrapCode)]) -> Vec<u8> {
        let mut b = TrapTableBuilder::default();
        for &(o, c) in sites {
            b.push(o, c);
        }
        b.finish()
    }

    #[test]
    fn register_lookup_unregister() {
        let base = fake_text(1);
        let traps = table(&[(0x10, TrapCode::UnreachableCodeReached), (0x20, TrapCode::MemoryOutOfBounds)]);
        // SAFETY: nothing executes at the fake range, and `traps` outlives
        // the registration.
        let reg = unsafe { register(base, 0x100, &traps) };
        assert_eq!(lookup_trap(base + 0x10), Some((TrapCode::UnreachableCodeReached, base, 0x10)));
        assert_eq!(lookup_trap(base + 0x20), Some((TrapCode::MemoryOutOfBounds, base, 0x20)));
        assert_eq!(lookup_trap(base + 0x11), None);
        assert!(is_kiln_code(base + 0x11));
        assert_eq!(lookup_code(base + 0xff), Some((base, 0x100)));
        assert!(!is_kiln_code(base + 0x100));
        assert!(!is_kiln_code(base - 1));
        drop(reg);
        assert_eq!(lookup_trap(base + 0x10), None);
        assert!(!is_kiln_code(base + 0x11));
    }

    #[test]
    fn same_range_twice_is_reference_counted() {
        let base = fake_text(2);
        let traps = table(&[(4, TrapCode::IntegerOverflow)]);
        // SAFETY: as in `register_lookup_unregister`.
        let (a, b) = unsafe { (register(base, 64, &traps), register(base, 64, &traps)) };
        drop(a);
        assert_eq!(lookup_trap(base + 4).map(|t| t.0), Some(TrapCode::IntegerOverflow));
        drop(b);
        assert_eq!(lookup_trap(base + 4), None);
    }

    #[test]
    fn empty_text_is_not_registered() {
        let base = fake_text(3);
        // SAFETY: as in `register_lookup_unregister`.
        let reg = unsafe { register(base, 0, &table(&[])) };
        assert!(!is_kiln_code(base));
        drop(reg);
    }

    #[test]
    #[should_panic(expected = "overlaps")]
    fn overlapping_ranges_are_a_bug() {
        let base = fake_text(4);
        let traps = table(&[]);
        // SAFETY: as in `register_lookup_unregister`.
        let _a = unsafe { register(base, 64, &traps) };
        // SAFETY: as above.
        let _b = unsafe { register(base + 32, 64, &traps) };
    }

    #[test]
    fn concurrent_registration_and_lookups() {
        let fixed = fake_text(5);
        let fixed_traps = table(&[(8, TrapCode::BadSignature)]);
        // SAFETY: as in `register_lookup_unregister`.
        let _fixed = unsafe { register(fixed, 16, &fixed_traps) };
        let stop = AtomicBool::new(false);
        std::thread::scope(|s| {
            let readers: Vec<_> = (0..2)
                .map(|_| {
                    let stop = &stop;
                    s.spawn(move || {
                        let mut n = 0usize;
                        while !stop.load(Ordering::Relaxed) {
                            assert_eq!(lookup_trap(fixed + 8), Some((TrapCode::BadSignature, fixed, 8)));
                            for w in 0..2 {
                                let base = fake_text(6 + w) + (n % 7) * 0x1000;
                                if let Some(t) = lookup_trap(base) {
                                    assert_eq!(t, (TrapCode::StackOverflow, base, 0));
                                }
                            }
                            n += 1;
                        }
                        n
                    })
                })
                .collect();
            let writers: Vec<_> = (0..2)
                .map(|w| {
                    s.spawn(move || {
                        for i in 0..500usize {
                            let base = fake_text(6 + w) + (i % 7) * 0x1000;
                            // A fresh heap table each time, freed right after
                            // unregistration: a reader still using it would
                            // read freed memory.
                            let traps =
                                table(&[(0, TrapCode::StackOverflow), (i as u32 % 64 + 1, TrapCode::HeapMisaligned)]);
                            // SAFETY: as in `register_lookup_unregister`;
                            // `traps` is dropped after `reg`.
                            let reg = unsafe { register(base, 0x100, &traps) };
                            std::thread::yield_now();
                            drop(reg);
                            drop(traps);
                        }
                    })
                })
                .collect();
            for w in writers {
                w.join().unwrap();
            }
            stop.store(true, Ordering::Relaxed);
            for r in readers {
                assert!(r.join().unwrap() > 0);
            }
        });
        assert_eq!(lookup_trap(fixed + 8).map(|t| t.0), Some(TrapCode::BadSignature));
    }
}
