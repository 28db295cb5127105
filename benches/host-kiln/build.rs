fn main() {
    kiln_build::configure();
}
