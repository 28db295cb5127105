//! A `wasm32-unknown-unknown` plugin doing the work SIMD is used for in real
//! plugins: byte search, pixel and audio-sample processing, hashing, float
//! kernels. `../build.sh` builds it twice, with `-C target-feature=+simd128`
//! (`wasm/simd-simd128.wasm`) and without (`wasm/simd-scalar.wasm`), and
//! every export must give the same answer in both: that is what kiln's
//! end-to-end test checks.
//!
//! Part of the code is written with `core::arch::wasm32` intrinsics and has
//! a scalar twin for the plain build, so the SIMD build certainly holds
//! shuffles, extends and narrows, dot products, lane loads and stores; the
//! rest is plain loops that LLVM vectorises when simd128 is on. Nothing here
//! reduces floats, so no result depends on the order of operations.
//!
//! The host lends buffers through this memory: it asks `alloc` for room,
//! writes its input there and passes (pointer, length) pairs. Functions that
//! produce a buffer write it in place or to a destination the host also
//! allocated, and return an FNV-1a checksum of it.

mod bytes;
mod float;
mod hash;
mod image;
mod samples;

/// Room for `len` bytes, 16-byte aligned so that the host controls the
/// misalignment of what it passes (by adding an offset).
#[no_mangle]
pub extern "C" fn alloc(len: u32) -> u32 {
    let layout = std::alloc::Layout::from_size_align(len.max(1) as usize, 16).unwrap();
    // SAFETY: the layout has a non-zero size. The memory is handed to the
    // host for the life of the instance, never freed.
    unsafe { std::alloc::alloc(layout) as u32 }
}

/// `len` values of `T` at `ptr`, which must be aligned for `T`.
fn slice<'a, T>(ptr: u32, len: u32) -> &'a [T] {
    assert!((ptr as usize).is_multiple_of(std::mem::align_of::<T>()), "misaligned buffer");
    // SAFETY: the host wrote `len` values at `ptr`, inside this memory (a
    // wrong range traps on the access, which is the host's mistake to see).
    unsafe { std::slice::from_raw_parts(ptr as *const T, len as usize) }
}

fn slice_mut<'a, T>(ptr: u32, len: u32) -> &'a mut [T] {
    assert!((ptr as usize).is_multiple_of(std::mem::align_of::<T>()), "misaligned buffer");
    // SAFETY: as in `slice`; the host passes output buffers that overlap no
    // input of the same call.
    unsafe { std::slice::from_raw_parts_mut(ptr as *mut T, len as usize) }
}

/// FNV-1a (64 bits) of the bytes of `values`: one serial loop, the same in
/// both builds.
fn checksum<T: Copy>(values: &[T]) -> i64 {
    // SAFETY: every `T` used here is a plain integer or float, with no
    // padding, so its bytes are initialised.
    let bytes = unsafe { std::slice::from_raw_parts(values.as_ptr() as *const u8, std::mem::size_of_val(values)) };
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)) as i64
}

/// Index of the first byte equal to `needle`, or -1.
#[no_mangle]
pub extern "C" fn find_byte(ptr: u32, len: u32, needle: u32) -> i32 {
    bytes::find(slice(ptr, len), needle as u8).map_or(-1, |i| i as i32)
}

/// How many bytes equal `needle`.
#[no_mangle]
pub extern "C" fn count_byte(ptr: u32, len: u32, needle: u32) -> u32 {
    bytes::count(slice(ptr, len), needle as u8) as u32
}

/// Length of the longest prefix that is ASCII (the fast path of UTF-8
/// validation).
#[no_mangle]
pub extern "C" fn ascii_prefix(ptr: u32, len: u32) -> u32 {
    bytes::ascii_prefix(slice(ptr, len)) as u32
}

/// Writes the `len` bytes at `src` as `2 * len` lowercase hex digits at `dst`.
#[no_mangle]
pub extern "C" fn hex_encode(dst: u32, src: u32, len: u32) -> i64 {
    let out = slice_mut(dst, 2 * len);
    bytes::hex_encode(out, slice(src, len));
    checksum(out)
}

/// Blends `pixels` RGBA pixels at `src` over those at `dst`, in place.
#[no_mangle]
pub extern "C" fn blend_rgba(dst: u32, src: u32, pixels: u32) -> i64 {
    let out = slice_mut(dst, 4 * pixels);
    image::blend_rgba(out, slice(src, 4 * pixels));
    checksum(out)
}

/// A 3×3 Gaussian blur of a `width`×`height` grey image, `src` to `dst`.
#[no_mangle]
pub extern "C" fn blur3x3(dst: u32, src: u32, width: u32, height: u32) -> i64 {
    let out = slice_mut(dst, width * height);
    image::blur3x3(out, slice(src, width * height), width as usize);
    checksum(out)
}

/// Adds `delta` (clamped to ±255) to every byte, saturating, in place.
#[no_mangle]
pub extern "C" fn brighten(ptr: u32, len: u32, delta: i32) -> i64 {
    let buf = slice_mut(ptr, len);
    image::brighten(buf, delta);
    checksum(buf)
}

/// Σ a[i]·b[i] over `n` i16, wrapping in i32.
#[no_mangle]
pub extern "C" fn dot_i16(a: u32, b: u32, n: u32) -> i32 {
    samples::dot_i16(slice(a, n), slice(b, n))
}

/// Σ a[i]·b[i] over `n` i32, wrapping.
#[no_mangle]
pub extern "C" fn dot_i32(a: u32, b: u32, n: u32) -> i32 {
    samples::dot_i32(slice(a, n), slice(b, n))
}

/// A Q15 FIR filter of the `n` i16 samples at `src` with the `taps` i16
/// coefficients at `coeffs`: `n - taps + 1` outputs at `dst` (none when
/// `taps` is 0 or above `n`).
#[no_mangle]
pub extern "C" fn fir_i16(dst: u32, src: u32, n: u32, coeffs: u32, taps: u32) -> i64 {
    let outputs = (n + 1).saturating_sub(taps);
    let out = slice_mut(dst, if taps == 0 { 0 } else { outputs });
    samples::fir_i16(out, slice(src, n), slice(coeffs, taps));
    checksum(out)
}

/// The minimum and maximum of `n` i16: `max << 16 | min as u16`
/// (`i16::MIN << 16 | i16::MAX as u16` when `n` is 0).
#[no_mangle]
pub extern "C" fn minmax_i16(ptr: u32, n: u32) -> i32 {
    let (min, max) = samples::minmax_i16(slice(ptr, n));
    (max as i32) << 16 | min as u16 as i32
}

/// XXH32 of the `len` bytes at `ptr`.
#[no_mangle]
pub extern "C" fn xxh32(ptr: u32, len: u32, seed: u32) -> u32 {
    hash::xxh32(slice(ptr, len), seed)
}

/// Scales `n` f32 by `scale` and clamps them to [`lo`, `hi`], in place.
#[no_mangle]
pub extern "C" fn scale_clamp_f32(ptr: u32, n: u32, scale: f32, lo: f32, hi: f32) -> i64 {
    let buf = slice_mut(ptr, n);
    float::scale_clamp(buf, scale, lo, hi);
    checksum(buf)
}

/// The lengths of `n` 2-D vectors stored as interleaved (x, y) f32 at
/// `src`, written as `n` f32 at `dst`.
#[no_mangle]
pub extern "C" fn magnitude_f32(dst: u32, src: u32, n: u32) -> i64 {
    let out = slice_mut(dst, n);
    float::magnitude(out, slice(src, 2 * n));
    checksum(out)
}
