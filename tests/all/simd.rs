//! A Rust plugin built with `-C target-feature=+simd128` against the same
//! source built without it (`examples/plugins/simd`, rebuilt by
//! `examples/plugins/build.sh`): every export gets the same inputs in both
//! builds — lengths around the 16-byte vector width, buffers off a 16-byte
//! boundary — and must give the same answer and write the same bytes.
//! Where the answer is a one-liner in Rust, it is checked against that too.

use kiln::{Artifact, ExternType, Instance, Memory, Module, Store, WasmParams, WasmResults};
use std::fmt::Debug;

static SIMD128: Artifact = kiln::include_wasm!("../examples/plugins/wasm/simd-simd128.wasm");
static SCALAR: Artifact = kiln::include_wasm!("../examples/plugins/wasm/simd-scalar.wasm");

const SIMD128_WASM: &[u8] = include_bytes!("../../examples/plugins/wasm/simd-simd128.wasm");
const SCALAR_WASM: &[u8] = include_bytes!("../../examples/plugins/wasm/simd-scalar.wasm");

/// Lengths (in elements) below, at and above the multiples of a vector's
/// lane count, plus one long enough for the byte counter to widen its lanes
/// (every 255 blocks of 16).
const LENGTHS: [usize; 15] = [0, 1, 2, 3, 7, 8, 15, 16, 17, 31, 32, 33, 100, 1000, 4100];

/// One instance of a build of the plugin.
struct Plugin {
    store: Store<()>,
    instance: Instance,
    memory: Memory,
}

impl Plugin {
    fn new(artifact: &'static Artifact) -> Plugin {
        let module = Module::new(artifact).unwrap();
        let mut store = Store::new(());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let memory = instance.get_memory(&mut store, "memory").unwrap();
        Plugin { store, instance, memory }
    }

    fn call<P: WasmParams, R: WasmResults>(&mut self, name: &str, params: P) -> R {
        let f = self.instance.get_typed_func::<P, R>(&mut self.store, name).unwrap();
        f.call(&mut self.store, params).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    /// Room for `len` bytes, `misalign` bytes past a 16-byte boundary.
    fn room(&mut self, len: usize, misalign: u32) -> u32 {
        let base: u32 = self.call("alloc", len as u32 + misalign);
        assert_eq!(base % 16, 0);
        base + misalign
    }

    /// `bytes` copied into fresh guest memory, `misalign` bytes past a
    /// 16-byte boundary.
    fn put(&mut self, bytes: &[u8], misalign: u32) -> u32 {
        let ptr = self.room(bytes.len(), misalign);
        self.memory.write(&mut self.store, ptr as usize, bytes).unwrap();
        ptr
    }

    fn get(&mut self, ptr: u32, len: usize) -> Vec<u8> {
        let mut out = vec![0; len];
        self.memory.read(&mut self.store, ptr as usize, &mut out).unwrap();
        out
    }
}

/// Both builds, side by side.
struct Builds {
    simd128: Plugin,
    scalar: Plugin,
}

impl Builds {
    fn new() -> Builds {
        Builds { simd128: Plugin::new(&SIMD128), scalar: Plugin::new(&SCALAR) }
    }

    /// `case` run on both builds; their results must be equal.
    fn same<T: PartialEq + Debug>(&mut self, what: impl Fn() -> String, case: impl Fn(&mut Plugin) -> T) -> T {
        let simd128 = case(&mut self.simd128);
        let scalar = case(&mut self.scalar);
        assert!(simd128 == scalar, "{}: simd128 build gave {simd128:?}, scalar build {scalar:?}", what());
        scalar
    }
}

/// Deterministic bytes (xorshift), different for each `seed`.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 32) as u8
        })
        .collect()
}

fn le_bytes<const N: usize, T: Copy>(values: &[T], to_bytes: fn(T) -> [u8; N]) -> Vec<u8> {
    values.iter().flat_map(|&v| to_bytes(v)).collect()
}

fn i16s(len: usize, seed: u64) -> Vec<i16> {
    noise(2 * len, seed).chunks_exact(2).map(|c| i16::from_le_bytes([c[0], c[1]])).collect()
}

/// The function bodies of `wasm` that declare a v128 local. LLVM keeps
/// vector values in locals, so code using SIMD has such bodies.
fn bodies_with_v128_locals(wasm: &[u8]) -> usize {
    fn leb(bytes: &[u8], pos: &mut usize) -> u64 {
        let (mut value, mut shift) = (0, 0);
        loop {
            let b = bytes[*pos];
            *pos += 1;
            value |= ((b & 0x7f) as u64) << shift;
            if b & 0x80 == 0 {
                return value;
            }
            shift += 7;
        }
    }
    assert_eq!(&wasm[..8], b"\0asm\x01\0\0\0");
    let mut pos = 8;
    while pos < wasm.len() {
        let id = wasm[pos];
        pos += 1;
        let size = leb(wasm, &mut pos) as usize;
        if id != 10 {
            pos += size;
            continue;
        }
        let mut with_v128 = 0;
        for _ in 0..leb(wasm, &mut pos) {
            let body_size = leb(wasm, &mut pos) as usize;
            let body_end = pos + body_size;
            let mut found = false;
            for _ in 0..leb(wasm, &mut pos) {
                leb(wasm, &mut pos);
                let ty = wasm[pos];
                pos += 1;
                // (ref ht) and (ref null ht) carry a heap type.
                if ty == 0x63 || ty == 0x64 {
                    leb(wasm, &mut pos);
                }
                found |= ty == 0x7b;
            }
            with_v128 += found as usize;
            pos = body_end;
        }
        return with_v128;
    }
    0
}

#[test]
fn the_simd128_build_has_vector_code_and_the_scalar_build_none() {
    let vector_bodies = bodies_with_v128_locals(SIMD128_WASM);
    assert!(vector_bodies >= 10, "only {vector_bodies} bodies with v128 locals");
    assert_eq!(bodies_with_v128_locals(SCALAR_WASM), 0);

    // Same interface, so the other tests compare like with like.
    let functions = |a: &'static Artifact| {
        let module = Module::new(a).unwrap();
        let mut v: Vec<(String, ExternType)> = module
            .exports()
            .filter(|e| matches!(e.ty, ExternType::Func(_)))
            .map(|e| (e.name.to_string(), e.ty.clone()))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    };
    let exports = functions(&SIMD128);
    assert_eq!(exports, functions(&SCALAR));
    assert_eq!(exports.len(), 15, "{exports:?}");
}

#[test]
fn byte_search_and_counting() {
    let mut builds = Builds::new();
    for len in LENGTHS {
        for misalign in [0, 1, 7, 13] {
            // 200 never occurs, so one needle is missing.
            let data: Vec<u8> = noise(len, len as u64).iter().map(|b| b % 200).collect();
            let needles = [200, data.first().copied().unwrap_or(0), data.get(len / 2).copied().unwrap_or(1)];
            for needle in needles.into_iter().chain(data.last().copied()) {
                let (found, count) = builds.same(
                    || format!("find_byte/count_byte of {needle} in {len} bytes, misaligned by {misalign}"),
                    |p| {
                        let ptr = p.put(&data, misalign);
                        let found: i32 = p.call("find_byte", (ptr, len as u32, needle as u32));
                        let count: u32 = p.call("count_byte", (ptr, len as u32, needle as u32));
                        (found, count)
                    },
                );
                assert_eq!(found, data.iter().position(|&b| b == needle).map_or(-1, |i| i as i32));
                assert_eq!(count as usize, data.iter().filter(|&&b| b == needle).count());
            }
        }
    }
}

#[test]
fn ascii_prefix_and_hex() {
    let mut builds = Builds::new();
    for len in LENGTHS {
        for misalign in [0, 3, 9] {
            let ascii: Vec<u8> = noise(len, 7 + len as u64).iter().map(|b| b & 0x7f).collect();
            // All ASCII, then one high byte at the start, the middle and the end.
            let mut inputs = vec![ascii.clone()];
            for at in [0, len / 2, len.saturating_sub(1)].into_iter().filter(|_| len > 0) {
                let mut v = ascii.clone();
                v[at] |= 0x80;
                inputs.push(v);
            }
            for input in &inputs {
                let prefix = builds.same(
                    || format!("ascii_prefix of {len} bytes, misaligned by {misalign}"),
                    |p| {
                        let ptr = p.put(input, misalign);
                        p.call::<_, u32>("ascii_prefix", (ptr, len as u32))
                    },
                );
                assert_eq!(prefix as usize, input.iter().take_while(|b| b.is_ascii()).count());
            }

            let input = noise(len, 11 + len as u64);
            let (_, hex) = builds.same(
                || format!("hex_encode of {len} bytes, misaligned by {misalign}"),
                |p| {
                    let src = p.put(&input, misalign);
                    let dst = p.room(2 * len, misalign ^ 1);
                    let sum: i64 = p.call("hex_encode", (dst, src, len as u32));
                    (sum, p.get(dst, 2 * len))
                },
            );
            let expected: String = input.iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(String::from_utf8(hex).unwrap(), expected);
        }
    }
}

#[test]
fn pixels() {
    let mut builds = Builds::new();
    for pixels in LENGTHS {
        for misalign in [0, 1, 4, 6] {
            let (dst, src) = (noise(4 * pixels, 1 + pixels as u64), noise(4 * pixels, 2 + pixels as u64));
            let out = builds.same(
                || format!("blend_rgba of {pixels} pixels, misaligned by {misalign}"),
                |p| {
                    let d = p.put(&dst, misalign);
                    let s = p.put(&src, 3 * misalign);
                    let sum: i64 = p.call("blend_rgba", (d, s, pixels as u32));
                    (sum, p.get(d, 4 * pixels))
                },
            );
            // Opaque source pixels replace the destination, transparent ones
            // leave it.
            for (i, px) in src.chunks_exact(4).enumerate() {
                match px[3] {
                    255 => assert_eq!(out.1[4 * i..4 * i + 4], *px),
                    0 => assert_eq!(out.1[4 * i..4 * i + 4], dst[4 * i..4 * i + 4]),
                    _ => {}
                }
            }

            for delta in [-300i32, -40, 0, 17, 255] {
                let input = noise(pixels, 3 + pixels as u64);
                let (_, out) = builds.same(
                    || format!("brighten {pixels} bytes by {delta}, misaligned by {misalign}"),
                    |p| {
                        let ptr = p.put(&input, misalign);
                        let sum: i64 = p.call("brighten", (ptr, pixels as u32, delta));
                        (sum, p.get(ptr, pixels))
                    },
                );
                let by = delta.unsigned_abs().min(255) as u8;
                let expected: Vec<u8> = input
                    .iter()
                    .map(|&b| if delta >= 0 { b.saturating_add(by) } else { b.saturating_sub(by) })
                    .collect();
                assert_eq!(out, expected);
            }
        }
    }
    for (width, height) in [(0, 0), (1, 1), (1, 5), (5, 1), (2, 2), (15, 3), (16, 16), (17, 9), (33, 31), (100, 40)] {
        for misalign in [0, 5] {
            let image = noise(width * height, (width * 1000 + height) as u64);
            builds.same(
                || format!("blur3x3 of {width}×{height}, misaligned by {misalign}"),
                |p| {
                    let src = p.put(&image, misalign);
                    let dst = p.room(width * height, misalign + 2);
                    let sum: i64 = p.call("blur3x3", (dst, src, width as u32, height as u32));
                    (sum, p.get(dst, width * height))
                },
            );
            // A flat image stays flat.
            let flat = vec![77; width * height];
            let flat_blurred = builds.same(
                || format!("blur3x3 of a flat {width}×{height}"),
                |p| {
                    let src = p.put(&flat, misalign);
                    let dst = p.room(width * height, 0);
                    p.call::<_, i64>("blur3x3", (dst, src, width as u32, height as u32));
                    p.get(dst, width * height)
                },
            );
            assert_eq!(flat_blurred, flat);
        }
    }
}

#[test]
fn samples() {
    let mut builds = Builds::new();
    for n in LENGTHS {
        for misalign in [0, 2, 6, 14] {
            let (a, b) = (i16s(n, 5 + n as u64), i16s(n, 6 + n as u64));
            // The extremes too: -32768² twice overflows an i32 pair sum.
            let extremes = vec![i16::MIN; n];
            for (a, b) in [(&a, &b), (&extremes, &extremes)] {
                let dot = builds.same(
                    || format!("dot_i16 of {n} samples, misaligned by {misalign}"),
                    |p| {
                        let x = p.put(&le_bytes(a, i16::to_le_bytes), misalign);
                        let y = p.put(&le_bytes(b, i16::to_le_bytes), misalign + 2);
                        p.call::<_, i32>("dot_i16", (x, y, n as u32))
                    },
                );
                let expected = a.iter().zip(b.iter()).fold(0i32, |s, (&x, &y)| s.wrapping_add(x as i32 * y as i32));
                assert_eq!(dot, expected);
            }

            let minmax = builds.same(
                || format!("minmax_i16 of {n} samples, misaligned by {misalign}"),
                |p| {
                    let x = p.put(&le_bytes(&a, i16::to_le_bytes), misalign);
                    p.call::<_, i32>("minmax_i16", (x, n as u32))
                },
            );
            let (min, max) = (a.iter().copied().min().unwrap_or(i16::MAX), a.iter().copied().max().unwrap_or(i16::MIN));
            assert_eq!(minmax, (max as i32) << 16 | min as u16 as i32);

            for taps in [1, 3, 8, 13] {
                let coeffs = i16s(taps, 100 + taps as u64);
                let outputs = (n + 1).saturating_sub(taps);
                builds.same(
                    || format!("fir_i16 of {n} samples with {taps} taps, misaligned by {misalign}"),
                    |p| {
                        let src = p.put(&le_bytes(&a, i16::to_le_bytes), misalign);
                        let c = p.put(&le_bytes(&coeffs, i16::to_le_bytes), misalign);
                        let dst = p.room(2 * outputs, 14 - misalign);
                        let sum: i64 = p.call("fir_i16", (dst, src, n as u32, c, taps as u32));
                        (sum, p.get(dst, 2 * outputs))
                    },
                );
            }
        }
        for misalign in [0, 4, 12] {
            let words = |seed| -> Vec<i32> {
                noise(4 * n, seed).chunks_exact(4).map(|c| i32::from_le_bytes(c.try_into().unwrap())).collect()
            };
            let (a, b) = (words(8 + n as u64), words(9 + n as u64));
            let dot = builds.same(
                || format!("dot_i32 of {n} words, misaligned by {misalign}"),
                |p| {
                    let x = p.put(&le_bytes(&a, i32::to_le_bytes), misalign);
                    let y = p.put(&le_bytes(&b, i32::to_le_bytes), misalign);
                    p.call::<_, i32>("dot_i32", (x, y, n as u32))
                },
            );
            assert_eq!(dot, a.iter().zip(&b).fold(0i32, |s, (&x, &y)| s.wrapping_add(x.wrapping_mul(y))));
        }
    }
}

#[test]
fn hashing() {
    let mut builds = Builds::new();
    // Published XXH32 values: the short path, and whole stripes with and
    // without a tail.
    for (input, expected) in [
        (&b""[..], 0x02cc_5d05u32),
        (b"a", 0x550d_7456),
        (b"abc", 0x32d1_53ff),
        (b"abcdefghijklmnop", 0x9d2d_8b62),
        (b"Nobody inspects the spammish repetition", 0xe229_3b2f),
    ] {
        let hash = builds.same(
            || format!("xxh32 of {:?}", String::from_utf8_lossy(input)),
            |p| {
                let ptr = p.put(input, 0);
                p.call::<_, u32>("xxh32", (ptr, input.len() as u32, 0))
            },
        );
        assert_eq!(hash, expected, "xxh32 of {:?}", String::from_utf8_lossy(input));
    }
    for len in LENGTHS.into_iter().chain([47, 48, 49, 63, 64, 65]) {
        for misalign in [0, 1, 2, 3, 8] {
            for seed in [0u32, 1, 0x9e37_79b1] {
                let input = noise(len, 20 + len as u64);
                builds.same(
                    || format!("xxh32 of {len} bytes, seed {seed:#x}, misaligned by {misalign}"),
                    |p| {
                        let ptr = p.put(&input, misalign);
                        p.call::<_, u32>("xxh32", (ptr, len as u32, seed))
                    },
                );
            }
        }
    }
}

/// Finite values of every magnitude (subnormal to near `f32::MAX`), signed
/// zeros and infinities; no NaN, whose payload wasm leaves open.
fn floats(n: usize, seed: u64) -> Vec<f32> {
    const SPECIAL: [f32; 8] = [0.0, -0.0, 1e-40, -1e-40, 3e38, -3e38, f32::INFINITY, f32::NEG_INFINITY];
    noise(4 * n, seed)
        .chunks_exact(4)
        .enumerate()
        .map(|(i, c)| {
            let bits = u32::from_le_bytes(c.try_into().unwrap());
            if i % 5 == 4 {
                SPECIAL[bits as usize % SPECIAL.len()]
            } else {
                // Any exponent but the all-ones one (infinity and NaN).
                let exponent = (bits >> 23 & 0xff) % 0xff;
                f32::from_bits(bits & 0x807f_ffff | exponent << 23)
            }
        })
        .collect()
}

#[test]
fn floats_per_element() {
    let mut builds = Builds::new();
    for n in LENGTHS {
        for misalign in [0, 4, 8, 12] {
            let input = floats(n, 30 + n as u64);
            for (scale, lo, hi) in
                [(1.0f32, -1e30f32, 1e30f32), (-2.5, -100.0, 100.0), (1e-3, -0.0, 0.0), (3.0, 0.5, 0.25)]
            {
                let (_, out) = builds.same(
                    || format!("scale_clamp_f32 of {n} floats by {scale} to [{lo}, {hi}], misaligned by {misalign}"),
                    |p| {
                        let ptr = p.put(&le_bytes(&input, f32::to_le_bytes), misalign);
                        let sum: i64 = p.call("scale_clamp_f32", (ptr, n as u32, scale, lo, hi));
                        (sum, p.get(ptr, 4 * n))
                    },
                );
                let expected = input.iter().map(|&x| {
                    let y = x * scale;
                    let y = if hi < y { hi } else { y };
                    if y < lo {
                        lo
                    } else {
                        y
                    }
                });
                assert_eq!(out, le_bytes(&expected.collect::<Vec<_>>(), f32::to_le_bytes));
            }

            let pairs = floats(2 * n, 31 + n as u64);
            let (_, out) = builds.same(
                || format!("magnitude_f32 of {n} vectors, misaligned by {misalign}"),
                |p| {
                    let src = p.put(&le_bytes(&pairs, f32::to_le_bytes), misalign);
                    let dst = p.room(4 * n, 12 - misalign);
                    let sum: i64 = p.call("magnitude_f32", (dst, src, n as u32));
                    (sum, p.get(dst, 4 * n))
                },
            );
            let expected: Vec<f32> = pairs.chunks_exact(2).map(|v| (v[0] * v[0] + v[1] * v[1]).sqrt()).collect();
            assert_eq!(out, le_bytes(&expected, f32::to_le_bytes));
        }
    }
}
