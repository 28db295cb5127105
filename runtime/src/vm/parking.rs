//! `memory.atomic.wait` and `memory.atomic.notify`: threads of a process
//! park on addresses of shared linear memories.
//!
//! One process-wide table maps a host address to the queue of threads
//! waiting on it, first come first woken. A waiter compares the memory's
//! value with the expected one while holding the table's lock, and a
//! notifier takes the same lock, so a notify can never fall between the
//! compare and the wait (no lost wake-ups). Each waiter has its own flag
//! and condition variable, so a notify wakes exactly the threads it
//! counts. Shared memories never move or shrink, and compiled code checks
//! bounds and alignment before it calls here, so every address is a valid,
//! aligned location of a live memory.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// What `wait` returns to wasm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum WaitResult {
    /// A notify woke the thread.
    Ok = 0,
    /// The memory did not hold the expected value.
    Mismatch = 1,
    /// The timeout passed first.
    TimedOut = 2,
}

#[derive(Default)]
struct Waiter {
    woken: Mutex<bool>,
    wake: Condvar,
}

type Queues = HashMap<usize, VecDeque<Arc<Waiter>>>;

fn queues() -> MutexGuard<'static, Queues> {
    static QUEUES: std::sync::LazyLock<Mutex<Queues>> = std::sync::LazyLock::new(Default::default);
    // Every update below leaves the map consistent at each step.
    QUEUES.lock().unwrap_or_else(|e| e.into_inner())
}

/// The value a wait compares: 32 or 64 bits.
#[derive(Debug, Clone, Copy)]
pub enum Expected {
    /// `memory.atomic.wait32`
    U32(u32),
    /// `memory.atomic.wait64`
    U64(u64),
}

/// Park the calling thread on `addr` unless it holds something other than
/// `expected`, for at most `timeout` (forever when `None`).
///
/// # Safety
///
/// `addr` must be aligned for `expected`'s width and lie in a shared linear
/// memory that stays mapped for the call.
pub unsafe fn wait(addr: *const u8, expected: Expected, timeout: Option<Duration>) -> WaitResult {
    let deadline = timeout.map(|t| Instant::now().checked_add(t));
    let waiter = Arc::new(Waiter::default());
    {
        let mut q = queues();
        // SAFETY: aligned and mapped (the caller's contract); other threads
        // access it only atomically or through wasm's own racy stores,
        // which the memory model of shared memories allows.
        let equal = unsafe {
            match expected {
                // Linear memory is little-endian on every host.
                Expected::U32(v) => {
                    u32::from_le(AtomicU32::from_ptr(addr.cast_mut().cast()).load(Ordering::SeqCst)) == v
                }
                Expected::U64(v) => {
                    u64::from_le(AtomicU64::from_ptr(addr.cast_mut().cast()).load(Ordering::SeqCst)) == v
                }
            }
        };
        if !equal {
            return WaitResult::Mismatch;
        }
        q.entry(addr as usize).or_default().push_back(waiter.clone());
    }
    let mut woken = waiter.woken.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        if *woken {
            return WaitResult::Ok;
        }
        woken = match deadline {
            // Too far away to represent: as good as forever.
            None | Some(None) => waiter.wake.wait(woken).unwrap_or_else(|e| e.into_inner()),
            Some(Some(deadline)) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                waiter.wake.wait_timeout(woken, left).unwrap_or_else(|e| e.into_inner()).0
            }
        };
    }
    drop(woken);
    // Timed out: leave the queue, unless a notify took this waiter off it
    // in the meantime, in which case it counted the wake-up and so must we.
    let mut q = queues();
    let Some(queue) = q.get_mut(&(addr as usize)) else { return WaitResult::Ok };
    let Some(at) = queue.iter().position(|w| Arc::ptr_eq(w, &waiter)) else { return WaitResult::Ok };
    queue.remove(at);
    if queue.is_empty() {
        q.remove(&(addr as usize));
    }
    WaitResult::TimedOut
}

/// Wake at most `count` threads parked on `addr`, oldest first; how many
/// were woken.
pub fn notify(addr: *const u8, count: u32) -> u32 {
    let mut q = queues();
    let Some(queue) = q.get_mut(&(addr as usize)) else { return 0 };
    let mut woken = 0;
    while woken < count {
        let Some(w) = queue.pop_front() else { break };
        *w.woken.lock().unwrap_or_else(|e| e.into_inner()) = true;
        w.wake.notify_one();
        woken += 1;
    }
    if queue.is_empty() {
        q.remove(&(addr as usize));
    }
    woken
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mismatch_timeout_and_wake() {
        let cell = Box::new(AtomicU32::new(5u32.to_le()));
        let addr = cell.as_ptr().cast::<u8>().cast_const();
        // SAFETY: `cell` is aligned, and alive for the whole test.
        unsafe {
            assert_eq!(wait(addr, Expected::U32(4), None), WaitResult::Mismatch);
            assert_eq!(wait(addr, Expected::U32(5), Some(Duration::from_millis(10))), WaitResult::TimedOut);
        }
        assert_eq!(notify(addr, 1), 0, "nobody is left waiting");
        let addr_bits = addr as usize;
        let waiters: Vec<_> = (0..3)
            .map(|_| {
                std::thread::spawn(move || {
                    // SAFETY: as above; the test joins every thread first.
                    unsafe { wait(addr_bits as *const u8, Expected::U32(5), Some(Duration::from_secs(60))) }
                })
            })
            .collect();
        let mut woken = 0;
        while woken < 3 {
            woken += notify(addr, 2);
            std::thread::yield_now();
        }
        for w in waiters {
            assert_eq!(w.join().unwrap(), WaitResult::Ok);
        }
        drop(cell);
    }
}
