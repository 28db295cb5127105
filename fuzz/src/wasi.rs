//! The WASI target: random sequences of preview 1 calls, with random and
//! adversarial pointers, lengths, flags, descriptors and paths, against a
//! preopened temporary directory.
//!
//! Each case runs in a fresh directory tree:
//!
//! ```text
//! root/
//!   outside.txt, outdir/secret     never to be touched
//!   sandbox/                       preopened as /sandbox (read-write)
//!     a.txt, dir/b.txt, escape -> ../outside.txt, abs -> /etc/hostname
//! ```
//!
//! and must end with everything outside `sandbox/` exactly as it was
//! (names, kinds, sizes, contents), every call returning a WASI errno,
//! and the host alive.

use crate::rng::Rng;
use crate::runner::{CaseReport, Finding};
use kiln::wasi::{DirPerms, Pipe, WasiCtx, WasiCtxBuilder};
use kiln::{Linker, Module, Store, Val};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

/// What each parameter is, so arguments can be chosen to mean something
/// (or to be hostile in a meaningful way).
#[derive(Clone, Copy)]
enum P {
    /// A descriptor.
    Fd,
    /// A pointer to memory the call writes or reads.
    Ptr,
    /// A pointer to a path, followed by its length (`Len`).
    Path,
    /// A byte length.
    Len,
    /// A pointer to iovecs, followed by their count (`Count`).
    Iovs,
    Count,
    /// Flags, a clock id, a whence, an advice: small numbers, sometimes any.
    Flags,
    /// A 64-bit offset, size, time or rights mask.
    U64,
}
use P::*;

/// Every preview 1 function the target calls (not `proc_exit`, which
/// ends the guest, nor `poll_oneoff`, which may sleep as long as asked).
const CALLS: &[(&str, &[P])] = &[
    ("args_get", &[Ptr, Ptr]),
    ("args_sizes_get", &[Ptr, Ptr]),
    ("environ_get", &[Ptr, Ptr]),
    ("environ_sizes_get", &[Ptr, Ptr]),
    ("clock_res_get", &[Flags, Ptr]),
    ("clock_time_get", &[Flags, U64, Ptr]),
    ("random_get", &[Ptr, Len]),
    ("sched_yield", &[]),
    ("fd_advise", &[Fd, U64, U64, Flags]),
    ("fd_allocate", &[Fd, U64, U64]),
    ("fd_close", &[Fd]),
    ("fd_datasync", &[Fd]),
    ("fd_fdstat_get", &[Fd, Ptr]),
    ("fd_fdstat_set_flags", &[Fd, Flags]),
    ("fd_fdstat_set_rights", &[Fd, U64, U64]),
    ("fd_filestat_get", &[Fd, Ptr]),
    ("fd_filestat_set_size", &[Fd, U64]),
    ("fd_filestat_set_times", &[Fd, U64, U64, Flags]),
    ("fd_pread", &[Fd, Iovs, Count, U64, Ptr]),
    ("fd_prestat_get", &[Fd, Ptr]),
    ("fd_prestat_dir_name", &[Fd, Ptr, Len]),
    ("fd_pwrite", &[Fd, Iovs, Count, U64, Ptr]),
    ("fd_read", &[Fd, Iovs, Count, Ptr]),
    ("fd_readdir", &[Fd, Ptr, Len, U64, Ptr]),
    ("fd_renumber", &[Fd, Fd]),
    ("fd_seek", &[Fd, U64, Flags, Ptr]),
    ("fd_sync", &[Fd]),
    ("fd_tell", &[Fd, Ptr]),
    ("fd_write", &[Fd, Iovs, Count, Ptr]),
    ("path_create_directory", &[Fd, Path, Len]),
    ("path_filestat_get", &[Fd, Flags, Path, Len, Ptr]),
    ("path_filestat_set_times", &[Fd, Flags, Path, Len, U64, U64, Flags]),
    ("path_link", &[Fd, Flags, Path, Len, Fd, Path, Len]),
    ("path_open", &[Fd, Flags, Path, Len, Flags, U64, U64, Flags, Ptr]),
    ("path_readlink", &[Fd, Path, Len, Ptr, Len, Ptr]),
    ("path_remove_directory", &[Fd, Path, Len]),
    ("path_rename", &[Fd, Path, Len, Fd, Path, Len]),
    ("path_symlink", &[Path, Len, Fd, Path, Len]),
    ("path_unlink_file", &[Fd, Path, Len]),
    ("sock_accept", &[Fd, Flags, Ptr]),
    ("sock_shutdown", &[Fd, Flags]),
];

fn wasm_type(p: P) -> &'static str {
    if matches!(p, U64) {
        "i64"
    } else {
        "i32"
    }
}

/// The guest: two pages of memory and an export per import that only
/// passes its arguments on, compiled once per process.
fn module() -> &'static Module {
    static MODULE: OnceLock<Module> = OnceLock::new();
    MODULE.get_or_init(|| {
        let mut wat = String::from("(module\n");
        for (name, params) in CALLS {
            let ps: Vec<_> = params.iter().map(|p| wasm_type(*p)).collect();
            wat += &format!(
                "(import \"wasi_snapshot_preview1\" \"{name}\" (func ${name} (param {}) (result i32)))\n",
                ps.join(" ")
            );
        }
        wat += "(memory (export \"memory\") 2)\n";
        for (name, params) in CALLS {
            let ps: Vec<_> = params.iter().map(|p| wasm_type(*p)).collect();
            let gets: String = (0..params.len()).map(|i| format!("(local.get {i})")).collect();
            wat += &format!("(func (export \"{name}\") (param {}) (result i32) (call ${name} {gets}))\n", ps.join(" "));
        }
        wat += ")";
        let wasm = wat::parse_str(&wat).expect("the WASI guest is valid text");
        let bytes = kiln_build::compile(&wasm, &kiln_build::Config::host()).expect("the WASI guest compiles");
        // SAFETY: the bytes come straight from kiln_build::compile.
        unsafe { Module::from_bytes(&bytes) }.expect("the WASI guest loads")
    })
}

const MEMORY: u32 = 2 * 65536;

/// Paths a guest might try: ordinary, escaping, absolute, through the
/// planted symlinks, odd bytes.
const PATHS: &[&[u8]] = &[
    b".",
    b"..",
    b"a.txt",
    b"dir",
    b"dir/b.txt",
    b"new",
    b"new/x",
    b"dir/../a.txt",
    b"../outside.txt",
    b"../outdir/secret",
    b"dir/../../outside.txt",
    b"/etc/hostname",
    b"/sandbox/a.txt",
    b"escape",
    b"abs",
    b"escape/x",
    b"dir/.",
    b"",
    b"a.txt\0x",
    b"\xff\xfe",
    b"./././a.txt",
    b"dir//b.txt",
    b"link",
    b"ln/../../x",
    b"../sandbox/a.txt",
    b"new/../../outdir",
];

/// Lay out the case's tree; returns (root, sandbox).
fn tree() -> std::io::Result<(tempfile::TempDir, std::path::PathBuf)> {
    let root = tempfile::Builder::new().prefix("kiln-fuzz-wasi-").tempdir()?;
    std::fs::write(root.path().join("outside.txt"), b"outside")?;
    std::fs::create_dir(root.path().join("outdir"))?;
    std::fs::write(root.path().join("outdir/secret"), b"secret")?;
    let sandbox = root.path().join("sandbox");
    std::fs::create_dir_all(sandbox.join("dir"))?;
    std::fs::write(sandbox.join("a.txt"), b"hello, sandbox")?;
    std::fs::write(sandbox.join("dir/b.txt"), b"b")?;
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("../outside.txt", sandbox.join("escape"))?;
        std::os::unix::fs::symlink("/etc/hostname", sandbox.join("abs"))?;
    }
    Ok((root, sandbox))
}

/// Everything under `root` except `sandbox/`: path → (kind, contents).
fn snapshot(root: &Path) -> BTreeMap<String, (char, Vec<u8>)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for e in entries.flatten() {
            let path = e.path();
            let rel = path.strip_prefix(root).unwrap_or(&path).to_string_lossy().into_owned();
            if rel == "sandbox" {
                continue;
            }
            let Ok(meta) = std::fs::symlink_metadata(&path) else { continue };
            let entry = if meta.is_symlink() {
                ('l', std::fs::read_link(&path).map(|p| p.into_os_string().into_encoded_bytes()).unwrap_or_default())
            } else if meta.is_dir() {
                stack.push(path.clone());
                ('d', Vec::new())
            } else {
                ('f', std::fs::read(&path).unwrap_or_default())
            };
            out.insert(rel, entry);
        }
    }
    out
}

struct State {
    wasi: WasiCtx,
}

/// Run WASI case `seed`.
pub fn case(seed: u64) -> CaseReport {
    let mut rng = Rng::new("wasi", seed);
    let mut report = CaseReport::default();
    let finding = |what: String| Some(Finding { what, files: Vec::new() });
    let (root, sandbox) = match tree() {
        Ok(t) => t,
        Err(e) => {
            report.finding = finding(format!("cannot lay out the case's directory tree: {e}"));
            return report;
        }
    };
    let before = snapshot(root.path());
    let wasi = match WasiCtxBuilder::new()
        .args(["guest", "--flag"])
        .env("KEY", "value")
        .stdin(rng.bytes(64))
        .stdout(Pipe::with_limit(1 << 16))
        .stderr(Pipe::with_limit(1 << 16))
        .max_open_files(32)
        .preopened_dir(&sandbox, "/sandbox", DirPerms::ReadWrite)
    {
        Ok(b) => b.build(),
        Err(e) => {
            report.finding = finding(format!("cannot preopen the sandbox: {e}"));
            return report;
        }
    };
    let mut store = Store::new(State { wasi });
    let mut linker = Linker::new();
    let instance = kiln::wasi::add_to_linker(&mut linker, |s: &mut State| &mut s.wasi)
        .and_then(|()| linker.instantiate(&mut store, module()));
    let instance = match instance {
        Ok(i) => i,
        Err(e) => {
            report.finding = finding(format!("the WASI guest does not instantiate: {e}"));
            return report;
        }
    };
    let Some(memory) = instance.get_memory(&mut store, "memory") else {
        report.finding = finding("the WASI guest exports no memory".into());
        return report;
    };
    // Paths at fixed places, iovecs over the upper half of the first page.
    let mut path_slots = Vec::new();
    let mut at = 0u32;
    for p in PATHS {
        let _ = memory.write(&mut store, at as usize, p);
        path_slots.push((at, p.len() as u32));
        at += p.len() as u32 + 1;
    }
    let iovs = 0x8000u32;
    for i in 0..8u32 {
        let iov = [0x9000 + i * 0x100, 0x40 + i * 0x10];
        let bytes: Vec<u8> = iov.iter().flat_map(|x| x.to_le_bytes()).collect();
        let _ = memory.write(&mut store, (iovs + i * 8) as usize, &bytes);
    }
    let steps = 10 + rng.below(50);
    let mut log = Vec::new();
    for _ in 0..steps {
        let (name, params) = *rng.pick(CALLS);
        let mut args = Vec::with_capacity(params.len());
        let mut i = 0;
        while i < params.len() {
            match params[i] {
                Path if rng.chance(7, 8) && matches!(params.get(i + 1), Some(Len)) => {
                    let (ptr, len) = *rng.pick(&path_slots);
                    args.push(Val::I32(ptr as i32));
                    args.push(Val::I32(len as i32));
                    i += 2;
                    continue;
                }
                Iovs if rng.chance(7, 8) => {
                    args.push(Val::I32((iovs + 8 * rng.below(4) as u32) as i32));
                    args.push(Val::I32(rng.below(5) as i32));
                    i += 2;
                    continue;
                }
                Fd => args.push(Val::I32(*rng.pick(&[0, 1, 2, 3, 3, 3, 4, 5, 6, 7, 8, 31, 32, 1000, u32::MAX]) as i32)),
                Ptr | Path | Iovs => args.push(Val::I32(pointer(&mut rng) as i32)),
                Len | Count => {
                    let any = rng.next_u64() as u32;
                    let len = *rng.pick(&[0u32, 1, 8, 64, 255, 4096, MEMORY, u32::MAX, any]);
                    args.push(Val::I32(len as i32));
                }
                Flags => {
                    let f = if rng.chance(3, 4) { rng.below(64) as u32 } else { rng.next_u64() as u32 };
                    args.push(Val::I32(f as i32));
                }
                U64 => {
                    let any = rng.next_u64();
                    let v = *rng.pick(&[0u64, 1, 5, 4096, u64::MAX, i64::MAX as u64, (-1i64) as u64, any]);
                    args.push(Val::I64(v as i64));
                }
            }
            i += 1;
        }
        log.push(format!("{name}{args:?}"));
        let Some(func) = instance.get_func(&mut store, name) else {
            report.finding = finding(format!("the WASI guest lacks its export {name}"));
            return report;
        };
        let mut result = [Val::I32(0)];
        match func.call(&mut store, &args, &mut result) {
            Ok(()) => {
                let errno = result[0].i32().unwrap_or(-1);
                if !(0..=76).contains(&errno) {
                    report.finding =
                        finding(format!("{name} returned {errno}, not a WASI errno; calls:\n{}", log.join("\n")));
                    return report;
                }
                report.count(if errno == 0 { "calls succeeded" } else { "calls refused with an errno" }, 1);
            }
            Err(e) => {
                report.finding = finding(format!("{name} failed in the host: {e}; calls:\n{}", log.join("\n")));
                return report;
            }
        }
    }
    drop(store);
    let after = snapshot(root.path());
    if before != after {
        let changed: Vec<_> = after
            .iter()
            .filter(|(k, v)| before.get(*k) != Some(v))
            .map(|(k, _)| k.as_str())
            .chain(before.keys().filter(|k| !after.contains_key(*k)).map(String::as_str))
            .collect();
        report.finding = finding(format!("changed outside the preopen: {changed:?}; calls:\n{}", log.join("\n")));
    }
    report
}

/// A pointer: mostly inside memory, sometimes at its edge or beyond.
fn pointer(rng: &mut Rng) -> u32 {
    match rng.below(8) {
        0 => MEMORY - rng.below(16) as u32,
        1 => *rng.pick(&[MEMORY, u32::MAX, u32::MAX - 3, 0x8000_0000]),
        _ => 0xa000 + rng.below(0x4000) as u32,
    }
}
