//! Sample-buffer work as audio and signal plugins do it: dot products, a
//! fixed-point FIR filter, the range of a block. Sums wrap in i32, and
//! wrapping addition does not care about order, so the vector and scalar
//! versions agree exactly.

#[cfg(target_feature = "simd128")]
use core::arch::wasm32::*;

/// Eight lanes of `v` from element `i`.
///
/// # Safety
///
/// `i + 8 <= v.len()`.
#[cfg(target_feature = "simd128")]
#[inline(always)]
unsafe fn load8(v: &[i16], i: usize) -> v128 {
    debug_assert!(i + 8 <= v.len());
    // SAFETY: in bounds (the caller's promise); v128_load needs no alignment.
    unsafe { v128_load(v.as_ptr().add(i) as *const v128) }
}

#[cfg(target_feature = "simd128")]
#[inline(always)]
fn sum_i32x4(v: v128) -> i32 {
    i32x4_extract_lane::<0>(v)
        .wrapping_add(i32x4_extract_lane::<1>(v))
        .wrapping_add(i32x4_extract_lane::<2>(v))
        .wrapping_add(i32x4_extract_lane::<3>(v))
}

#[cfg(target_feature = "simd128")]
pub fn dot_i16(a: &[i16], b: &[i16]) -> i32 {
    assert_eq!(a.len(), b.len());
    let mut acc = i32x4_splat(0);
    let mut i = 0;
    while i + 8 <= a.len() {
        // SAFETY: the loop condition, and b is as long as a.
        acc = i32x4_add(acc, i32x4_dot_i16x8(unsafe { load8(a, i) }, unsafe { load8(b, i) }));
        i += 8;
    }
    dot_i16_scalar(&a[i..], &b[i..]).wrapping_add(sum_i32x4(acc))
}

#[cfg(not(target_feature = "simd128"))]
pub fn dot_i16(a: &[i16], b: &[i16]) -> i32 {
    assert_eq!(a.len(), b.len());
    dot_i16_scalar(a, b)
}

fn dot_i16_scalar(a: &[i16], b: &[i16]) -> i32 {
    a.iter().zip(b).fold(0i32, |s, (&x, &y)| s.wrapping_add(x as i32 * y as i32))
}

/// Left to LLVM: `i32x4.mul` and `i32x4.add` when vectorised.
pub fn dot_i32(a: &[i32], b: &[i32]) -> i32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).fold(0i32, |s, (&x, &y)| s.wrapping_add(x.wrapping_mul(y)))
}

/// Q15 rounding of an accumulated sum back to a saturated i16.
fn q15(acc: i32) -> i16 {
    (acc.wrapping_add(1 << 14) >> 15).clamp(i16::MIN as i32, i16::MAX as i32) as i16
}

#[cfg(target_feature = "simd128")]
pub fn fir_i16(out: &mut [i16], src: &[i16], taps: &[i16]) {
    let mut i = 0;
    while i + 8 <= out.len() {
        let (mut low, mut high) = (i32x4_splat(0), i32x4_splat(0));
        for (k, tap) in taps.iter().enumerate() {
            // SAFETY: out.len() == src.len() - taps.len() + 1, so
            // i + k + 8 <= src.len(); tap is a valid i16.
            let (x, c) = unsafe { (load8(src, i + k), v128_load16_splat(tap as *const i16 as *const u16)) };
            low = i32x4_add(low, i32x4_extmul_low_i16x8(x, c));
            high = i32x4_add(high, i32x4_extmul_high_i16x8(x, c));
        }
        let round = |v: v128| i32x4_shr(i32x4_add(v, i32x4_splat(1 << 14)), 15);
        // SAFETY: i + 8 <= out.len().
        unsafe { v128_store(out.as_mut_ptr().add(i) as *mut v128, i16x8_narrow_i32x4(round(low), round(high))) };
        i += 8;
    }
    fir_scalar(&mut out[i..], &src[i..], taps);
}

#[cfg(not(target_feature = "simd128"))]
pub fn fir_i16(out: &mut [i16], src: &[i16], taps: &[i16]) {
    fir_scalar(out, src, taps);
}

fn fir_scalar(out: &mut [i16], src: &[i16], taps: &[i16]) {
    for (o, window) in out.iter_mut().zip(src.windows(taps.len().max(1))) {
        *o = q15(window.iter().zip(taps).fold(0i32, |s, (&x, &c)| s.wrapping_add(x as i32 * c as i32)));
    }
}

#[cfg(target_feature = "simd128")]
pub fn minmax_i16(v: &[i16]) -> (i16, i16) {
    let (mut min, mut max) = (i16x8_splat(i16::MAX), i16x8_splat(i16::MIN));
    let mut i = 0;
    while i + 8 <= v.len() {
        // SAFETY: the loop condition.
        let x = unsafe { load8(v, i) };
        (min, max) = (i16x8_min(min, x), i16x8_max(max, x));
        i += 8;
    }
    // Fold the lanes in halves: 8 → 4 → 2 → 1.
    min = i16x8_min(min, i16x8_shuffle::<4, 5, 6, 7, 0, 1, 2, 3>(min, min));
    max = i16x8_max(max, i16x8_shuffle::<4, 5, 6, 7, 0, 1, 2, 3>(max, max));
    min = i16x8_min(min, i16x8_shuffle::<2, 3, 0, 1, 2, 3, 0, 1>(min, min));
    max = i16x8_max(max, i16x8_shuffle::<2, 3, 0, 1, 2, 3, 0, 1>(max, max));
    let (min, max) = (
        i16x8_extract_lane::<0>(min).min(i16x8_extract_lane::<1>(min)),
        i16x8_extract_lane::<0>(max).max(i16x8_extract_lane::<1>(max)),
    );
    v[i..].iter().fold((min, max), |(lo, hi), &x| (lo.min(x), hi.max(x)))
}

#[cfg(not(target_feature = "simd128"))]
pub fn minmax_i16(v: &[i16]) -> (i16, i16) {
    v.iter().fold((i16::MAX, i16::MIN), |(lo, hi), &x| (lo.min(x), hi.max(x)))
}
