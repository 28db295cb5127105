//! Test support: run one unit test of this binary in a child process, for
//! tests whose subject is the process dying (or an OS-wide setting that must
//! start fresh).
//!
//! Under an emulator (qemu-user in CI), the test binary is a foreign
//! executable the host cannot start by itself: `KILN_TEST_RUNNER` names the
//! command that runs it (the same one as cargo's `CARGO_TARGET_…_RUNNER`),
//! and the child is started through it.

use std::process::{Command, ExitStatus, Stdio};

/// The environment variable that marks the child and names its test.
const CHILD: &str = "KILN_TEST_CHILD";

/// Whether this process is the child started for `test`.
pub(crate) fn is_child(test: &str) -> bool {
    std::env::var(CHILD).is_ok_and(|v| v == test)
}

/// Run the unit test `path` (as `cargo test` names it, e.g.
/// `vm::sys::unix::signals::tests::name`) alone in a child process, with
/// [`is_child`] true for `path`'s last component, and return how it ended.
pub(crate) fn run_child(path: &str) -> ExitStatus {
    let name = path.rsplit("::").next().unwrap_or(path);
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut command = match std::env::var("KILN_TEST_RUNNER") {
        Ok(runner) if !runner.trim().is_empty() => {
            let mut words = runner.split_whitespace();
            let mut c = Command::new(words.next().unwrap_or_default());
            c.args(words).arg(&exe);
            c
        }
        _ => Command::new(&exe),
    };
    command
        .args([path, "--exact", "--test-threads=1", "--nocapture"])
        .env(CHILD, name)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap_or_else(|e| {
            panic!(
                "cannot start {} as a child: {e} (under an emulator, set KILN_TEST_RUNNER to the command that runs \
                 this target's binaries)",
                exe.display()
            )
        })
}
