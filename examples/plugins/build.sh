#!/usr/bin/env bash
# Rebuild the plugins' .wasm files (committed beside this script, so
# building the host needs no wasm toolchain).
set -euo pipefail
cd "$(dirname "$0")"
rustup target add wasm32-wasip1 wasm32-unknown-unknown
cargo build --release --target wasm32-wasip1 -p greet-wasi
cargo build --release --target wasm32-unknown-unknown -p strings -p spin -p crash -p simd
# The SIMD plugin once more with simd128, in a target directory of its own so
# that neither build reuses the other's objects.
RUSTFLAGS="-C target-feature=+simd128" \
    cargo build --release --target wasm32-unknown-unknown -p simd --target-dir target/simd128
mkdir -p wasm
cp target/wasm32-wasip1/release/greet-wasi.wasm wasm/
for p in strings spin crash; do
    cp "target/wasm32-unknown-unknown/release/$p.wasm" wasm/
done
cp target/wasm32-unknown-unknown/release/simd.wasm wasm/simd-scalar.wasm
cp target/simd128/wasm32-unknown-unknown/release/simd.wasm wasm/simd-simd128.wasm
# A Rust plugin in the debug profile, with its DWARF: its traps name the
# Rust file and line. Paths in the DWARF are made relative to the
# repository root.
RUSTFLAGS="--remap-path-prefix=$PWD=examples/plugins" \
    cargo build --target wasm32-unknown-unknown -p records
cp target/wasm32-unknown-unknown/debug/records.wasm wasm/records-debug.wasm
# C++ with wasm exceptions: clang 19 and the wasm32 WASI sysroot of Debian
# (packages clang-19, wasi-libc, libc++-19-dev-wasm32,
# libc++abi-19-dev-wasm32, libclang-rt-19-dev-wasm32). clang 19 emits the
# legacy exception instructions; run it with `-W legacy-exceptions=y`.
clang++-19 --target=wasm32-wasi -fwasm-exceptions -O2 -std=c++17 \
    exceptions-cxx/calc.cpp exceptions-cxx/abi.cpp -o wasm/exceptions-cxx.wasm
ls -l wasm
