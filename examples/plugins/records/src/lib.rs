//! A plugin with a bug, built in the debug profile so that it carries
//! DWARF: its traps must name the Rust file and line they come from, through
//! every frame (the panic handler, core's bounds-check panic, and this
//! crate's functions).

#![no_std]

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    core::arch::wasm32::unreachable()
}

/// Unit prices, in cents, of the four items on sale.
static PRICES: [u32; 4] = [120, 80, 45, 300];

/// The price of `item`: a bounds-check panic for an item not on sale.
fn price(item: usize) -> u32 {
    PRICES[item]
}

/// `qty` of `item`: an overflow panic for absurd quantities.
fn line_total(item: usize, qty: u32) -> u32 {
    price(item) * qty
}

/// The total of an order of one line.
#[no_mangle]
pub extern "C" fn order_total(item: u32, qty: u32) -> u32 {
    line_total(item as usize, qty)
}

/// Read a byte far outside memory: the fault is caught by the sandbox, and
/// the trap names this line.
#[no_mangle]
pub extern "C" fn wild_read(addr: u32) -> u32 {
    // SAFETY: none — this plugin is deliberately wrong; the sandbox holds.
    unsafe { core::ptr::read_volatile(addr as *const u8) as u32 }
}
