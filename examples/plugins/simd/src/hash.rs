//! XXH32, whose four independent accumulators map onto one `i32x4`: the
//! shape of the lane-parallel hashes plugins use for content addressing.

#[cfg(target_feature = "simd128")]
use core::arch::wasm32::*;

const P1: u32 = 0x9e37_79b1;
const P2: u32 = 0x85eb_ca77;
const P3: u32 = 0xc2b2_ae3d;
const P4: u32 = 0x27d4_eb2f;
const P5: u32 = 0x1656_67b1;

/// The four accumulators after every whole 16-byte stripe of `data`.
#[cfg(target_feature = "simd128")]
fn stripes(data: &[u8], seed: u32) -> [u32; 4] {
    // Built from run-time values, so this is a splat and lane replacements.
    let mut acc = u32x4(seed.wrapping_add(P1).wrapping_add(P2), seed.wrapping_add(P2), seed, seed.wrapping_sub(P1));
    let (p1, p2) = (u32x4_splat(P1), u32x4_splat(P2));
    let mut i = 0;
    while i + 16 <= data.len() {
        // SAFETY: the loop condition; v128_load needs no alignment.
        let lanes = unsafe { v128_load(data.as_ptr().add(i) as *const v128) };
        let x = i32x4_add(acc, i32x4_mul(lanes, p2));
        acc = i32x4_mul(v128_or(i32x4_shl(x, 13), u32x4_shr(x, 19)), p1);
        i += 16;
    }
    [
        u32x4_extract_lane::<0>(acc),
        u32x4_extract_lane::<1>(acc),
        u32x4_extract_lane::<2>(acc),
        u32x4_extract_lane::<3>(acc),
    ]
}

#[cfg(not(target_feature = "simd128"))]
fn stripes(data: &[u8], seed: u32) -> [u32; 4] {
    let mut acc = [seed.wrapping_add(P1).wrapping_add(P2), seed.wrapping_add(P2), seed, seed.wrapping_sub(P1)];
    for block in data.chunks_exact(16) {
        for (a, word) in acc.iter_mut().zip(block.chunks_exact(4)) {
            let lane = u32::from_le_bytes(word.try_into().unwrap());
            *a = a.wrapping_add(lane.wrapping_mul(P2)).rotate_left(13).wrapping_mul(P1);
        }
    }
    acc
}

pub fn xxh32(data: &[u8], seed: u32) -> u32 {
    let mut h = if data.len() >= 16 {
        let [a, b, c, d] = stripes(data, seed);
        a.rotate_left(1).wrapping_add(b.rotate_left(7)).wrapping_add(c.rotate_left(12)).wrapping_add(d.rotate_left(18))
    } else {
        seed.wrapping_add(P5)
    };
    h = h.wrapping_add(data.len() as u32);
    let tail = &data[data.len() / 16 * 16..];
    let mut words = tail.chunks_exact(4);
    for word in words.by_ref() {
        let w = u32::from_le_bytes(word.try_into().unwrap());
        h = h.wrapping_add(w.wrapping_mul(P3)).rotate_left(17).wrapping_mul(P4);
    }
    for &b in words.remainder() {
        h = h.wrapping_add((b as u32).wrapping_mul(P5)).rotate_left(11).wrapping_mul(P1);
    }
    h ^= h >> 15;
    h = h.wrapping_mul(P2);
    h ^= h >> 13;
    h = h.wrapping_mul(P3);
    h ^ (h >> 16)
}
