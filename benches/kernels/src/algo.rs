//! The kernels themselves: plain functions over slices, `no_std`, shared by
//! the wasm build (`lib.rs`) and the benchmark runner, which runs them
//! natively to know the answer each wasm run must return.

/// Naive recursive Fibonacci.
pub fn fib(n: u32) -> u32 {
    if n < 2 {
        n
    } else {
        fib(n - 1).wrapping_add(fib(n - 2))
    }
}

/// Sieve of Eratosthenes over `flags` (one byte per number): how many
/// primes are below `flags.len()`.
pub fn sieve(flags: &mut [u8]) -> u32 {
    let n = flags.len();
    for f in flags.iter_mut() {
        *f = 1;
    }
    let mut count = 0;
    let mut i = 2;
    while i < n {
        if flags[i] != 0 {
            count += 1;
            // i * i would overflow a 32-bit usize for large i: skip those
            // (their multiples below n are already crossed out).
            let mut j = if i <= (n - 1) / i { i * i } else { n };
            while j < n {
                flags[j] = 0;
                j += i;
            }
        }
        i += 1;
    }
    count
}

/// `c = a * b` for `n`×`n` f64 matrices filled from a formula; returns the
/// sum of `c`'s elements.
pub fn matmul(n: usize, a: &mut [f64], b: &mut [f64], c: &mut [f64]) -> f64 {
    for i in 0..n {
        for j in 0..n {
            a[i * n + j] = ((i * 7 + j * 3) % 17) as f64 * 0.25 - 1.5;
            b[i * n + j] = ((i * 5 + j * 11) % 13) as f64 * 0.5 - 2.0;
        }
    }
    for i in 0..n {
        for j in 0..n {
            c[i * n + j] = 0.0;
        }
        for k in 0..n {
            let aik = a[i * n + k];
            for j in 0..n {
                c[i * n + j] += aik * b[k * n + j];
            }
        }
    }
    let mut sum = 0.0;
    for x in c[..n * n].iter() {
        sum += *x;
    }
    sum
}

const K256: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

fn sha256_block(state: &mut [u32; 8], block: &[u8]) {
    let mut w = [0u32; 64];
    for t in 0..16 {
        w[t] = u32::from_be_bytes([block[4 * t], block[4 * t + 1], block[4 * t + 2], block[4 * t + 3]]);
    }
    for t in 16..64 {
        let s0 = w[t - 15].rotate_right(7) ^ w[t - 15].rotate_right(18) ^ (w[t - 15] >> 3);
        let s1 = w[t - 2].rotate_right(17) ^ w[t - 2].rotate_right(19) ^ (w[t - 2] >> 10);
        w[t] = w[t - 16].wrapping_add(s0).wrapping_add(w[t - 7]).wrapping_add(s1);
    }
    let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = *state;
    for t in 0..64 {
        let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
        let ch = (e & f) ^ (!e & g);
        let t1 = h.wrapping_add(s1).wrapping_add(ch).wrapping_add(K256[t]).wrapping_add(w[t]);
        let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
        let maj = (a & b) ^ (a & c) ^ (b & c);
        let t2 = s0.wrapping_add(maj);
        h = g;
        g = f;
        f = e;
        e = d.wrapping_add(t1);
        d = c;
        c = b;
        b = a;
        a = t1.wrapping_add(t2);
    }
    for (s, v) in state.iter_mut().zip([a, b, c, d, e, f, g, h]) {
        *s = s.wrapping_add(v);
    }
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let mut state: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
    ];
    let mut chunks = data.chunks_exact(64);
    for block in &mut chunks {
        sha256_block(&mut state, block);
    }
    let rest = chunks.remainder();
    let mut last = [0u8; 128];
    last[..rest.len()].copy_from_slice(rest);
    last[rest.len()] = 0x80;
    let blocks = if rest.len() < 56 { 1 } else { 2 };
    let bits = (data.len() as u64) * 8;
    last[blocks * 64 - 8..blocks * 64].copy_from_slice(&bits.to_be_bytes());
    for b in 0..blocks {
        sha256_block(&mut state, &last[b * 64..b * 64 + 64]);
    }
    let mut out = [0u8; 32];
    for (i, s) in state.iter().enumerate() {
        out[4 * i..4 * i + 4].copy_from_slice(&s.to_be_bytes());
    }
    out
}

/// Fill `buf` with bytes from a 32-bit LCG seeded with `seed`.
pub fn fill_bytes(buf: &mut [u8], seed: u32) {
    let mut x = seed;
    for b in buf.iter_mut() {
        x = x.wrapping_mul(1664525).wrapping_add(1013904223);
        *b = (x >> 24) as u8;
    }
}

/// Hash `data` (filled from `seed`) `rounds` times, each round hashing the
/// previous digest into the data's head; returns the first word of the last
/// digest.
pub fn sha256_rounds(data: &mut [u8], seed: u32, rounds: u32) -> u32 {
    fill_bytes(data, seed);
    let mut digest = [0u8; 32];
    for _ in 0..rounds {
        digest = sha256(data);
        data[..32].copy_from_slice(&digest);
    }
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

fn quicksort(a: &mut [u32]) {
    let mut a = a;
    while a.len() > 16 {
        let mid = a.len() / 2;
        let last = a.len() - 1;
        // Median of three as the pivot, moved to the end.
        if a[mid] < a[0] {
            a.swap(mid, 0);
        }
        if a[last] < a[0] {
            a.swap(last, 0);
        }
        if a[mid] < a[last] {
            a.swap(mid, last);
        }
        let pivot = a[last];
        let mut store = 0;
        for i in 0..last {
            if a[i] < pivot {
                a.swap(i, store);
                store += 1;
            }
        }
        a.swap(store, last);
        let (lo, hi) = a.split_at_mut(store);
        let hi = &mut hi[1..];
        // Recurse into the smaller half, loop on the larger.
        if lo.len() < hi.len() {
            quicksort(lo);
            a = hi;
        } else {
            quicksort(hi);
            a = lo;
        }
    }
    for i in 1..a.len() {
        let v = a[i];
        let mut j = i;
        while j > 0 && a[j - 1] > v {
            a[j] = a[j - 1];
            j -= 1;
        }
        a[j] = v;
    }
}

/// Fill `a` from an LCG, quicksort it, and return a checksum of the result
/// (0 if it is not sorted).
pub fn sort(a: &mut [u32], seed: u32) -> u32 {
    let mut x = seed;
    for v in a.iter_mut() {
        x = x.wrapping_mul(1103515245).wrapping_add(12345);
        *v = x;
    }
    quicksort(a);
    let mut sum = 0u32;
    for i in 0..a.len() {
        if i > 0 && a[i - 1] > a[i] {
            return 0;
        }
        sum = sum.wrapping_mul(31).wrapping_add(a[i]);
    }
    sum
}

/// Mandelbrot set in f32 on a `size`×`size` grid, at most 255 iterations a
/// point: the total number of iterations.
pub fn mandelbrot(size: u32) -> u32 {
    let mut total = 0u32;
    let scale = 3.0f32 / size as f32;
    for py in 0..size {
        let ci = py as f32 * scale - 1.5;
        for px in 0..size {
            let cr = px as f32 * scale - 2.0;
            let (mut zr, mut zi) = (0.0f32, 0.0f32);
            let mut i = 0;
            while i < 255 {
                let zr2 = zr * zr;
                let zi2 = zi * zi;
                if zr2 + zi2 > 4.0 {
                    break;
                }
                zi = 2.0 * zr * zi + ci;
                zr = zr2 - zi2 + cr;
                i += 1;
            }
            total += i;
        }
    }
    total
}

/// Text-like input for the compressor: words from a small vocabulary in an
/// LCG-chosen order, so that it has repeats to find.
pub fn fill_text(buf: &mut [u8], seed: u32) {
    const WORDS: [&[u8]; 16] = [
        b"the ", b"kiln ", b"fires ", b"clay ", b"into ", b"stone ", b"and ", b"wasm ",
        b"code ", b"runs ", b"fast ", b"in ", b"place ", b"with ", b"no ", b"copy.\n",
    ];
    let mut x = seed;
    let mut i = 0;
    while i < buf.len() {
        x = x.wrapping_mul(1664525).wrapping_add(1013904223);
        let w = WORDS[(x >> 28) as usize];
        for &c in w {
            if i == buf.len() {
                break;
            }
            buf[i] = c;
            i += 1;
        }
    }
}

/// A byte-oriented LZ77 compressor (hash-chained matches of at least 4
/// bytes, LZ4-like tokens), then its decompressor. Returns the compressed
/// length, or 0 if the round trip does not give the input back.
/// `out` needs `input.len() + input.len() / 255 + 16` bytes, `back` as many as
/// `input`, `table` 4096 entries.
pub fn compress_roundtrip(input: &[u8], out: &mut [u8], back: &mut [u8], table: &mut [u32]) -> u32 {
    for t in table.iter_mut() {
        *t = u32::MAX;
    }
    let n = input.len();
    let mut o = 0;
    let mut anchor = 0;
    let mut i = 0;
    let hash = |p: usize| -> usize {
        let v = u32::from_le_bytes([input[p], input[p + 1], input[p + 2], input[p + 3]]);
        (v.wrapping_mul(2654435761) >> 20) as usize
    };
    let emit_len = |out: &mut [u8], o: &mut usize, mut len: usize| {
        while len >= 255 {
            out[*o] = 255;
            *o += 1;
            len -= 255;
        }
        out[*o] = len as u8;
        *o += 1;
    };
    while i + 8 <= n {
        let h = hash(i);
        let cand = table[h];
        table[h] = i as u32;
        if cand != u32::MAX && i - (cand as usize) < 65536 && input[cand as usize..cand as usize + 4] == input[i..i + 4] {
            let c = cand as usize;
            let mut len = 4;
            while i + len < n && input[c + len] == input[i + len] {
                len += 1;
            }
            // token: literal count, literals, match length, offset
            emit_len(out, &mut o, i - anchor);
            out[o..o + (i - anchor)].copy_from_slice(&input[anchor..i]);
            o += i - anchor;
            emit_len(out, &mut o, len - 4);
            let off = (i - c) as u16;
            out[o..o + 2].copy_from_slice(&off.to_le_bytes());
            o += 2;
            i += len;
            anchor = i;
        } else {
            i += 1;
        }
    }
    // Trailing literals, with a zero match length and offset as the end mark.
    emit_len(out, &mut o, n - anchor);
    out[o..o + (n - anchor)].copy_from_slice(&input[anchor..n]);
    o += n - anchor;
    let compressed = o;

    let read_len = |src: &[u8], p: &mut usize| -> usize {
        let mut len = 0;
        loop {
            let b = src[*p];
            *p += 1;
            len += b as usize;
            if b != 255 {
                return len;
            }
        }
    };
    let mut p = 0;
    let mut d = 0;
    while p < compressed {
        let lit = read_len(out, &mut p);
        back[d..d + lit].copy_from_slice(&out[p..p + lit]);
        p += lit;
        d += lit;
        if p >= compressed {
            break;
        }
        let len = read_len(out, &mut p) + 4;
        let off = u16::from_le_bytes([out[p], out[p + 1]]) as usize;
        p += 2;
        // Byte by byte: a match may overlap what it copies.
        for k in 0..len {
            back[d + k] = back[d + k - off];
        }
        d += len;
    }
    if d == n && back[..n] == input[..] {
        compressed as u32
    } else {
        0
    }
}

/// Bulk memory traffic: `rounds` times, fill a block, copy it across the
/// buffer in chunks, copy overlapping, and fold a sample of the bytes.
pub fn memops(buf: &mut [u8], rounds: u32) -> u32 {
    let half = buf.len() / 2;
    let mut sum = 0u32;
    for r in 0..rounds {
        let (a, b) = buf.split_at_mut(half);
        let v = (r as u8).wrapping_mul(37).wrapping_add(1);
        a.fill(v);
        a[r as usize % 4096..][..4096].fill(v ^ 0x5a);
        let mut off = 0;
        while off + 65536 <= half {
            b[off..off + 65536].copy_from_slice(&a[off..off + 65536]);
            off += 65536;
        }
        b.copy_within(1000..half - 1000, 7);
        a.copy_from_slice(b);
        let mut k = (r as usize * 131) % 4093;
        while k < buf.len() {
            sum = sum.wrapping_mul(33).wrapping_add(buf[k] as u32);
            k += 4093;
        }
    }
    sum
}
