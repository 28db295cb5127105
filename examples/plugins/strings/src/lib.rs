//! A `wasm32-unknown-unknown` plugin that works on strings and byte buffers
//! lent by the host through its linear memory: the host asks it to `alloc`
//! room, writes bytes there, calls a function, and reads the answer back
//! from the (pointer, length) the plugin returns packed in an i64.

#![no_std]

extern crate alloc;

use alloc::vec::Vec;
use core::alloc::{GlobalAlloc, Layout};

/// A bump allocator: plugins are short-lived, memory is reclaimed with the
/// instance.
struct Bump;

static mut NEXT: usize = 0;

unsafe impl GlobalAlloc for Bump {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        extern "C" {
            static __heap_base: u8;
        }
        // SAFETY: single-threaded wasm; NEXT is only touched here.
        unsafe {
            if NEXT == 0 {
                NEXT = core::ptr::addr_of!(__heap_base) as usize;
            }
            let start = (NEXT + layout.align() - 1) & !(layout.align() - 1);
            let end = start + layout.size();
            let pages_needed = end.saturating_sub(core::arch::wasm32::memory_size(0) * 65536).div_ceil(65536);
            if pages_needed > 0 && core::arch::wasm32::memory_grow(0, pages_needed) == usize::MAX {
                return core::ptr::null_mut();
            }
            NEXT = end;
            start as *mut u8
        }
    }
    unsafe fn dealloc(&self, _: *mut u8, _: Layout) {}
}

#[global_allocator]
static ALLOC: Bump = Bump;

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    core::arch::wasm32::unreachable()
}

fn pack(bytes: Vec<u8>) -> i64 {
    let (ptr, len) = (bytes.as_ptr() as u32, bytes.len() as u32);
    core::mem::forget(bytes);
    ((ptr as i64) << 32) | len as i64
}

/// Room for `len` bytes the host will write.
#[no_mangle]
pub extern "C" fn alloc(len: u32) -> u32 {
    let mut v = Vec::<u8>::with_capacity(len as usize);
    let p = v.as_mut_ptr() as u32;
    core::mem::forget(v);
    p
}

/// The UTF-8 text at (ptr, len), reversed by characters; (ptr << 32) | len.
#[no_mangle]
pub extern "C" fn reverse(ptr: u32, len: u32) -> i64 {
    // SAFETY: the host wrote `len` bytes at `ptr`, inside this memory.
    let input = unsafe { core::slice::from_raw_parts(ptr as *const u8, len as usize) };
    let Ok(text) = core::str::from_utf8(input) else { return -1 };
    let mut out = Vec::with_capacity(text.len());
    let mut buf = [0u8; 4];
    for c in text.chars().rev() {
        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
    }
    pack(out)
}

/// A checksum of a byte buffer (FNV-1a, 32 bits).
#[no_mangle]
pub extern "C" fn checksum(ptr: u32, len: u32) -> u32 {
    // SAFETY: as in `reverse`.
    let bytes = unsafe { core::slice::from_raw_parts(ptr as *const u8, len as usize) };
    bytes.iter().fold(0x811c9dc5u32, |h, &b| (h ^ b as u32).wrapping_mul(0x0100_0193))
}
