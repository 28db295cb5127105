// Compile the plugins for this crate's target, with epoch checks compiled
// in: every plugin this host runs can be stopped.
fn main() {
    kiln_build::configure();
    println!("cargo:rustc-env={}=1", kiln_build::ENV_EPOCH_INTERRUPTION);
}
