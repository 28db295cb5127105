//! The size baseline: what `host-kiln` and `host-wasmtime` do, natively —
//! the cost of Rust's standard library alone, under the same profile.

fn fib(n: u32) -> u32 {
    if n < 2 {
        n
    } else {
        fib(n - 1) + fib(n - 2)
    }
}

fn main() {
    println!("{}", fib(std::hint::black_box(20)));
}
