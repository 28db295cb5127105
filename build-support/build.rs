//! Fingerprint the compiler's own sources (and the artifact format's), so
//! the artifact cache never hands out code compiled by an older compiler of
//! the same version number (as happens with path and git dependencies).

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::Path;

fn visit(dir: &Path, hasher: &mut DefaultHasher) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut paths: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            visit(&path, hasher);
        } else if path.extension().is_some_and(|e| e == "rs") {
            println!("cargo:rerun-if-changed={}", path.display());
            path.file_name().hash(hasher);
            std::fs::read(&path).unwrap_or_default().hash(hasher);
        }
    }
}

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let mut hasher = DefaultHasher::new();
    visit(&Path::new(&manifest).join("src"), &mut hasher);
    // The format crate beside us, when built from the workspace.
    visit(&Path::new(&manifest).join("../artifact/src"), &mut hasher);
    println!("cargo:rustc-env=KILN_BUILD_FINGERPRINT={:016x}", hasher.finish());
}
