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
ls -l wasm
