//! Byte-string work: search, counting, ASCII scanning, hex encoding. Each
//! function has a simd128 version with intrinsics and a scalar twin.

#[cfg(target_feature = "simd128")]
use core::arch::wasm32::*;

/// 16 bytes of `bytes` from `i`.
///
/// # Safety
///
/// `i + 16 <= bytes.len()`.
#[cfg(target_feature = "simd128")]
#[inline(always)]
unsafe fn load16(bytes: &[u8], i: usize) -> v128 {
    debug_assert!(i + 16 <= bytes.len());
    // SAFETY: in bounds (the caller's promise); v128_load needs no alignment.
    unsafe { v128_load(bytes.as_ptr().add(i) as *const v128) }
}

#[cfg(target_feature = "simd128")]
pub fn find(hay: &[u8], needle: u8) -> Option<usize> {
    let needles = u8x16_splat(needle);
    let mut i = 0;
    while i + 16 <= hay.len() {
        // SAFETY: the loop condition.
        let hits = i8x16_eq(unsafe { load16(hay, i) }, needles);
        if v128_any_true(hits) {
            return Some(i + i8x16_bitmask(hits).trailing_zeros() as usize);
        }
        i += 16;
    }
    hay[i..].iter().position(|&b| b == needle).map(|p| i + p)
}

#[cfg(not(target_feature = "simd128"))]
pub fn find(hay: &[u8], needle: u8) -> Option<usize> {
    hay.iter().position(|&b| b == needle)
}

#[cfg(target_feature = "simd128")]
pub fn count(hay: &[u8], needle: u8) -> usize {
    let needles = u8x16_splat(needle);
    let mut blocks = hay.chunks_exact(16);
    let mut total = 0;
    loop {
        // Per-lane counts live in bytes (a match is -1, so subtracting it
        // adds one) and are widened before a byte can overflow.
        let mut lanes = u8x16_splat(0);
        let mut taken = 0;
        for block in blocks.by_ref().take(255) {
            // SAFETY: a block is 16 bytes.
            lanes = i8x16_sub(lanes, i8x16_eq(unsafe { load16(block, 0) }, needles));
            taken += 1;
        }
        let wide = u32x4_extadd_pairwise_u16x8(u16x8_extadd_pairwise_u8x16(lanes));
        total += (u32x4_extract_lane::<0>(wide)
            + u32x4_extract_lane::<1>(wide)
            + u32x4_extract_lane::<2>(wide)
            + u32x4_extract_lane::<3>(wide)) as usize;
        if taken < 255 {
            break;
        }
    }
    total + blocks.remainder().iter().filter(|&&b| b == needle).count()
}

#[cfg(not(target_feature = "simd128"))]
pub fn count(hay: &[u8], needle: u8) -> usize {
    hay.iter().filter(|&&b| b == needle).count()
}

#[cfg(target_feature = "simd128")]
pub fn ascii_prefix(bytes: &[u8]) -> usize {
    let limit = u8x16_splat(0x80);
    let mut i = 0;
    while i + 16 <= bytes.len() {
        // SAFETY: the loop condition.
        let block = unsafe { load16(bytes, i) };
        if !i8x16_all_true(u8x16_lt(block, limit)) {
            // The bitmask gathers each byte's top bit: set exactly for the
            // non-ASCII ones.
            return i + i8x16_bitmask(block).trailing_zeros() as usize;
        }
        i += 16;
    }
    i + bytes[i..].iter().take_while(|b| b.is_ascii()).count()
}

#[cfg(not(target_feature = "simd128"))]
pub fn ascii_prefix(bytes: &[u8]) -> usize {
    bytes.iter().take_while(|b| b.is_ascii()).count()
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// The 16 digits of `nibbles`' values (each below 16), looked up in `HEX`.
#[cfg(target_feature = "simd128")]
#[inline(always)]
fn hex_digits(nibbles: v128) -> v128 {
    // SAFETY: HEX is 16 bytes.
    let table = unsafe { v128_load(HEX.as_ptr() as *const v128) };
    i8x16_swizzle(table, nibbles)
}

#[cfg(target_feature = "simd128")]
pub fn hex_encode(out: &mut [u8], src: &[u8]) {
    assert_eq!(out.len(), 2 * src.len());
    let low_nibble = u8x16_splat(0x0f);
    let mut i = 0;
    while i + 16 <= src.len() {
        // SAFETY: the loop condition.
        let v = unsafe { load16(src, i) };
        let (hi, lo) = (u8x16_shr(v, 4), v128_and(v, low_nibble));
        // Digits go out high nibble first: interleave the two halves.
        let first = i8x16_shuffle::<0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23>(hi, lo);
        let second = i8x16_shuffle::<8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31>(hi, lo);
        // SAFETY: out has 2 * src.len() >= 2 * i + 32 bytes.
        unsafe {
            v128_store(out.as_mut_ptr().add(2 * i) as *mut v128, hex_digits(first));
            v128_store(out.as_mut_ptr().add(2 * i + 16) as *mut v128, hex_digits(second));
        }
        i += 16;
    }
    if i + 8 <= src.len() {
        // Half a block: eight bytes in, one vector of digits out.
        // SAFETY: i + 8 <= src.len() and out has 2 * i + 16 bytes.
        unsafe {
            let v = v128_load64_zero(src.as_ptr().add(i) as *const u64);
            let pairs = i8x16_shuffle::<0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23>(
                u8x16_shr(v, 4),
                v128_and(v, low_nibble),
            );
            v128_store(out.as_mut_ptr().add(2 * i) as *mut v128, hex_digits(pairs));
        }
        i += 8;
    }
    hex_scalar(&mut out[2 * i..], &src[i..]);
}

#[cfg(not(target_feature = "simd128"))]
pub fn hex_encode(out: &mut [u8], src: &[u8]) {
    assert_eq!(out.len(), 2 * src.len());
    hex_scalar(out, src);
}

fn hex_scalar(out: &mut [u8], src: &[u8]) {
    for (pair, &b) in out.chunks_exact_mut(2).zip(src) {
        pair[0] = HEX[(b >> 4) as usize];
        pair[1] = HEX[(b & 15) as usize];
    }
}
