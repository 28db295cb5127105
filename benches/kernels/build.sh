#!/usr/bin/env bash
# Rebuild ../wasm/kernels.wasm from src/ and ../wasm/kernels-simd.wasm from
# simd/. The scalar kernels are plain wasm32 (no simd128, so that their
# figures compare with every earlier run); bulk-memory is on by default for
# this target. The SIMD kernel is built with simd128, in a target directory
# of its own so that neither build reuses the other's objects.
set -euo pipefail
cd "$(dirname "$0")"
rustup target add wasm32-unknown-unknown
cargo build --release --target wasm32-unknown-unknown -p kernels
RUSTFLAGS="-C target-feature=+simd128" \
    cargo build --release --target wasm32-unknown-unknown -p kernels-simd --target-dir target/simd128
mkdir -p ../wasm
cp target/wasm32-unknown-unknown/release/kernels.wasm ../wasm/kernels.wasm
cp target/simd128/wasm32-unknown-unknown/release/kernels_simd.wasm ../wasm/kernels-simd.wasm
ls -l ../wasm/kernels.wasm ../wasm/kernels-simd.wasm
