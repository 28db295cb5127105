// Compile the plugins for this crate's target, with epoch checks compiled
// in: every plugin this host runs can be stopped.
fn main() {
    kiln_build::Configure::new().epoch_interruption(true).emit();
}
