//! Execution kernels for the kiln/Wasmtime comparison. Each export takes its
//! problem size as arguments (so nothing is folded at build time) and
//! returns a value the runner checks against the same code run natively
//! (`algo.rs`), so a wrong answer cannot pass for a fast one.
#![no_std]

mod algo;

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

/// One static arena for every kernel's buffers (32 MiB, in .bss: no data
/// segment). Kernels run one at a time.
const ARENA: usize = 32 << 20;
static mut MEM: [u8; ARENA] = [0; ARENA];

fn arena() -> &'static mut [u8] {
    // SAFETY: wasm32 here is single-threaded and no two kernels run at once,
    // so this is the only live reference to the arena.
    unsafe { &mut *core::ptr::addr_of_mut!(MEM) }
}

fn words<T>(bytes: &mut [u8], count: usize) -> &mut [T] {
    let size = core::mem::size_of::<T>();
    assert!(count * size <= bytes.len() && bytes.as_ptr() as usize % core::mem::align_of::<T>() == 0);
    // SAFETY: in bounds and aligned (checked above); T is plain data here.
    unsafe { core::slice::from_raw_parts_mut(bytes.as_mut_ptr() as *mut T, count) }
}

#[no_mangle]
pub extern "C" fn fib(n: u32) -> u32 {
    algo::fib(n)
}

#[no_mangle]
pub extern "C" fn sieve(n: u32) -> u32 {
    algo::sieve(&mut arena()[..n as usize])
}

#[no_mangle]
pub extern "C" fn matmul(n: u32) -> f64 {
    let n = n as usize;
    let (a, rest) = arena().split_at_mut(n * n * 8);
    let (b, c) = rest.split_at_mut(n * n * 8);
    algo::matmul(n, words(a, n * n), words(b, n * n), words(c, n * n))
}

#[no_mangle]
pub extern "C" fn sha256(len: u32, seed: u32, rounds: u32) -> u32 {
    algo::sha256_rounds(&mut arena()[..len as usize], seed, rounds)
}

#[no_mangle]
pub extern "C" fn quicksort(n: u32, seed: u32) -> u32 {
    algo::sort(words(arena(), n as usize), seed)
}

#[no_mangle]
pub extern "C" fn mandelbrot(size: u32) -> u32 {
    algo::mandelbrot(size)
}

#[no_mangle]
pub extern "C" fn compress(len: u32, seed: u32) -> u32 {
    let n = len as usize;
    let (input, rest) = arena().split_at_mut(n);
    let (out, rest) = rest.split_at_mut(n + n / 255 + 16);
    let (back, rest) = rest.split_at_mut(n);
    let pad = (4 - rest.as_ptr() as usize % 4) % 4;
    let table = words(&mut rest[pad..], 4096);
    algo::fill_text(input, seed);
    algo::compress_roundtrip(input, out, back, table)
}

#[no_mangle]
pub extern "C" fn memops(len: u32, rounds: u32) -> u32 {
    algo::memops(&mut arena()[..len as usize], rounds)
}
