//! A misbehaving plugin: it never returns. The host stops it with an epoch
//! deadline.

#![no_std]

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    core::arch::wasm32::unreachable()
}

/// Count forever.
#[no_mangle]
pub extern "C" fn run() -> u64 {
    let mut n: u64 = 0;
    loop {
        // Opaque to the optimiser, so the loop stays a loop that does work.
        n = core::hint::black_box(n.wrapping_add(1));
    }
}
