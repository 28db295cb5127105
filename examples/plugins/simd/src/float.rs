//! Per-element f32 work: a scale-and-clamp left to LLVM, and vector lengths
//! written with intrinsics. Every output element depends on its own inputs
//! only, through the same IEEE operations in the same order, so the vector
//! and scalar builds round identically.

#[cfg(target_feature = "simd128")]
use core::arch::wasm32::*;

/// The comparisons are written as `f32x4.pmin`/`pmax` define theirs, so
/// the vectorised loop and the scalar one agree on every input, signed
/// zeros included.
pub fn scale_clamp(buf: &mut [f32], scale: f32, lo: f32, hi: f32) {
    for x in buf {
        let y = *x * scale;
        let y = if hi < y { hi } else { y };
        *x = if y < lo { lo } else { y };
    }
}

#[cfg(target_feature = "simd128")]
pub fn magnitude(out: &mut [f32], xy: &[f32]) {
    assert_eq!(xy.len(), 2 * out.len());
    let mut i = 0;
    while i + 4 <= out.len() {
        // SAFETY: xy holds 2 * out.len() >= 2 * i + 8 floats; no alignment
        // is needed.
        unsafe {
            let a = v128_load(xy.as_ptr().add(2 * i) as *const v128);
            let b = v128_load(xy.as_ptr().add(2 * i + 4) as *const v128);
            // De-interleave (x0 y0 x1 y1)(x2 y2 x3 y3) into xs and ys.
            let xs = i32x4_shuffle::<0, 2, 4, 6>(a, b);
            let ys = i32x4_shuffle::<1, 3, 5, 7>(a, b);
            let len = f32x4_sqrt(f32x4_add(f32x4_mul(xs, xs), f32x4_mul(ys, ys)));
            v128_store(out.as_mut_ptr().add(i) as *mut v128, len);
        }
        i += 4;
    }
    magnitude_scalar(&mut out[i..], &xy[2 * i..]);
}

#[cfg(not(target_feature = "simd128"))]
pub fn magnitude(out: &mut [f32], xy: &[f32]) {
    assert_eq!(xy.len(), 2 * out.len());
    magnitude_scalar(out, xy);
}

fn magnitude_scalar(out: &mut [f32], xy: &[f32]) {
    for (o, p) in out.iter_mut().zip(xy.chunks_exact(2)) {
        *o = (p[0] * p[0] + p[1] * p[1]).sqrt();
    }
}
