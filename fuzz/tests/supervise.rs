//! A case that kills its process is counted and kept, and the run goes on
//! from the next seed.

use std::process::Command;

#[test]
fn a_crashing_case_is_kept_and_the_run_goes_on() {
    let findings = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kiln-fuzz"))
        .args(["artifacts", "--cases", "60", "--threads", "2", "--findings"])
        .arg(findings.path())
        .env("KILN_FUZZ_ABORT_AT", "17")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "a crash must fail the run: {stdout}");
    assert!(stdout.contains("artifacts: 60 cases"), "every case counted: {stdout}");
    assert!(stdout.contains("1 abnormal exits"), "{stdout}");
    let note = std::fs::read_to_string(findings.path().join("artifacts-17.txt")).unwrap();
    assert!(note.starts_with("the process died"), "{note}");
    assert!(note.contains("kiln-fuzz artifacts --seed 17 --cases 1"), "{note}");
    assert!(findings.path().join("artifacts-17.kiln").exists());
}
