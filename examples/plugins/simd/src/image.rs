//! Pixel work: an RGBA alpha blend written with intrinsics, and a blur and a
//! brightness change written as plain loops for LLVM to vectorise.

#[cfg(target_feature = "simd128")]
use core::arch::wasm32::*;

/// `x / 255` rounded to nearest, for `x <= 255 * 255`, without a division:
/// the identity the vector code uses lane by lane in 16 bits.
#[cfg(not(target_feature = "simd128"))]
fn div255(x: u16) -> u16 {
    let t = x + 128;
    (t + (t >> 8)) >> 8
}

#[cfg(not(target_feature = "simd128"))]
fn blend_byte(d: u8, s: u8, alpha: u8) -> u8 {
    div255(s as u16 * alpha as u16 + d as u16 * (255 - alpha) as u16) as u8
}

/// `div255` on eight u16 lanes.
#[cfg(target_feature = "simd128")]
#[inline(always)]
fn div255x8(x: v128) -> v128 {
    let t = i16x8_add(x, u16x8_splat(128));
    u16x8_shr(i16x8_add(t, u16x8_shr(t, 8)), 8)
}

/// Four RGBA pixels of `src` blended over four of `dst`.
#[cfg(target_feature = "simd128")]
#[inline(always)]
fn blend4(d: v128, s: v128) -> v128 {
    // Each pixel's alpha, copied to its four channels.
    let alpha = i8x16_swizzle(s, u8x16(3, 3, 3, 3, 7, 7, 7, 7, 11, 11, 11, 11, 15, 15, 15, 15));
    let full = u16x8_splat(255);
    let half = |s: v128, d: v128, a: v128| {
        // Products stay below 2^16: s·a + d·(255 − a) <= 255·255.
        div255x8(i16x8_add(i16x8_mul(s, a), i16x8_mul(d, i16x8_sub(full, a))))
    };
    let low = half(u16x8_extend_low_u8x16(s), u16x8_extend_low_u8x16(d), u16x8_extend_low_u8x16(alpha));
    let high = half(u16x8_extend_high_u8x16(s), u16x8_extend_high_u8x16(d), u16x8_extend_high_u8x16(alpha));
    u8x16_narrow_i16x8(low, high)
}

#[cfg(target_feature = "simd128")]
pub fn blend_rgba(dst: &mut [u8], src: &[u8]) {
    assert_eq!(dst.len(), src.len());
    let mut i = 0;
    while i + 16 <= dst.len() {
        // SAFETY: the loop condition; no alignment is needed.
        unsafe {
            let p = dst.as_mut_ptr().add(i) as *mut v128;
            v128_store(p, blend4(v128_load(p), v128_load(src.as_ptr().add(i) as *const v128)));
        }
        i += 16;
    }
    // The last pixels one at a time, through the low lane only.
    while i + 4 <= dst.len() {
        // SAFETY: i + 4 <= len.
        unsafe {
            let p = dst.as_mut_ptr().add(i);
            let d = v128_load32_zero(p as *const u32);
            let s = v128_load32_zero(src.as_ptr().add(i) as *const u32);
            v128_store32_lane::<0>(blend4(d, s), p as *mut u32);
        }
        i += 4;
    }
}

#[cfg(not(target_feature = "simd128"))]
pub fn blend_rgba(dst: &mut [u8], src: &[u8]) {
    assert_eq!(dst.len(), src.len());
    for (d, s) in dst.chunks_exact_mut(4).zip(src.chunks_exact(4)) {
        let alpha = s[3];
        for (d, &s) in d.iter_mut().zip(s) {
            *d = blend_byte(*d, s, alpha);
        }
    }
}

/// The [1 2 1] ⊗ [1 2 1] / 16 kernel, rounded, edges repeated. Rows are
/// summed vertically into 16-bit lanes, then horizontally: both loops are
/// over whole rows, which is what the vectoriser wants.
pub fn blur3x3(dst: &mut [u8], src: &[u8], width: usize) {
    assert_eq!(dst.len(), src.len());
    if width == 0 {
        return;
    }
    let height = src.len() / width;
    let row = |y: usize| &src[y * width..(y + 1) * width];
    let mut sums = vec![0u16; width];
    for y in 0..height {
        let (above, here, below) = (row(y.saturating_sub(1)), row(y), row((y + 1).min(height - 1)));
        for (((s, &a), &h), &b) in sums.iter_mut().zip(above).zip(here).zip(below) {
            *s = a as u16 + 2 * h as u16 + b as u16;
        }
        let out = &mut dst[y * width..(y + 1) * width];
        if width == 1 {
            out[0] = ((4 * sums[0] + 8) >> 4) as u8;
            continue;
        }
        let inner = &mut out[1..width - 1];
        for (((o, &l), &c), &r) in inner.iter_mut().zip(&sums[..width - 2]).zip(&sums[1..]).zip(&sums[2..]) {
            *o = ((l + 2 * c + r + 8) >> 4) as u8;
        }
        out[0] = ((3 * sums[0] + sums[1] + 8) >> 4) as u8;
        out[width - 1] = ((3 * sums[width - 1] + sums[width - 2] + 8) >> 4) as u8;
    }
}

/// Saturating, as image code wants: the loop becomes `u8x16.add_sat_u` or
/// `u8x16.sub_sat_u` when vectorised.
pub fn brighten(buf: &mut [u8], delta: i32) {
    let by = delta.unsigned_abs().min(255) as u8;
    if delta >= 0 {
        buf.iter_mut().for_each(|b| *b = b.saturating_add(by));
    } else {
        buf.iter_mut().for_each(|b| *b = b.saturating_sub(by));
    }
}
