//! The SIMD kernel: RGBA alpha compositing, as an image plugin does it, in
//! 16-bit lanes. Shared by the wasm build (`lib.rs`, with simd128, where
//! the blend and the checksum are written with `core::arch::wasm32`
//! intrinsics) and the benchmark runner, which runs the scalar twins
//! natively to know the answer: both compute exactly the same integers.

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
use core::arch::wasm32::*;

/// `x / 255` rounded to nearest, for `x <= 255 * 255`, in 16 bits.
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
#[inline(always)]
fn div255(x: u16) -> u16 {
    let t = x + 128;
    (t + (t >> 8)) >> 8
}

/// An image of `pixels.len() / 4` RGBA pixels from `seed`, alpha spread
/// over the whole range.
pub fn fill(pixels: &mut [u8], seed: u32) {
    for (i, px) in pixels.chunks_exact_mut(4).enumerate() {
        let i = i as u32;
        let word = i.wrapping_mul(0x9e37_79b1).wrapping_add(seed) ^ (i >> 5).wrapping_mul(0x85eb_ca77);
        px.copy_from_slice(&word.to_le_bytes());
    }
}

/// Composites `over` onto `under`, in place, each pixel with its own alpha
/// scaled by `opacity`.
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
pub fn blend(under: &mut [u8], over: &[u8], opacity: u8) {
    for (u, o) in under.chunks_exact_mut(4).zip(over.chunks_exact(4)) {
        let alpha = div255(o[3] as u16 * opacity as u16);
        for (u, &o) in u.iter_mut().zip(o) {
            *u = div255(o as u16 * alpha + *u as u16 * (255 - alpha)) as u8;
        }
    }
}

/// `div255` on eight u16 lanes.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
fn div255x8(x: v128) -> v128 {
    let t = i16x8_add(x, u16x8_splat(128));
    u16x8_shr(i16x8_add(t, u16x8_shr(t, 8)), 8)
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub fn blend(under: &mut [u8], over: &[u8], opacity: u8) {
    assert!(under.len() == over.len() && under.len().is_multiple_of(16));
    let (opacity, full) = (u16x8_splat(opacity as u16), u16x8_splat(255));
    for (u, o) in under.chunks_exact_mut(16).zip(over.chunks_exact(16)) {
        // SAFETY: both chunks are 16 bytes; v128 loads and stores need no
        // alignment.
        let (d, s) = unsafe { (v128_load(u.as_ptr() as *const v128), v128_load(o.as_ptr() as *const v128)) };
        // Each pixel's alpha on its four channels.
        let alpha = i8x16_shuffle::<3, 3, 3, 3, 7, 7, 7, 7, 11, 11, 11, 11, 15, 15, 15, 15>(s, s);
        let half = |s: v128, d: v128, a: v128| {
            let a = div255x8(i16x8_mul(a, opacity));
            div255x8(i16x8_add(i16x8_mul(s, a), i16x8_mul(d, i16x8_sub(full, a))))
        };
        let low = half(u16x8_extend_low_u8x16(s), u16x8_extend_low_u8x16(d), u16x8_extend_low_u8x16(alpha));
        let high = half(u16x8_extend_high_u8x16(s), u16x8_extend_high_u8x16(d), u16x8_extend_high_u8x16(alpha));
        // SAFETY: as above.
        unsafe { v128_store(u.as_mut_ptr() as *mut v128, u8x16_narrow_i16x8(low, high)) };
    }
}

/// Σ word[i]·(2i + 1) over the little-endian u32 words, wrapping: every
/// byte counts, and where it is.
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
pub fn checksum(bytes: &[u8]) -> u32 {
    bytes.chunks_exact(4).enumerate().fold(0u32, |sum, (i, w)| {
        let word = u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
        sum.wrapping_add(word.wrapping_mul(2 * i as u32 + 1))
    })
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub fn checksum(bytes: &[u8]) -> u32 {
    assert!(bytes.len().is_multiple_of(16));
    let (mut sum, mut weight, step) = (u32x4_splat(0), u32x4(1, 3, 5, 7), u32x4_splat(8));
    for chunk in bytes.chunks_exact(16) {
        // SAFETY: the chunk is 16 bytes.
        let words = unsafe { v128_load(chunk.as_ptr() as *const v128) };
        sum = i32x4_add(sum, i32x4_mul(words, weight));
        weight = i32x4_add(weight, step);
    }
    u32x4_extract_lane::<0>(sum)
        .wrapping_add(u32x4_extract_lane::<1>(sum))
        .wrapping_add(u32x4_extract_lane::<2>(sum))
        .wrapping_add(u32x4_extract_lane::<3>(sum))
}

/// Fills two images of `a.len() / 4` pixels from `seed`, then composites
/// them onto each other `rounds` times, alternately, at varying opacity;
/// returns a checksum of both. Lengths are multiples of 16 (four pixels).
pub fn blend_rounds(a: &mut [u8], b: &mut [u8], seed: u32, rounds: u32) -> u32 {
    fill(a, seed);
    fill(b, !seed);
    for r in 0..rounds {
        let opacity = (64 + r * 37 % 192) as u8;
        if r % 2 == 0 {
            blend(a, b, opacity);
        } else {
            blend(b, a, opacity);
        }
    }
    checksum(a).wrapping_mul(31).wrapping_add(checksum(b))
}
