//! The SIMD execution kernel for the kiln/Wasmtime comparison, built with
//! simd128 (see `Cargo.toml`). Like the scalar kernels, it takes its problem
//! size as arguments and returns a value the runner checks against the same
//! code run natively (`blend.rs`).
#![no_std]

mod blend;

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

/// Room for two images of 2^21 pixels (8 MiB each, in .bss: no data
/// segment).
const ARENA: usize = 16 << 20;
static mut MEM: [u8; ARENA] = [0; ARENA];

/// Composites two RGBA images of `pixels` pixels (a multiple of 4) onto each
/// other `rounds` times; a checksum of both.
#[no_mangle]
pub extern "C" fn simd_blend(pixels: u32, rounds: u32, seed: u32) -> u32 {
    // SAFETY: wasm32 here is single-threaded and this is the only function
    // touching the arena, so this is its only live reference.
    let arena = unsafe { &mut *core::ptr::addr_of_mut!(MEM) };
    let (a, b) = arena[..8 * pixels as usize].split_at_mut(4 * pixels as usize);
    blend::blend_rounds(a, b, seed, rounds)
}
