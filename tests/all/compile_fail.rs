//! `include_wasm!` diagnostics, pinned by trybuild snapshots: each
//! `compile_fail/*.rs` must fail to compile with exactly the error in the
//! `.stderr` file beside it. After an intended change of wording, regenerate
//! them with `TRYBUILD=overwrite cargo test -p kiln-tests --test all compile_fail`
//! and review the diff.

use std::path::{Path, PathBuf};

#[test]
fn include_wasm_diagnostics() {
    stage_fixtures();
    trybuild::TestCases::new().compile_fail("compile_fail/*.rs");
}

/// trybuild compiles the cases as binaries of its own project,
/// `<target>/tests/trybuild/<crate>/`, which is therefore the
/// `CARGO_MANIFEST_DIR` that `include_wasm!` resolves paths against. Copy the
/// fixtures there, so the cases can name them relative to the crate as a user
/// would, and the messages (which show paths as written) are the same on every
/// machine.
fn stage_fixtures() {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    // CARGO_TARGET_TMPDIR is `<target>/tmp`; trybuild uses the same `<target>`.
    let target_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().expect("target dir");
    let project_dir = target_dir.join("tests").join("trybuild").join(env!("CARGO_PKG_NAME"));
    copy_dir(&manifest_dir.join("fixtures"), &project_dir.join("fixtures"));
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("creating {}: {e}", to.display()));
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let from: PathBuf = entry.expect("fixture entry").path();
        let to = to.join(from.file_name().expect("file name"));
        if from.is_dir() {
            copy_dir(&from, &to);
            continue;
        }
        std::fs::copy(&from, &to).unwrap_or_else(|e| panic!("copying {} to {}: {e}", from.display(), to.display()));
    }
}
