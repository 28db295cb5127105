//! Test support: run one unit test of this binary in a child process, for
//! tests whose subject is the process dying (or an OS-wide setting that must
//! start fresh); and read the protections of this process's address space,
//! for the W^X tests.
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

/// How a child that dies of an access violation ends: SIGSEGV on Linux,
/// the exception code as exit status on Windows.
pub(crate) fn died_of_access_violation(status: &ExitStatus) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        status.signal() == Some(libc::SIGSEGV)
    }
    #[cfg(windows)]
    {
        status.code() == Some(windows_sys::Win32::Foundation::EXCEPTION_ACCESS_VIOLATION)
    }
}

/// A region of this process's address space with one protection.
#[derive(Debug)]
pub(crate) struct Region {
    pub start: usize,
    pub end: usize,
    /// `r`, `w`, `x` or `-` for each of read, write, execute.
    pub perms: String,
}

impl Region {
    pub(crate) fn is_writable_and_executable(&self) -> bool {
        &self.perms[1..3] == "wx"
    }
}

/// Every accessible region of this process, from `/proc/self/maps`.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn regions() -> Vec<Region> {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    maps.lines()
        .map(|l| {
            let mut f = l.split_whitespace();
            let (range, perms) = (f.next().unwrap(), f.next().unwrap());
            let (s, e) = range.split_once('-').unwrap();
            Region {
                start: usize::from_str_radix(s, 16).unwrap(),
                end: usize::from_str_radix(e, 16).unwrap(),
                perms: perms[..3].to_string(),
            }
        })
        .collect()
}

/// Every reserved or committed region of this process, walked with
/// `VirtualQuery` (reserved but uncommitted ones are inaccessible).
#[cfg(windows)]
#[allow(unsafe_code)]
pub(crate) fn regions() -> Vec<Region> {
    use windows_sys::Win32::System::Memory::*;
    let mut out = Vec::new();
    let mut at = 0usize;
    loop {
        // SAFETY: an all-zero MEMORY_BASIC_INFORMATION is a valid value to
        // overwrite; `VirtualQuery` only reads the process's own map.
        let mut info: MEMORY_BASIC_INFORMATION = unsafe { core::mem::zeroed() };
        // SAFETY: as above; `info` is writable and its size is passed.
        let n = unsafe { VirtualQuery(at as *const _, &mut info, core::mem::size_of_val(&info)) };
        if n == 0 || info.RegionSize == 0 {
            break;
        }
        let start = info.BaseAddress as usize;
        let end = start.saturating_add(info.RegionSize);
        if info.State == MEM_RESERVE {
            out.push(Region { start, end, perms: "---".to_string() });
        } else if info.State == MEM_COMMIT {
            let perms = match info.Protect & 0xff {
                PAGE_READONLY => "r--",
                PAGE_READWRITE | PAGE_WRITECOPY => "rw-",
                PAGE_EXECUTE => "--x",
                PAGE_EXECUTE_READ => "r-x",
                PAGE_EXECUTE_READWRITE | PAGE_EXECUTE_WRITECOPY => "rwx",
                _ => "---",
            };
            out.push(Region { start, end, perms: perms.to_string() });
        }
        if end <= at {
            break;
        }
        at = end;
    }
    out
}

/// The protections of every region overlapping `[start, end)`.
pub(crate) fn perms_over(start: usize, end: usize) -> Vec<String> {
    regions().into_iter().filter(|m| m.start < end && start < m.end).map(|m| m.perms).collect()
}
