// The large module of the load and build benchmarks, generated: thousands
// of functions of straight-line arithmetic, memory traffic, branches and
// calls, encoded directly as a wasm binary. Deterministic, so kiln and
// Wasmtime compile the very same bytes in every run. Shared by build.rs
// (which embeds it with kiln) and the runner (`include!`d by both).

/// Functions in the large module.
pub const LARGE_FUNCS: u32 = 6000;
/// Blocks of code in each function.
const BLOCKS: u32 = 13;

fn leb_u(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

fn leb_s(out: &mut Vec<u8>, mut v: i64) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if (v == 0 && b & 0x40 == 0) || (v == -1 && b & 0x40 != 0) {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

fn section(out: &mut Vec<u8>, id: u8, body: &[u8]) {
    out.push(id);
    leb_u(out, body.len() as u64);
    out.extend_from_slice(body);
}

fn name(out: &mut Vec<u8>, s: &str) {
    leb_u(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// The large module's wasm bytes.
pub fn large_module() -> Vec<u8> {
    let n = LARGE_FUNCS;
    let mut m = b"\0asm\x01\0\0\0".to_vec();
    // type 0: (i32, i32) -> i32
    section(&mut m, 1, &[1, 0x60, 2, 0x7f, 0x7f, 1, 0x7f]);
    let mut funcs = Vec::new();
    leb_u(&mut funcs, n as u64);
    for _ in 0..n {
        funcs.push(0);
    }
    section(&mut m, 3, &funcs);
    section(&mut m, 5, &[1, 0, 1]); // one memory, min 1 page
    let mut exports = Vec::new();
    let exported: Vec<u32> = (0..n).filter(|i| i % 8 == 0).collect();
    leb_u(&mut exports, exported.len() as u64 + 1);
    for &i in &exported {
        name(&mut exports, &format!("f{i}"));
        exports.push(0);
        leb_u(&mut exports, i as u64);
    }
    name(&mut exports, "memory");
    exports.extend_from_slice(&[2, 0]);
    section(&mut m, 7, &exports);

    let mut code = Vec::new();
    leb_u(&mut code, n as u64);
    let mut x: u32 = 0x2545_f491;
    let mut rand = move || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x
    };
    let mut body = Vec::new();
    for f in 0..n {
        body.clear();
        body.extend_from_slice(&[1, 2, 0x7f]); // locals 2, 3: i32
        for j in 0..BLOCKS {
            // $2 = $0 * c ^ $1
            body.extend_from_slice(&[0x20, 0, 0x41]);
            leb_s(&mut body, (rand() | 1) as i32 as i64);
            body.extend_from_slice(&[0x6c, 0x20, 1, 0x73, 0x21, 2]);
            // $0 = load(($2 & 0xfffc) + off) + $0
            body.extend_from_slice(&[0x20, 2, 0x41]);
            leb_s(&mut body, 0xfffc);
            body.extend_from_slice(&[0x71, 0x28, 2]);
            leb_u(&mut body, (rand() % 4096 & !3) as u64);
            body.extend_from_slice(&[0x20, 0, 0x6a, 0x21, 0]);
            // if $2 & 1 { $1 += c } else { $0 = rotl($0, k) }
            body.extend_from_slice(&[0x20, 2, 0x41, 1, 0x71, 0x04, 0x40, 0x20, 1, 0x41]);
            leb_s(&mut body, (rand() >> 8) as i64);
            body.extend_from_slice(&[0x6a, 0x21, 1, 0x05, 0x20, 0, 0x41]);
            leb_s(&mut body, (rand() % 31 + 1) as i64);
            body.extend_from_slice(&[0x77, 0x21, 0, 0x0b]);
            // now and then: $3 = call lower($0, $1); $1 += $3
            if f > 0 && j % 6 == 0 {
                let callee = f - 1 - rand() % f.min(20);
                body.extend_from_slice(&[0x20, 0, 0x20, 1, 0x10]);
                leb_u(&mut body, callee as u64);
                body.extend_from_slice(&[0x21, 3, 0x20, 1, 0x20, 3, 0x6a, 0x21, 1]);
            }
            // store(($2 & 0xfffc) + off, $0 ^ $1)
            body.extend_from_slice(&[0x20, 2, 0x41]);
            leb_s(&mut body, 0xfffc);
            body.extend_from_slice(&[0x71, 0x20, 0, 0x20, 1, 0x73, 0x36, 2]);
            leb_u(&mut body, (rand() % 4096 & !3) as u64);
        }
        body.extend_from_slice(&[0x20, 0, 0x20, 1, 0x73, 0x0b]);
        leb_u(&mut code, body.len() as u64);
        code.extend_from_slice(&body);
    }
    section(&mut m, 10, &code);
    m
}
