// Hands cargo's target triple and CPU features to `include_wasm!`, so the
// plugin is compiled for whatever this crate is being built for.
fn main() {
    kiln_build::configure();
}
