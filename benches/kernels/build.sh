#!/usr/bin/env bash
# Rebuild ../wasm/kernels.wasm from src/. Plain wasm32 (no simd128: kiln
# does not compile SIMD yet); bulk-memory is on by default for this target.
set -euo pipefail
cd "$(dirname "$0")"
rustup target add wasm32-unknown-unknown
cargo build --release --target wasm32-unknown-unknown
mkdir -p ../wasm
cp target/wasm32-unknown-unknown/release/kernels.wasm ../wasm/kernels.wasm
ls -l ../wasm/kernels.wasm
