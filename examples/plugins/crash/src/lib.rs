//! A buggy plugin: it divides by the host's input and indexes out of its
//! memory. Its faults must come back to the host as traps.

#![no_std]

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    core::arch::wasm32::unreachable()
}

/// 100 / `d`, trapping on zero.
#[no_mangle]
pub extern "C" fn divide(d: i32) -> i32 {
    // wrapping_div still traps on division by zero in wasm.
    100i32.wrapping_div(core::hint::black_box(d))
}

/// Read a byte far outside memory.
#[no_mangle]
pub extern "C" fn wild_read(addr: u32) -> u32 {
    // SAFETY: none — this plugin is deliberately wrong; the sandbox holds.
    unsafe { core::ptr::read_volatile(addr as *const u8) as u32 }
}
