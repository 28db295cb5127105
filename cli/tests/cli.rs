//! Snapshots of the `kiln` command as a user sees it. Each `cli/*.wat`
//! file starts with one directive:
//!
//! ```text
//! ;; RUN: run --invoke add %s 2 3     (must exit 0)
//! ;; FAIL: run %s                     (must exit non-zero)
//! ```
//!
//! `%s` is the file itself. The expected output sits beside it in
//! `NAME.stdout` and `NAME.stderr`, with the file's path written as `%s`.
//! `KILN_BLESS=1 cargo test -p kiln-cli --test cli` rewrites them from
//! what the command printed.

use std::path::{Path, PathBuf};
use std::process::Command;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("cli")
}

/// The directive of a snapshot file: its arguments and whether it must
/// succeed.
fn directive(text: &str, file: &Path) -> (Vec<String>, bool) {
    let first = text.lines().next().unwrap_or("");
    let (rest, ok) = if let Some(r) = first.strip_prefix(";; RUN:") {
        (r, true)
    } else if let Some(r) = first.strip_prefix(";; FAIL:") {
        (r, false)
    } else {
        panic!("{}: the first line must be `;; RUN: …` or `;; FAIL: …`", file.display());
    };
    let path = file.display().to_string();
    (rest.split_whitespace().map(|a| if a == "%s" { path.clone() } else { a.to_string() }).collect(), ok)
}

/// Output made comparable across machines: the file's path as `%s`,
/// Windows line ends as Unix ones.
fn normalize(out: &[u8], file: &Path) -> String {
    String::from_utf8_lossy(out).replace("\r\n", "\n").replace(&file.display().to_string(), "%s")
}

#[test]
fn snapshots() {
    let bless = std::env::var_os("KILN_BLESS").is_some();
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wat"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no snapshot files in {}", dir().display());
    let mut failures = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let (args, must_succeed) = directive(&text, file);
        let out = Command::new(env!("CARGO_BIN_EXE_kiln")).args(&args).output().unwrap();
        if out.status.success() != must_succeed {
            failures.push(format!(
                "{}: expected {}, got {}\nstderr: {}",
                file.display(),
                if must_succeed { "success" } else { "failure" },
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
            continue;
        }
        for (ext, actual) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            let expected_path = file.with_extension(ext);
            let actual = normalize(actual, file);
            if bless {
                if actual.is_empty() {
                    let _ = std::fs::remove_file(&expected_path);
                } else {
                    std::fs::write(&expected_path, &actual).unwrap();
                }
                continue;
            }
            let expected = std::fs::read_to_string(&expected_path).unwrap_or_default().replace("\r\n", "\n");
            if expected != actual {
                failures.push(format!(
                    "{}: {ext} differs (KILN_BLESS=1 to accept)\n--- expected\n{expected}--- actual\n{actual}",
                    file.display()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
