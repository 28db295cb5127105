//! WASI preview 1 (`kiln::wasi`): functional tests of every import, and an
//! escape-the-sandbox suite where every attempt must be refused with the
//! right errno and leave the host untouched.
//!
//! The guest is a WAT module that imports the WASI functions and exports a
//! thin wrapper for each (`call $f` with the same arguments), so a test
//! controls every pointer and length exactly: it writes guest memory from
//! the host, calls the wrapper, and reads the results back. A small Rust
//! program built for `wasm32-wasip1` (tests/fixtures/wasi/) checks that
//! `std` itself works end to end.

use kiln::wasi::{DirPerms, Errno, I32Exit, Pipe, WasiCtx, WasiCtxBuilder};
use kiln::{Instance, Linker, Memory, Module, Store, Val, ValType};
use std::path::Path;
use std::sync::OnceLock;

/// Every import the test module wraps: name and wasm parameter types.
const IMPORTS: &[(&str, &str)] = &[
    ("args_get", "i32 i32"),
    ("args_sizes_get", "i32 i32"),
    ("environ_get", "i32 i32"),
    ("environ_sizes_get", "i32 i32"),
    ("clock_res_get", "i32 i32"),
    ("clock_time_get", "i32 i64 i32"),
    ("random_get", "i32 i32"),
    ("sched_yield", ""),
    ("poll_oneoff", "i32 i32 i32 i32"),
    ("proc_raise", "i32"),
    ("fd_advise", "i32 i64 i64 i32"),
    ("fd_allocate", "i32 i64 i64"),
    ("fd_close", "i32"),
    ("fd_datasync", "i32"),
    ("fd_fdstat_get", "i32 i32"),
    ("fd_fdstat_set_flags", "i32 i32"),
    ("fd_fdstat_set_rights", "i32 i64 i64"),
    ("fd_filestat_get", "i32 i32"),
    ("fd_filestat_set_size", "i32 i64"),
    ("fd_filestat_set_times", "i32 i64 i64 i32"),
    ("fd_pread", "i32 i32 i32 i64 i32"),
    ("fd_prestat_get", "i32 i32"),
    ("fd_prestat_dir_name", "i32 i32 i32"),
    ("fd_pwrite", "i32 i32 i32 i64 i32"),
    ("fd_read", "i32 i32 i32 i32"),
    ("fd_readdir", "i32 i32 i32 i64 i32"),
    ("fd_renumber", "i32 i32"),
    ("fd_seek", "i32 i64 i32 i32"),
    ("fd_sync", "i32"),
    ("fd_tell", "i32 i32"),
    ("fd_write", "i32 i32 i32 i32"),
    ("path_create_directory", "i32 i32 i32"),
    ("path_filestat_get", "i32 i32 i32 i32 i32"),
    ("path_filestat_set_times", "i32 i32 i32 i32 i64 i64 i32"),
    ("path_link", "i32 i32 i32 i32 i32 i32 i32"),
    ("path_open", "i32 i32 i32 i32 i32 i64 i64 i32 i32"),
    ("path_readlink", "i32 i32 i32 i32 i32 i32"),
    ("path_remove_directory", "i32 i32 i32"),
    ("path_rename", "i32 i32 i32 i32 i32 i32"),
    ("path_symlink", "i32 i32 i32 i32 i32"),
    ("path_unlink_file", "i32 i32 i32"),
    ("sock_accept", "i32 i32 i32"),
    ("sock_shutdown", "i32 i32"),
];

/// The test guest: one page of memory and a wrapper per import, plus
/// `exit` (calls `proc_exit`).
fn wrapper_module() -> &'static Module {
    static MODULE: OnceLock<Module> = OnceLock::new();
    MODULE.get_or_init(|| {
        let mut wat = String::from("(module\n");
        for (name, params) in IMPORTS {
            wat += &format!(
                "  (import \"wasi_snapshot_preview1\" \"{name}\" (func ${name} (param {params}) (result i32)))\n"
            );
        }
        wat += "  (import \"wasi_snapshot_preview1\" \"proc_exit\" (func $proc_exit (param i32)))\n";
        wat += "  (memory (export \"memory\") 1)\n";
        for (name, params) in IMPORTS {
            let args: String = (0..params.split_whitespace().count()).map(|i| format!("(local.get {i}) ")).collect();
            wat += &format!("  (func (export \"{name}\") (param {params}) (result i32) (call ${name} {args}))\n");
        }
        wat += "  (func (export \"exit\") (param i32) (call $proc_exit (local.get 0)) (unreachable)))\n";
        kiln_tests::module(&wat)
    })
}

struct State {
    wasi: WasiCtx,
}

/// The wrapper module instantiated with a WASI context, and helpers to
/// poke its memory and call its imports.
struct Guest {
    store: Store<State>,
    instance: Instance,
    memory: Memory,
}

/// Guest addresses used by the tests (the memory is 64 KiB).
const PATH: u32 = 0x100;
const PATH2: u32 = 0x300;
const OUT: u32 = 0x500;
const IOVS: u32 = 0x600;
const BUF: u32 = 0x1000;
const END: u32 = 0x1_0000;

/// Rights the tests ask for when opening: everything (the directory
/// narrows them).
const ALL: i64 = (1 << 30) - 1;
const RIGHT_FD_READ: i64 = 1 << 1;
const RIGHT_FD_WRITE: i64 = 1 << 6;
const OFLAG_CREAT: i64 = 1;
const OFLAG_DIRECTORY: i64 = 2;
const OFLAG_EXCL: i64 = 4;
const OFLAG_TRUNC: i64 = 8;
const FOLLOW: i64 = 1;

impl Guest {
    fn new(wasi: WasiCtx) -> Guest {
        let mut store = Store::new(State { wasi });
        let mut linker = Linker::new();
        kiln::wasi::add_to_linker(&mut linker, |s: &mut State| &mut s.wasi).unwrap();
        let instance = linker.instantiate(&mut store, wrapper_module()).unwrap();
        let memory = instance.get_memory(&mut store, "memory").unwrap();
        Guest { store, instance, memory }
    }

    /// Call the wrapper of import `name`; arguments are converted to the
    /// import's parameter types. Returns the errno.
    fn call(&mut self, name: &str, args: &[i64]) -> Errno {
        let func = self.instance.get_func(&mut self.store, name).unwrap_or_else(|| panic!("no export {name}"));
        let ty = func.ty(&mut self.store);
        assert_eq!(ty.params.len(), args.len(), "{name} takes {} arguments", ty.params.len());
        let params: Vec<Val> = ty
            .params
            .iter()
            .zip(args)
            .map(|(t, &a)| if *t == ValType::I64 { Val::I64(a) } else { Val::I32(a as i32) })
            .collect();
        let mut results = [Val::I32(0)];
        func.call(&mut self.store, &params, &mut results).unwrap_or_else(|e| panic!("{name} failed in the host: {e}"));
        let raw = results[0].i32().unwrap();
        Errno::from_raw(raw).unwrap_or_else(|| panic!("{name} returned {raw}, not an errno"))
    }

    fn write(&mut self, ptr: u32, bytes: &[u8]) {
        self.memory.write(&mut self.store, ptr as usize, bytes).unwrap();
    }

    fn read(&mut self, ptr: u32, len: usize) -> Vec<u8> {
        let mut buf = vec![0; len];
        self.memory.read(&mut self.store, ptr as usize, &mut buf).unwrap();
        buf
    }

    fn u32(&mut self, ptr: u32) -> u32 {
        u32::from_le_bytes(self.read(ptr, 4).try_into().unwrap())
    }

    fn u64(&mut self, ptr: u32) -> u64 {
        u64::from_le_bytes(self.read(ptr, 8).try_into().unwrap())
    }

    /// Put `s` at `ptr`; returns `[ptr, len]` for the argument list.
    fn str(&mut self, ptr: u32, s: &str) -> [i64; 2] {
        self.write(ptr, s.as_bytes());
        [ptr as i64, s.len() as i64]
    }

    /// One iovec at IOVS pointing at `ptr..ptr+len`.
    fn iovec(&mut self, ptr: u32, len: u32) {
        let mut v = ptr.to_le_bytes().to_vec();
        v.extend_from_slice(&len.to_le_bytes());
        self.write(IOVS, &v);
    }

    /// `path_open(dir, follow, path, oflags, rights)`: the new fd, or the errno.
    fn open(&mut self, dir: u32, lookup: i64, path: &str, oflags: i64, rights: i64) -> Result<u32, Errno> {
        let [p, l] = self.str(PATH, path);
        match self.call("path_open", &[dir as i64, lookup, p, l, oflags, rights, ALL, 0, OUT as i64]) {
            Errno::Success => Ok(self.u32(OUT)),
            e => Err(e),
        }
    }

    fn write_fd(&mut self, fd: u32, data: &[u8]) -> Result<u32, Errno> {
        self.write(BUF, data);
        self.iovec(BUF, data.len() as u32);
        match self.call("fd_write", &[fd as i64, IOVS as i64, 1, OUT as i64]) {
            Errno::Success => Ok(self.u32(OUT)),
            e => Err(e),
        }
    }

    fn read_fd(&mut self, fd: u32, len: u32) -> Result<Vec<u8>, Errno> {
        self.iovec(BUF, len);
        match self.call("fd_read", &[fd as i64, IOVS as i64, 1, OUT as i64]) {
            Errno::Success => {
                let n = self.u32(OUT) as usize;
                Ok(self.read(BUF, n))
            }
            e => Err(e),
        }
    }

    /// `path_*(dir, path)` for the three one-path functions.
    fn path_op(&mut self, name: &str, dir: u32, path: &str) -> Errno {
        let [p, l] = self.str(PATH, path);
        self.call(name, &[dir as i64, p, l])
    }

    /// The names `fd_readdir` lists for `fd`, read with a buffer of `chunk`
    /// bytes, following cookies.
    fn list(&mut self, fd: u32, chunk: u32) -> Vec<(String, u8)> {
        let mut names = Vec::new();
        let mut cookie = 0u64;
        loop {
            assert_eq!(
                self.call("fd_readdir", &[fd as i64, BUF as i64, chunk as i64, cookie as i64, OUT as i64]),
                Errno::Success
            );
            let used = self.u32(OUT) as usize;
            let data = self.read(BUF, used);
            let mut at = 0;
            let mut progressed = false;
            while at + 24 <= used {
                let next = u64::from_le_bytes(data[at..at + 8].try_into().unwrap());
                let namlen = u32::from_le_bytes(data[at + 16..at + 20].try_into().unwrap()) as usize;
                let ty = data[at + 20];
                if at + 24 + namlen > used {
                    break;
                }
                names.push((String::from_utf8(data[at + 24..at + 24 + namlen].to_vec()).unwrap(), ty));
                cookie = next;
                progressed = true;
                at += 24 + namlen;
            }
            if used < chunk as usize {
                break;
            }
            assert!(progressed, "buffer of {chunk} bytes too small for one entry");
        }
        names
    }
}

/// A temporary directory holding `sandbox/` (preopened as "/sandbox") and,
/// beside it, `outside.txt` and `outside/`, which the guest must never
/// reach.
struct Tree {
    tmp: tempfile::TempDir,
}

impl Tree {
    fn new() -> Tree {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir(tmp.path().join("sandbox")).unwrap();
        std::fs::create_dir(tmp.path().join("outside")).unwrap();
        std::fs::write(tmp.path().join("outside.txt"), "host secret").unwrap();
        std::fs::write(tmp.path().join("outside/inner.txt"), "inner secret").unwrap();
        Tree { tmp }
    }

    fn sandbox(&self) -> std::path::PathBuf {
        self.tmp.path().join("sandbox")
    }

    fn guest(&self, perms: DirPerms) -> Guest {
        Guest::new(WasiCtxBuilder::new().preopened_dir(self.sandbox(), "/sandbox", perms).unwrap().build())
    }

    /// Everything outside the sandbox is as the test made it.
    fn assert_outside_untouched(&self) {
        let root = self.tmp.path();
        assert_eq!(std::fs::read_to_string(root.join("outside.txt")).unwrap(), "host secret");
        assert_eq!(std::fs::read_to_string(root.join("outside/inner.txt")).unwrap(), "inner secret");
        let mut top: Vec<String> =
            std::fs::read_dir(root).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        top.sort();
        assert_eq!(top, ["outside", "outside.txt", "sandbox"]);
        let inner: Vec<_> = std::fs::read_dir(root.join("outside")).unwrap().collect();
        assert_eq!(inner.len(), 1);
    }
}

const PREOPEN: u32 = 3;

// ---- arguments, environment, clocks, randomness, exit --------------------

#[test]
fn args_and_environment() {
    let mut g = Guest::new(
        WasiCtxBuilder::new().args(["plugin", "--flag"]).arg("ü").env("KEY", "value").envs([("A", "b=c")]).build(),
    );
    assert_eq!(g.call("args_sizes_get", &[OUT as i64, OUT as i64 + 4]), Errno::Success);
    assert_eq!((g.u32(OUT), g.u32(OUT + 4)), (3, 7 + 7 + 3));
    assert_eq!(g.call("args_get", &[PATH as i64, BUF as i64]), Errno::Success);
    let ptrs: Vec<u32> = (0..3).map(|i| g.u32(PATH + 4 * i)).collect();
    assert_eq!(ptrs, [BUF, BUF + 7, BUF + 14]);
    assert_eq!(g.read(BUF, 17), b"plugin\0--flag\0\xc3\xbc\0");
    // Exactly at the end of memory is still inside; one byte later is not.
    assert_eq!(g.call("args_get", &[PATH as i64, END as i64 - 17]), Errno::Success);
    assert_eq!(g.read(END - 17, 17), b"plugin\0--flag\0\xc3\xbc\0");
    assert_eq!(g.u32(PATH + 8), END - 3);
    assert_eq!(g.call("args_get", &[END as i64 - 12, BUF as i64]), Errno::Success);
    assert_eq!(g.u32(END - 4), BUF + 14);
    assert_eq!(g.call("args_get", &[END as i64 - 11, BUF as i64]), Errno::Fault);
    assert_eq!(g.call("args_get", &[PATH as i64, END as i64 - 16]), Errno::Fault);

    assert_eq!(g.call("environ_sizes_get", &[OUT as i64, OUT as i64 + 4]), Errno::Success);
    assert_eq!((g.u32(OUT), g.u32(OUT + 4)), (2, 10 + 6));
    assert_eq!(g.call("environ_get", &[PATH as i64, BUF as i64]), Errno::Success);
    assert_eq!(g.u32(PATH + 4), BUF + 10);
    assert_eq!(g.read(BUF, 16), b"KEY=value\0A=b=c\0");

    // Nothing by default; the host's own only when asked.
    let mut g = Guest::new(WasiCtxBuilder::new().build());
    assert_eq!(g.call("args_sizes_get", &[OUT as i64, OUT as i64 + 4]), Errno::Success);
    assert_eq!((g.u32(OUT), g.u32(OUT + 4)), (0, 0));
    assert_eq!(g.call("environ_sizes_get", &[OUT as i64, OUT as i64 + 4]), Errno::Success);
    assert_eq!((g.u32(OUT), g.u32(OUT + 4)), (0, 0));
    let mut g = Guest::new(WasiCtxBuilder::new().inherit_args().inherit_env().build());
    assert_eq!(g.call("args_sizes_get", &[OUT as i64, OUT as i64 + 4]), Errno::Success);
    assert_eq!(g.u32(OUT) as usize, std::env::args_os().count());
    assert_eq!(g.call("environ_sizes_get", &[OUT as i64, OUT as i64 + 4]), Errno::Success);
    assert_eq!(g.u32(OUT) as usize, std::env::vars_os().count());
}

#[test]
fn clocks_random_yield() {
    let mut g = Guest::new(WasiCtxBuilder::new().build());
    let host_now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
    assert_eq!(g.call("clock_time_get", &[0, 1, OUT as i64]), Errno::Success);
    let guest_now = g.u64(OUT);
    assert!(guest_now.abs_diff(host_now) < 5_000_000_000, "realtime {guest_now} vs host {host_now}");

    assert_eq!(g.call("clock_time_get", &[1, 1, OUT as i64]), Errno::Success);
    let t0 = g.u64(OUT);
    std::thread::sleep(std::time::Duration::from_millis(5));
    assert_eq!(g.call("clock_time_get", &[1, 1, OUT as i64]), Errno::Success);
    assert!(g.u64(OUT) >= t0 + 5_000_000, "monotonic clock advanced");

    for clock in [0, 1] {
        assert_eq!(g.call("clock_res_get", &[clock, OUT as i64]), Errno::Success);
        let res = g.u64(OUT);
        assert!((1..=1_000_000_000).contains(&res), "resolution {res}");
    }
    // CPU-time clocks and unknown clocks are not offered.
    for clock in [2, 3, 99] {
        assert_eq!(g.call("clock_time_get", &[clock, 1, OUT as i64]), Errno::Inval);
        assert_eq!(g.call("clock_res_get", &[clock, OUT as i64]), Errno::Inval);
    }

    assert_eq!(g.call("random_get", &[BUF as i64, 64]), Errno::Success);
    let a = g.read(BUF, 64);
    assert_eq!(g.call("random_get", &[BUF as i64, 64]), Errno::Success);
    let b = g.read(BUF, 64);
    assert_ne!(a, b);
    assert!(a.iter().any(|&x| x != 0));
    assert_eq!(g.call("random_get", &[BUF as i64, 0]), Errno::Success);

    assert_eq!(g.call("sched_yield", &[]), Errno::Success);
    assert_eq!(g.call("proc_raise", &[9]), Errno::Nosys);
    assert_eq!(g.call("sock_accept", &[1, 0, OUT as i64]), Errno::Notsock);
    assert_eq!(g.call("sock_shutdown", &[77, 0]), Errno::Badf);
}

/// Write one subscription (48 bytes) at `at`.
fn subscription(g: &mut Guest, at: u32, userdata: u64, tag: u8, word: u32, timeout: u64, flags: u16) {
    let mut s = [0u8; 48];
    s[0..8].copy_from_slice(&userdata.to_le_bytes());
    s[8] = tag;
    s[16..20].copy_from_slice(&word.to_le_bytes());
    s[24..32].copy_from_slice(&timeout.to_le_bytes());
    s[40..42].copy_from_slice(&flags.to_le_bytes());
    g.write(at, &s);
}

#[test]
fn poll_oneoff_sleeps_on_clocks_and_reports_ready_descriptors() {
    let mut g = Guest::new(WasiCtxBuilder::new().stdin("x").build());
    // Two relative timers: 20 ms and 10 s; only the first fires.
    subscription(&mut g, BUF, 7, 0, 1, 20_000_000, 0);
    subscription(&mut g, BUF + 48, 8, 0, 1, 10_000_000_000, 0);
    let start = std::time::Instant::now();
    assert_eq!(g.call("poll_oneoff", &[BUF as i64, 0x2000, 2, OUT as i64]), Errno::Success);
    let took = start.elapsed();
    assert!(took >= std::time::Duration::from_millis(20) && took < std::time::Duration::from_secs(5), "{took:?}");
    assert_eq!(g.u32(OUT), 1);
    assert_eq!(g.u64(0x2000), 7);
    assert_eq!(g.read(0x2000 + 8, 3), [0, 0, 0]); // no error, type clock

    // An absolute monotonic deadline in the past fires at once.
    subscription(&mut g, BUF, 9, 0, 1, 0, 1);
    assert_eq!(g.call("poll_oneoff", &[BUF as i64, 0x2000, 1, OUT as i64]), Errno::Success);
    assert_eq!((g.u32(OUT), g.u64(0x2000)), (1, 9));

    // A descriptor subscription is ready at once, and a bad fd is an event
    // with EBADF rather than a failed call.
    subscription(&mut g, BUF, 10, 1, 0, 0, 0);
    subscription(&mut g, BUF + 48, 11, 2, 99, 0, 0);
    subscription(&mut g, BUF + 96, 12, 0, 1, 10_000_000_000, 0);
    assert_eq!(g.call("poll_oneoff", &[BUF as i64, 0x2000, 3, OUT as i64]), Errno::Success);
    assert_eq!(g.u32(OUT), 2);
    assert_eq!((g.u64(0x2000), g.read(0x2000 + 8, 3)), (10, vec![0, 0, 1]));
    assert_eq!((g.u64(0x2020), g.read(0x2020 + 8, 3)), (11, vec![Errno::Badf as u8, 0, 2]));

    assert_eq!(g.call("poll_oneoff", &[BUF as i64, 0x2000, 0, OUT as i64]), Errno::Inval);
    subscription(&mut g, BUF, 1, 9, 0, 0, 0);
    assert_eq!(g.call("poll_oneoff", &[BUF as i64, 0x2000, 1, OUT as i64]), Errno::Inval);
}

#[test]
fn proc_exit_returns_the_code_to_the_host() {
    let mut g = Guest::new(WasiCtxBuilder::new().build());
    let exit = g.instance.get_typed_func::<i32, ()>(&mut g.store, "exit").unwrap();
    let err = exit.call(&mut g.store, 42).unwrap_err();
    assert_eq!(err.downcast_ref::<I32Exit>(), Some(&I32Exit(42)), "{err}");
    // The host process and the store go on.
    let err = exit.call(&mut g.store, 0).unwrap_err();
    assert_eq!(err.downcast_ref::<I32Exit>(), Some(&I32Exit(0)));
    assert_eq!(g.call("sched_yield", &[]), Errno::Success);
}

// ---- stdio -----------------------------------------------------------------

#[test]
fn stdio_is_captured_or_fed() {
    let (out, err) = (Pipe::new(), Pipe::new());
    let mut g =
        Guest::new(WasiCtxBuilder::new().stdin("line one\nrest").stdout(out.clone()).stderr(err.clone()).build());
    // Two iovecs in one fd_write.
    g.write(BUF, b"hello, world");
    let mut iovs = Vec::new();
    for (p, l) in [(BUF, 5u32), (BUF + 5, 7)] {
        iovs.extend_from_slice(&p.to_le_bytes());
        iovs.extend_from_slice(&l.to_le_bytes());
    }
    g.write(IOVS, &iovs);
    assert_eq!(g.call("fd_write", &[1, IOVS as i64, 2, OUT as i64]), Errno::Success);
    assert_eq!(g.u32(OUT), 12);
    assert_eq!(g.write_fd(2, b"oops").unwrap(), 4);
    assert_eq!(out.contents(), b"hello, world");
    assert_eq!(err.contents(), b"oops");

    assert_eq!(g.read_fd(0, 5).unwrap(), b"line ");
    assert_eq!(g.read_fd(0, 100).unwrap(), b"one\nrest");
    assert_eq!(g.read_fd(0, 100).unwrap(), b""); // end of file

    // Streams: no seeking, no writing stdin, no reading stdout.
    assert_eq!(g.call("fd_seek", &[1, 0, 0, OUT as i64]), Errno::Spipe);
    assert_eq!(g.call("fd_tell", &[0, OUT as i64]), Errno::Spipe);
    assert_eq!(g.write_fd(0, b"x"), Err(Errno::Notcapable));
    assert_eq!(g.read_fd(1, 1), Err(Errno::Notcapable));
    assert_eq!(g.call("fd_fdstat_get", &[1, OUT as i64]), Errno::Success);
    assert_eq!(g.read(OUT, 1), [0]); // a pipe: filetype unknown
    assert_eq!(g.u64(OUT + 8) & RIGHT_FD_WRITE as u64, RIGHT_FD_WRITE as u64);
    assert_eq!(g.call("fd_fdstat_set_flags", &[1, 4]), Errno::Success);
    assert_eq!(g.call("fd_fdstat_get", &[1, OUT as i64]), Errno::Success);
    assert_eq!(g.read(OUT + 2, 2), [4, 0]);
    assert_eq!(g.call("fd_filestat_get", &[1, OUT as i64]), Errno::Success);
    assert_eq!(g.read(OUT + 16, 1), [0]); // the same type as fdstat says

    // Default: empty stdin, discarded output; a bounded pipe refuses more.
    let small = Pipe::with_limit(3);
    let mut g = Guest::new(WasiCtxBuilder::new().stdout(small.clone()).build());
    assert_eq!(g.read_fd(0, 10).unwrap(), b"");
    assert_eq!(g.write_fd(2, b"dropped").unwrap(), 7);
    assert_eq!(g.write_fd(1, b"abcd"), Err(Errno::Nospc));
    assert_eq!(g.write_fd(1, b"abc").unwrap(), 3);
    assert_eq!(small.contents(), b"abc");
}

// ---- files and directories ---------------------------------------------------

#[test]
fn preopens_are_listed_then_ebadf() {
    let tree = Tree::new();
    let other = tempfile::tempdir().unwrap();
    let mut g = Guest::new(
        WasiCtxBuilder::new()
            .preopened_dir(tree.sandbox(), "/sandbox", DirPerms::ReadWrite)
            .unwrap()
            .preopened_dir(other.path(), ".", DirPerms::Read)
            .unwrap()
            .build(),
    );
    assert_eq!(g.call("fd_prestat_get", &[3, OUT as i64]), Errno::Success);
    assert_eq!((g.read(OUT, 1)[0], g.u32(OUT + 4)), (0, 8));
    assert_eq!(g.call("fd_prestat_dir_name", &[3, BUF as i64, 8]), Errno::Success);
    assert_eq!(g.read(BUF, 8), b"/sandbox");
    assert_eq!(g.call("fd_prestat_dir_name", &[3, BUF as i64, 4]), Errno::Nametoolong);
    assert_eq!(g.call("fd_prestat_get", &[4, OUT as i64]), Errno::Success);
    assert_eq!(g.u32(OUT + 4), 1);
    // wasi-libc and std scan upwards from 3 until EBADF.
    assert_eq!(g.call("fd_prestat_get", &[5, OUT as i64]), Errno::Badf);
    assert_eq!(g.call("fd_prestat_get", &[1, OUT as i64]), Errno::Badf);
    assert!(WasiCtxBuilder::new().preopened_dir(tree.tmp.path().join("missing"), "/x", DirPerms::Read).is_err());
}

#[test]
fn file_io_through_a_preopen() {
    let tree = Tree::new();
    let mut g = tree.guest(DirPerms::ReadWrite);
    let fd = g.open(PREOPEN, 0, "a.txt", OFLAG_CREAT | OFLAG_EXCL, ALL).unwrap();
    assert!(fd > PREOPEN);
    assert_eq!(g.write_fd(fd, b"hello world").unwrap(), 11);
    assert_eq!(std::fs::read(tree.sandbox().join("a.txt")).unwrap(), b"hello world");

    // Seek, tell, read.
    assert_eq!(g.call("fd_seek", &[fd as i64, 6, 0, OUT as i64]), Errno::Success);
    assert_eq!(g.u64(OUT), 6);
    assert_eq!(g.call("fd_tell", &[fd as i64, OUT as i64]), Errno::Success);
    assert_eq!(g.u64(OUT), 6);
    assert_eq!(g.read_fd(fd, 100).unwrap(), b"world");
    assert_eq!(g.call("fd_seek", &[fd as i64, -5, 2, OUT as i64]), Errno::Success);
    assert_eq!(g.u64(OUT), 6);
    assert_eq!(g.call("fd_seek", &[fd as i64, -1, 0, OUT as i64]), Errno::Inval);
    assert_eq!(g.call("fd_seek", &[fd as i64, 0, 7, OUT as i64]), Errno::Inval);

    // Positioned I/O leaves the cursor alone.
    g.write(BUF, b"HELLO");
    g.iovec(BUF, 5);
    assert_eq!(g.call("fd_pwrite", &[fd as i64, IOVS as i64, 1, 0, OUT as i64]), Errno::Success);
    assert_eq!(g.u32(OUT), 5);
    g.iovec(BUF + 100, 4);
    assert_eq!(g.call("fd_pread", &[fd as i64, IOVS as i64, 1, 3, OUT as i64]), Errno::Success);
    assert_eq!((g.u32(OUT), g.read(BUF + 100, 4)), (4, b"LO w".to_vec()));
    assert_eq!(g.call("fd_tell", &[fd as i64, OUT as i64]), Errno::Success);
    assert_eq!(g.u64(OUT), 6);

    // Stat, resize, times.
    assert_eq!(g.call("fd_filestat_get", &[fd as i64, BUF as i64]), Errno::Success);
    assert_eq!((g.read(BUF + 16, 1)[0], g.u64(BUF + 32), g.u64(BUF + 24)), (4, 11, 1));
    assert_eq!(g.call("fd_filestat_set_size", &[fd as i64, 5]), Errno::Success);
    assert_eq!(std::fs::read(tree.sandbox().join("a.txt")).unwrap(), b"HELLO");
    let mtime: i64 = 1_000_000_000 * 1_000_000_000 + 123_000; // 2001-09-09
    assert_eq!(g.call("fd_filestat_set_times", &[fd as i64, 0, mtime, 4]), Errno::Success);
    assert_eq!(g.call("fd_filestat_get", &[fd as i64, BUF as i64]), Errno::Success);
    assert_eq!(g.u64(BUF + 48), mtime as u64);
    let host_mtime = std::fs::metadata(tree.sandbox().join("a.txt")).unwrap().modified().unwrap();
    assert_eq!(host_mtime.duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos(), mtime as u128);
    assert_eq!(g.call("fd_filestat_set_times", &[fd as i64, 0, 0, 1 | 2]), Errno::Inval);
    assert_eq!(g.call("fd_filestat_set_times", &[fd as i64, 0, 0, 2 | 8]), Errno::Success);

    // Descriptor flags and rights.
    assert_eq!(g.call("fd_fdstat_get", &[fd as i64, BUF as i64]), Errno::Success);
    assert_eq!((g.read(BUF, 1)[0], g.read(BUF + 2, 2)), (4, vec![0, 0]));
    let rights = g.u64(BUF + 8);
    assert_eq!(rights & (RIGHT_FD_READ | RIGHT_FD_WRITE) as u64, (RIGHT_FD_READ | RIGHT_FD_WRITE) as u64);
    assert_eq!(g.call("fd_fdstat_set_flags", &[fd as i64, 1]), Errno::Success); // append
    assert_eq!(g.call("fd_fdstat_get", &[fd as i64, BUF as i64]), Errno::Success);
    assert_eq!(g.read(BUF + 2, 2), [1, 0]);
    assert_eq!(g.call("fd_seek", &[fd as i64, 0, 0, OUT as i64]), Errno::Success);
    g.write_fd(fd, b"!").unwrap();
    assert_eq!(std::fs::read(tree.sandbox().join("a.txt")).unwrap(), b"HELLO!");
    assert_eq!(g.call("fd_fdstat_set_flags", &[fd as i64, 16]), Errno::Notsup);

    assert_eq!(g.call("fd_advise", &[fd as i64, 0, 6, 1]), Errno::Success);
    assert_eq!(g.call("fd_advise", &[fd as i64, 0, 6, 6]), Errno::Inval);
    // Some filesystems cannot preallocate; then the guest is told so.
    match g.call("fd_allocate", &[fd as i64, 0, 4096]) {
        Errno::Success => assert!(std::fs::metadata(tree.sandbox().join("a.txt")).unwrap().len() >= 4096),
        e => assert_eq!(e, Errno::Notsup),
    }
    assert_eq!(g.call("fd_sync", &[fd as i64]), Errno::Success);
    assert_eq!(g.call("fd_datasync", &[fd as i64]), Errno::Success);
    assert_eq!(g.call("fd_sync", &[PREOPEN as i64]), Errno::Success);
    assert_eq!(g.call("fd_datasync", &[PREOPEN as i64]), Errno::Success);
    assert_eq!(g.call("fd_filestat_set_times", &[PREOPEN as i64, 0, mtime, 4]), Errno::Success);
    assert_eq!(g.call("fd_filestat_get", &[PREOPEN as i64, BUF as i64]), Errno::Success);
    assert_eq!((g.read(BUF + 16, 1)[0], g.u64(BUF + 48)), (3, mtime as u64));

    // Dropping rights sticks; gaining them is refused.
    assert_eq!(g.call("fd_fdstat_set_rights", &[fd as i64, RIGHT_FD_READ, 0]), Errno::Success);
    assert_eq!(g.write_fd(fd, b"x"), Err(Errno::Notcapable));
    assert_eq!(g.call("fd_fdstat_set_rights", &[fd as i64, RIGHT_FD_READ | RIGHT_FD_WRITE, 0]), Errno::Notcapable);

    // Renumber onto stdout's slot, then close.
    let fd2 = g.open(PREOPEN, 0, "a.txt", 0, RIGHT_FD_READ).unwrap();
    assert_eq!(g.call("fd_renumber", &[fd2 as i64, 1]), Errno::Success);
    assert_eq!(g.read_fd(1, 5).unwrap(), b"HELLO");
    assert_eq!(g.call("fd_close", &[fd2 as i64]), Errno::Badf);
    assert_eq!(g.call("fd_renumber", &[1, 50]), Errno::Badf);
    assert_eq!(g.call("fd_close", &[1]), Errno::Success);
    assert_eq!(g.call("fd_close", &[1]), Errno::Badf);
    assert_eq!(g.call("fd_close", &[fd as i64]), Errno::Success);

    // Open flags.
    assert_eq!(g.open(PREOPEN, 0, "a.txt", OFLAG_CREAT | OFLAG_EXCL, ALL), Err(Errno::Exist));
    assert_eq!(g.open(PREOPEN, 0, "missing", 0, ALL), Err(Errno::Noent));
    let fd = g.open(PREOPEN, 0, "a.txt", OFLAG_TRUNC, ALL).unwrap();
    assert_eq!(std::fs::metadata(tree.sandbox().join("a.txt")).unwrap().len(), 0);
    assert_eq!(g.open(PREOPEN, 0, "a.txt", OFLAG_DIRECTORY, ALL), Err(Errno::Notdir));
    assert_eq!(g.open(PREOPEN, 0, "a.txt", 16, ALL), Err(Errno::Inval));
    // A file is not a directory to open paths under.
    assert_eq!(g.open(fd, 0, "x", 0, ALL), Err(Errno::Notdir));
    // A directory is not a file to read.
    assert_eq!(g.read_fd(PREOPEN, 4), Err(Errno::Isdir));
}

#[test]
fn directories_hard_links_and_listing() {
    let tree = Tree::new();
    let mut g = tree.guest(DirPerms::ReadWrite);
    assert_eq!(g.path_op("path_create_directory", PREOPEN, "sub"), Errno::Success);
    assert_eq!(g.path_op("path_create_directory", PREOPEN, "sub"), Errno::Exist);
    let sub = g.open(PREOPEN, 0, "sub", OFLAG_DIRECTORY, ALL).unwrap();
    let f = g.open(sub, 0, "inner.txt", OFLAG_CREAT, ALL).unwrap();
    g.write_fd(f, b"inside").unwrap();
    assert_eq!(std::fs::read(tree.sandbox().join("sub/inner.txt")).unwrap(), b"inside");
    // Opening a directory without O_DIRECTORY gives a directory descriptor too.
    let sub2 = g.open(PREOPEN, 0, "sub", 0, RIGHT_FD_READ | 1 << 13 | 1 << 14).unwrap();
    assert_eq!(g.open(PREOPEN, 0, "sub", 0, ALL), Err(Errno::Isdir), "a directory cannot be opened for writing");
    assert_eq!(g.call("fd_fdstat_get", &[sub2 as i64, BUF as i64]), Errno::Success);
    assert_eq!(g.read(BUF, 1)[0], 3);
    assert_eq!(g.open(sub2, 0, "inner.txt", 0, RIGHT_FD_READ).map(drop), Ok(()));

    // Rename and hard link (symbolic links: `symbolic_links`).
    let [o, ol] = g.str(PATH, "sub/inner.txt");
    let [n, nl] = g.str(PATH2, "moved.txt");
    assert_eq!(g.call("path_rename", &[PREOPEN as i64, o, ol, PREOPEN as i64, n, nl]), Errno::Success);
    assert_eq!(std::fs::read(tree.sandbox().join("moved.txt")).unwrap(), b"inside");
    let [o, ol] = g.str(PATH, "moved.txt");
    let [n, nl] = g.str(PATH2, "hard.txt");
    assert_eq!(g.call("path_link", &[PREOPEN as i64, 0, o, ol, PREOPEN as i64, n, nl]), Errno::Success);
    assert_eq!(std::fs::read(tree.sandbox().join("hard.txt")).unwrap(), b"inside");
    let [p, l] = g.str(PATH, "hard.txt");
    let atime: i64 = 1_500_000_000_000_000_000;
    assert_eq!(g.call("path_filestat_set_times", &[PREOPEN as i64, FOLLOW, p, l, atime, 0, 1]), Errno::Success);
    assert_eq!(g.call("path_filestat_get", &[PREOPEN as i64, FOLLOW, p, l, BUF as i64]), Errno::Success);
    assert_eq!(g.u64(BUF + 40), atime as u64);
    assert_eq!(g.call("path_filestat_set_times", &[PREOPEN as i64, 0, p, l, 0, 0, 8]), Errno::Success);

    // Listing: ".", "..", and every entry with its type, whatever the buffer size.
    let mut names = g.list(PREOPEN, 4096);
    names.sort();
    let want = [(".", 3), ("..", 3), ("hard.txt", 4), ("moved.txt", 4), ("sub", 3)];
    assert_eq!(names, want.iter().map(|(n, t)| (n.to_string(), *t as u8)).collect::<Vec<_>>());
    let mut small = g.list(PREOPEN, 40);
    small.sort();
    assert_eq!(small, names);
    assert_eq!(g.list(sub, 4096).len(), 2);
    // A listing from cookie 0 reads the directory again.
    std::fs::write(tree.sandbox().join("late.txt"), "").unwrap();
    assert!(g.list(PREOPEN, 40).contains(&("late.txt".to_string(), 4)));
    std::fs::remove_file(tree.sandbox().join("late.txt")).unwrap();
    // A cookie past the end lists nothing.
    assert_eq!(g.call("fd_readdir", &[PREOPEN as i64, BUF as i64, 4096, 1000, OUT as i64]), Errno::Success);
    assert_eq!(g.u32(OUT), 0);

    // Removal. (Closed first: Windows refuses to remove a directory that is
    // open, which cap-std holds without FILE_SHARE_DELETE.)
    for fd in [sub, sub2] {
        assert_eq!(g.call("fd_close", &[fd as i64]), Errno::Success);
    }
    std::fs::write(tree.sandbox().join("sub/keep"), "x").unwrap();
    assert_eq!(g.path_op("path_remove_directory", PREOPEN, "sub"), Errno::Notempty);
    assert_eq!(g.path_op("path_unlink_file", PREOPEN, "sub/keep"), Errno::Success);
    assert_eq!(g.path_op("path_remove_directory", PREOPEN, "sub"), Errno::Success);
    assert_eq!(g.path_op("path_unlink_file", PREOPEN, "missing"), Errno::Noent);
    assert_eq!(g.path_op("path_remove_directory", PREOPEN, "hard.txt"), Errno::Notdir);
    tree.assert_outside_untouched();
}

/// Symbolic links the guest makes, read back, followed and not. (Unix:
/// creating them on Windows needs a privilege, and Wine only pretends.)
#[cfg(unix)]
#[test]
fn symbolic_links() {
    let tree = Tree::new();
    std::fs::write(tree.sandbox().join("moved.txt"), "inside").unwrap();
    let mut g = tree.guest(DirPerms::ReadWrite);
    let [o, ol] = g.str(PATH, "moved.txt");
    let [n, nl] = g.str(PATH2, "soft");
    assert_eq!(g.call("path_symlink", &[o, ol, PREOPEN as i64, n, nl]), Errno::Success);
    let [p, l] = g.str(PATH, "soft");
    assert_eq!(g.call("path_readlink", &[PREOPEN as i64, p, l, BUF as i64, 64, OUT as i64]), Errno::Success);
    let n = g.u32(OUT) as usize;
    assert_eq!(g.read(BUF, n), b"moved.txt");
    assert_eq!(g.call("path_readlink", &[PREOPEN as i64, p, l, BUF as i64, 5, OUT as i64]), Errno::Success);
    assert_eq!(g.u32(OUT), 5); // truncated to the buffer
    let fd = g.open(PREOPEN, FOLLOW, "soft", 0, RIGHT_FD_READ).unwrap();
    assert_eq!(g.read_fd(fd, 10).unwrap(), b"inside");
    assert_eq!(g.open(PREOPEN, 0, "soft", 0, RIGHT_FD_READ), Err(Errno::Loop));

    // Stat by path, with and without following.
    let [p, l] = g.str(PATH, "soft");
    assert_eq!(g.call("path_filestat_get", &[PREOPEN as i64, 0, p, l, BUF as i64]), Errno::Success);
    assert_eq!(g.read(BUF + 16, 1)[0], 7);
    assert_eq!(g.call("path_filestat_get", &[PREOPEN as i64, FOLLOW, p, l, BUF as i64]), Errno::Success);
    assert_eq!((g.read(BUF + 16, 1)[0], g.u64(BUF + 32), g.u64(BUF + 24)), (4, 6, 1));
    let mut names = g.list(PREOPEN, 4096);
    names.sort();
    let want = [(".", 3), ("..", 3), ("moved.txt", 4), ("soft", 7)];
    assert_eq!(names, want.iter().map(|(n, t)| (n.to_string(), *t as u8)).collect::<Vec<_>>());
    assert_eq!(g.path_op("path_unlink_file", PREOPEN, "soft"), Errno::Success);
    assert!(tree.sandbox().join("moved.txt").exists(), "unlinking a symlink leaves its target");
    tree.assert_outside_untouched();
}

#[test]
fn read_only_preopen_refuses_every_change() {
    let tree = Tree::new();
    std::fs::write(tree.sandbox().join("data.txt"), "read me").unwrap();
    std::fs::create_dir(tree.sandbox().join("dir")).unwrap();
    let mut g = tree.guest(DirPerms::Read);

    // Reading works.
    let fd = g.open(PREOPEN, 0, "data.txt", 0, ALL & !RIGHT_FD_WRITE).unwrap();
    assert_eq!(g.read_fd(fd, 100).unwrap(), b"read me");
    assert_eq!(g.list(PREOPEN, 4096).len(), 4);
    // A file opened read-only cannot be written, resized or retimed.
    assert_eq!(g.write_fd(fd, b"x"), Err(Errno::Notcapable));
    assert_eq!(g.call("fd_filestat_set_size", &[fd as i64, 0]), Errno::Notcapable);
    assert_eq!(g.call("fd_filestat_set_times", &[fd as i64, 0, 0, 2]), Errno::Notcapable);
    assert_eq!(g.call("fd_allocate", &[fd as i64, 0, 100]), Errno::Notcapable);
    g.iovec(BUF, 1);
    assert_eq!(g.call("fd_pwrite", &[fd as i64, IOVS as i64, 1, 0, OUT as i64]), Errno::Notcapable);

    // Every way to change the tree is refused.
    assert_eq!(g.open(PREOPEN, 0, "data.txt", 0, ALL), Err(Errno::Notcapable));
    assert_eq!(g.open(PREOPEN, 0, "new.txt", OFLAG_CREAT, RIGHT_FD_READ), Err(Errno::Notcapable));
    assert_eq!(g.open(PREOPEN, 0, "data.txt", OFLAG_TRUNC, RIGHT_FD_READ), Err(Errno::Notcapable));
    assert_eq!(g.path_op("path_create_directory", PREOPEN, "new"), Errno::Notcapable);
    assert_eq!(g.path_op("path_remove_directory", PREOPEN, "dir"), Errno::Notcapable);
    assert_eq!(g.path_op("path_unlink_file", PREOPEN, "data.txt"), Errno::Notcapable);
    let [o, ol] = g.str(PATH, "data.txt");
    let [n, nl] = g.str(PATH2, "renamed.txt");
    assert_eq!(g.call("path_rename", &[PREOPEN as i64, o, ol, PREOPEN as i64, n, nl]), Errno::Notcapable);
    assert_eq!(g.call("path_link", &[PREOPEN as i64, 0, o, ol, PREOPEN as i64, n, nl]), Errno::Notcapable);
    assert_eq!(g.call("path_symlink", &[o, ol, PREOPEN as i64, n, nl]), Errno::Notcapable);
    assert_eq!(g.call("path_filestat_set_times", &[PREOPEN as i64, 0, o, ol, 0, 0, 2]), Errno::Notcapable);
    // Directories opened below inherit the restriction.
    let dir = g.open(PREOPEN, 0, "dir", OFLAG_DIRECTORY, ALL & !RIGHT_FD_WRITE).unwrap();
    assert_eq!(g.open(dir, 0, "new.txt", OFLAG_CREAT, ALL), Err(Errno::Notcapable));
    assert_eq!(g.path_op("path_create_directory", dir, "new"), Errno::Notcapable);

    assert_eq!(std::fs::read_to_string(tree.sandbox().join("data.txt")).unwrap(), "read me");
    let mut names: Vec<_> = std::fs::read_dir(tree.sandbox()).unwrap().map(|e| e.unwrap().file_name()).collect();
    names.sort();
    assert_eq!(names, ["data.txt", "dir"]);
    assert!(std::fs::read_dir(tree.sandbox().join("dir")).unwrap().next().is_none());
}

// ---- escape-the-sandbox suite ---------------------------------------------------
//
// Every attempt below must be refused with the errno named, and the host
// must be unharmed: the files outside the sandbox are unchanged, no call
// fails in the host, and the same store keeps working afterwards.

/// Refusals for leaving the sandbox: cap-std reports escapes as
/// ENOTCAPABLE; the OS may say EPERM/EACCES/ELOOP first for some shapes.
fn refused(e: Errno) -> bool {
    matches!(e, Errno::Notcapable | Errno::Perm | Errno::Acces | Errno::Loop)
}

#[test]
fn escape_by_dot_dot_and_absolute_paths() {
    let tree = Tree::new();
    std::fs::create_dir(tree.sandbox().join("sub")).unwrap();
    let mut g = tree.guest(DirPerms::ReadWrite);
    let host_abs = tree.tmp.path().join("outside.txt").display().to_string();
    for path in [
        "../outside.txt",
        "sub/../../outside.txt",
        "./../outside.txt",
        "sub/../sub/../../outside.txt",
        "..",
        "../outside",
        "/etc/passwd",
        "/",
        host_abs.as_str(),
        "//etc/passwd",
    ] {
        for lookup in [0, FOLLOW] {
            for oflags in [0, OFLAG_DIRECTORY, OFLAG_CREAT] {
                let r = g.open(PREOPEN, lookup, path, oflags, ALL);
                assert!(
                    matches!(r, Err(e) if refused(e) || e == Errno::Inval),
                    "path_open({path:?}, {oflags}) = {r:?}"
                );
            }
        }
        let [p, l] = g.str(PATH, path);
        assert_eq!(
            g.call("path_filestat_get", &[PREOPEN as i64, FOLLOW, p, l, BUF as i64]),
            Errno::Notcapable,
            "stat {path}"
        );
    }
    // Exactly ENOTCAPABLE for the plain shapes.
    assert_eq!(g.open(PREOPEN, 0, "../outside.txt", 0, RIGHT_FD_READ), Err(Errno::Notcapable));
    assert_eq!(g.open(PREOPEN, 0, "/etc/passwd", 0, RIGHT_FD_READ), Err(Errno::Notcapable));
    assert_eq!(g.open(PREOPEN, 0, &host_abs, 0, RIGHT_FD_READ), Err(Errno::Notcapable));

    // Changing things outside, through every path function. The absolute
    // target is in the host's temp dir, so a successful escape would show.
    let escape = std::env::temp_dir().join(format!("kiln-wasi-escape-{}", std::process::id()));
    let escape = escape.to_str().expect("temp dir is UTF-8").to_string();
    for (name, path) in [
        ("path_create_directory", "../made"),
        ("path_create_directory", escape.as_str()),
        ("path_remove_directory", "../outside"),
        ("path_remove_directory", ".."),
        ("path_unlink_file", "../outside.txt"),
        ("path_unlink_file", "sub/../../outside/inner.txt"),
    ] {
        let e = g.path_op(name, PREOPEN, path);
        assert!(refused(e), "{name}({path:?}) = {e:?}");
    }
    for (from, to) in [("../outside.txt", "stolen.txt"), ("sub", "../sub"), ("sub", escape.as_str())] {
        let [o, ol] = g.str(PATH, from);
        let [n, nl] = g.str(PATH2, to);
        let e = g.call("path_rename", &[PREOPEN as i64, o, ol, PREOPEN as i64, n, nl]);
        assert!(refused(e), "rename {from} -> {to} = {e:?}");
        let e = g.call("path_link", &[PREOPEN as i64, 0, o, ol, PREOPEN as i64, n, nl]);
        assert!(refused(e) || e == Errno::Perm, "link {from} -> {to} = {e:?}");
    }
    let [p, l] = g.str(PATH, "../outside.txt");
    assert!(refused(g.call("path_filestat_set_times", &[PREOPEN as i64, FOLLOW, p, l, 0, 0, 2 | 8])));
    assert!(refused(g.call("path_readlink", &[PREOPEN as i64, p, l, BUF as i64, 64, OUT as i64])));
    assert!(!Path::new(&escape).exists());
    tree.assert_outside_untouched();
    assert!(tree.sandbox().join("sub").is_dir());
}

// Symlinks planted by the host; Windows has its own test below.
#[cfg(unix)]
#[test]
fn escape_by_symlinks() {
    let tree = Tree::new();
    let root = tree.tmp.path();
    let sb = tree.sandbox();
    // Planted by the host: links inside the sandbox pointing out of it.
    std::os::unix::fs::symlink(root.join("outside.txt"), sb.join("abs_file")).unwrap();
    std::os::unix::fs::symlink("../outside.txt", sb.join("rel_file")).unwrap();
    std::os::unix::fs::symlink(root.join("outside"), sb.join("abs_dir")).unwrap();
    std::os::unix::fs::symlink("../outside", sb.join("rel_dir")).unwrap();
    std::os::unix::fs::symlink("/etc", sb.join("etc")).unwrap();
    std::fs::create_dir(sb.join("deep")).unwrap();
    std::os::unix::fs::symlink("../../outside.txt", sb.join("deep/up2")).unwrap();
    std::os::unix::fs::symlink("loop2", sb.join("loop1")).unwrap();
    std::os::unix::fs::symlink("loop1", sb.join("loop2")).unwrap();
    // Dangling links whose targets would be created outside.
    std::os::unix::fs::symlink("../created.txt", sb.join("dangle_rel")).unwrap();
    std::os::unix::fs::symlink(root.join("created.txt"), sb.join("dangle_abs")).unwrap();
    std::os::unix::fs::symlink("../created_dir", sb.join("dangle_dir")).unwrap();
    let mut g = tree.guest(DirPerms::ReadWrite);

    for path in [
        "abs_file",
        "rel_file",
        "deep/up2",
        "abs_dir/inner.txt",
        "rel_dir/inner.txt",
        "etc/passwd",
        "rel_dir/../outside.txt",
    ] {
        for oflags in [0, OFLAG_CREAT, OFLAG_TRUNC] {
            let r = g.open(PREOPEN, FOLLOW, path, oflags, ALL);
            assert!(matches!(r, Err(e) if refused(e)), "open({path:?}, follow, {oflags}) = {r:?}");
        }
        let [p, l] = g.str(PATH, path);
        let e = g.call("path_filestat_get", &[PREOPEN as i64, FOLLOW, p, l, BUF as i64]);
        assert!(refused(e), "stat {path} = {e:?}");
        let e = g.call("path_filestat_set_times", &[PREOPEN as i64, FOLLOW, p, l, 0, 0, 2 | 8]);
        assert!(refused(e), "utimes {path} = {e:?}");
    }
    // Without following, the final link itself is refused as a file (ELOOP),
    // and intermediate links still never leave.
    assert_eq!(g.open(PREOPEN, 0, "abs_file", 0, RIGHT_FD_READ), Err(Errno::Loop));
    assert!(refused(g.open(PREOPEN, 0, "abs_dir/inner.txt", 0, RIGHT_FD_READ).unwrap_err()));
    assert!(refused(g.open(PREOPEN, FOLLOW, "abs_dir", OFLAG_DIRECTORY, ALL).unwrap_err()));
    assert!(refused(g.open(PREOPEN, FOLLOW, "rel_dir", OFLAG_DIRECTORY, ALL).unwrap_err()));
    assert!(refused(g.open(PREOPEN, FOLLOW, "loop1", 0, ALL).unwrap_err()));
    // Writing through a link that leads out.
    for (name, path) in [
        ("path_create_directory", "rel_dir/made"),
        ("path_create_directory", "abs_dir/made"),
        ("path_unlink_file", "rel_dir/inner.txt"),
        ("path_unlink_file", "abs_dir/inner.txt"),
        ("path_remove_directory", "rel_dir/."),
    ] {
        let e = g.path_op(name, PREOPEN, path);
        assert!(refused(e) || e == Errno::Inval, "{name}({path:?}) = {e:?}");
    }
    let [o, ol] = g.str(PATH, "abs_dir/inner.txt");
    let [n, nl] = g.str(PATH2, "got.txt");
    assert!(refused(g.call("path_rename", &[PREOPEN as i64, o, ol, PREOPEN as i64, n, nl])));
    // Stat without following sees the links themselves; unlinking a link
    // removes only the link.
    let [p, l] = g.str(PATH, "abs_file");
    assert_eq!(g.call("path_filestat_get", &[PREOPEN as i64, 0, p, l, BUF as i64]), Errno::Success);
    assert_eq!(g.read(BUF + 16, 1)[0], 7);
    assert_eq!(g.path_op("path_unlink_file", PREOPEN, "abs_file"), Errno::Success);

    // Links the guest makes: absolute targets are refused outright;
    // relative ones leading out can be made but never followed.
    let [o, ol] = g.str(PATH, "/etc/passwd");
    let [n, nl] = g.str(PATH2, "mine");
    assert!(refused(g.call("path_symlink", &[o, ol, PREOPEN as i64, n, nl])));
    let [o, ol] = g.str(PATH, "../outside.txt");
    let [n, nl] = g.str(PATH2, "mine2");
    let e = g.call("path_symlink", &[o, ol, PREOPEN as i64, n, nl]);
    assert!(e == Errno::Success || refused(e), "{e:?}");
    assert!(refused(g.open(PREOPEN, FOLLOW, "mine2", 0, ALL).unwrap_err()));
    assert!(g.open(PREOPEN, FOLLOW, "mine", 0, ALL).is_err());
    // Symlink placed via `..` in the link path.
    let [o, ol] = g.str(PATH, "sandbox");
    let [n, nl] = g.str(PATH2, "../planted");
    assert!(refused(g.call("path_symlink", &[o, ol, PREOPEN as i64, n, nl])));
    assert!(!root.join("planted").exists());

    // Creating through a dangling link must not create its target outside,
    // with or without following.
    for path in ["dangle_rel", "dangle_abs", "dangle_dir/x"] {
        for lookup in [0, FOLLOW] {
            for oflags in [OFLAG_CREAT, OFLAG_CREAT | OFLAG_EXCL, OFLAG_CREAT | OFLAG_TRUNC] {
                let r = g.open(PREOPEN, lookup, path, oflags, ALL);
                // Following: refused as an escape. Not following: the link
                // itself is in the way (ELOOP). With O_EXCL the link's mere
                // existence is EEXIST either way, as POSIX says.
                let ok = match r {
                    Err(Errno::Exist) if oflags & OFLAG_EXCL != 0 => true,
                    Err(e) if lookup == FOLLOW => e == Errno::Notcapable,
                    Err(e) => refused(e) || e == Errno::Exist,
                    Ok(_) => false,
                };
                assert!(ok, "open({path:?}, {lookup}, {oflags}) = {r:?}");
            }
        }
    }
    assert!(refused(g.path_op("path_create_directory", PREOPEN, "dangle_dir/sub")));
    assert_eq!(g.path_op("path_create_directory", PREOPEN, "dangle_dir"), Errno::Exist);
    // Renaming over a link replaces the link, never its target.
    std::fs::write(sb.join("plain.txt"), "plain").unwrap();
    let [o, ol] = g.str(PATH, "plain.txt");
    let [n, nl] = g.str(PATH2, "rel_file");
    assert_eq!(g.call("path_rename", &[PREOPEN as i64, o, ol, PREOPEN as i64, n, nl]), Errno::Success);
    assert_eq!(std::fs::read_to_string(sb.join("rel_file")).unwrap(), "plain");

    tree.assert_outside_untouched();
}

#[test]
fn bad_pointers_and_huge_lengths_are_efault() {
    let tree = Tree::new();
    std::fs::write(tree.sandbox().join("f.txt"), "0123456789").unwrap();
    let out = Pipe::new();
    let mut g = Guest::new(
        WasiCtxBuilder::new()
            .args(["a", "b"])
            .env("K", "V")
            .stdin("unread")
            .stdout(out.clone())
            .preopened_dir(tree.sandbox(), "/sandbox", DirPerms::ReadWrite)
            .unwrap()
            .build(),
    );
    let fd = g.open(PREOPEN, 0, "f.txt", 0, ALL).unwrap() as i64;
    let end = END as i64;
    let huge = u32::MAX as i64;
    let pre = PREOPEN as i64;
    // (function, arguments) that each put a pointer or a length out of range.
    let cases: Vec<(&str, Vec<i64>)> = vec![
        ("args_sizes_get", vec![end - 2, 0]),
        ("args_sizes_get", vec![0, -1]),
        ("args_get", vec![end - 4, BUF as i64]),
        ("args_get", vec![BUF as i64, end - 3]),
        ("environ_sizes_get", vec![huge, 0]),
        ("environ_get", vec![0, end]),
        ("clock_time_get", vec![0, 0, end - 7]),
        ("clock_time_get", vec![1, 0, -1]),
        ("clock_res_get", vec![0, end]),
        ("random_get", vec![BUF as i64, huge]),
        ("random_get", vec![end - 10, 11]),
        ("random_get", vec![huge, 1]),
        ("poll_oneoff", vec![BUF as i64, 0x2000, 0x1000_0000, OUT as i64]),
        ("poll_oneoff", vec![end - 47, 0x2000, 1, OUT as i64]),
        ("poll_oneoff", vec![BUF as i64, end - 31, 1, OUT as i64]),
        ("fd_write", vec![1, end - 4, 1, OUT as i64]),
        ("fd_write", vec![1, IOVS as i64, 0x2000_0000, OUT as i64]),
        ("fd_write", vec![1, IOVS as i64, huge, OUT as i64]),
        ("fd_write", vec![1, IOVS as i64, 1, end - 3]),
        ("fd_read", vec![0, IOVS as i64, 1, end]),
        ("fd_pread", vec![fd, IOVS as i64, 1, 0, -1]),
        ("fd_pwrite", vec![fd, IOVS as i64, 1, 0, end]),
        ("fd_seek", vec![fd, 0, 0, end - 4]),
        ("fd_tell", vec![fd, huge]),
        ("fd_fdstat_get", vec![fd, end - 23]),
        ("fd_filestat_get", vec![fd, end - 63]),
        ("fd_prestat_get", vec![pre, end - 7]),
        ("fd_prestat_dir_name", vec![pre, end - 7, 8]),
        ("fd_prestat_dir_name", vec![pre, BUF as i64, huge]),
        ("fd_readdir", vec![pre, BUF as i64, huge, 0, OUT as i64]),
        ("fd_readdir", vec![pre, end - 10, 11, 0, OUT as i64]),
        ("fd_readdir", vec![pre, BUF as i64, 100, 0, end]),
        ("path_open", vec![pre, 0, end - 2, 5, 0, ALL, ALL, 0, OUT as i64]),
        ("path_open", vec![pre, 0, huge, huge, 0, ALL, ALL, 0, OUT as i64]),
        ("path_open", vec![pre, 0, PATH as i64, huge, 0, ALL, ALL, 0, OUT as i64]),
        ("path_create_directory", vec![pre, end, 1]),
        ("path_remove_directory", vec![pre, 0, huge]),
        ("path_unlink_file", vec![pre, huge, 2]),
        ("path_filestat_get", vec![pre, 0, PATH as i64, 5, end - 1]),
        ("path_filestat_set_times", vec![pre, 0, end - 1, 2, 0, 0, 2]),
        ("path_readlink", vec![pre, PATH as i64, 1, BUF as i64, huge, OUT as i64]),
        ("path_readlink", vec![pre, PATH as i64, 1, BUF as i64, 8, end]),
        ("path_rename", vec![pre, end, 1, pre, PATH2 as i64, 1]),
        ("path_rename", vec![pre, PATH as i64, 1, pre, huge, huge]),
        ("path_link", vec![pre, 0, PATH as i64, 1, pre, end - 1, 2]),
        ("path_symlink", vec![end - 1, 5, pre, PATH2 as i64, 1]),
    ];
    // Buffers the iovecs point at: one huge, one past the end.
    for (iov_ptr, iov_len) in [(BUF, u32::MAX), (END - 4, 5), (u32::MAX, 1)] {
        g.iovec(iov_ptr, iov_len);
        for (name, args) in [
            ("fd_write", vec![1, IOVS as i64, 1, OUT as i64]),
            ("fd_read", vec![0, IOVS as i64, 1, OUT as i64]),
            ("fd_pread", vec![fd, IOVS as i64, 1, 0, OUT as i64]),
            ("fd_pwrite", vec![fd, IOVS as i64, 1, 0, OUT as i64]),
        ] {
            assert_eq!(g.call(name, &args), Errno::Fault, "{name} with iovec ({iov_ptr:#x}, {iov_len:#x})");
        }
    }
    g.str(PATH, "f.txt");
    g.iovec(BUF, 4);
    for (name, args) in &cases {
        assert_eq!(g.call(name, args), Errno::Fault, "{name}{args:x?}");
    }
    // Nothing happened on the way to those errors: no output, no input
    // consumed, no file created, no descriptor leaked.
    assert_eq!(out.contents(), b"");
    assert_eq!(g.read_fd(0, 100).unwrap(), b"unread");
    assert_eq!(std::fs::read_to_string(tree.sandbox().join("f.txt")).unwrap(), "0123456789");
    let [p, l] = g.str(PATH, "created.txt");
    assert_eq!(g.call("path_open", &[pre, 0, p, l, OFLAG_CREAT, ALL, ALL, 0, end - 3]), Errno::Fault);
    assert!(!tree.sandbox().join("created.txt").exists());
    assert_eq!(g.call("fd_prestat_get", &[fd + 1, OUT as i64]), Errno::Badf, "no descriptor was leaked");

    // Paths that are not UTF-8 or hold a NUL.
    g.write(PATH, b"\xff\xfe");
    assert_eq!(g.call("path_open", &[pre, 0, PATH as i64, 2, 0, ALL, ALL, 0, OUT as i64]), Errno::Ilseq);
    g.write(PATH, b"f.txt\0../x");
    assert_eq!(g.call("path_open", &[pre, 0, PATH as i64, 10, 0, ALL, ALL, 0, OUT as i64]), Errno::Inval);

    // Offsets and sizes beyond what a file can be.
    g.iovec(BUF, 4);
    assert_eq!(g.call("fd_pwrite", &[fd, IOVS as i64, 1, -1, OUT as i64]), Errno::Inval);
    assert_eq!(g.call("fd_pwrite", &[fd, IOVS as i64, 1, i64::MAX - 1, OUT as i64]), Errno::Inval);
    assert_eq!(g.call("fd_allocate", &[fd, -1, 10]), Errno::Inval);
    assert_eq!(g.call("fd_allocate", &[fd, i64::MAX, i64::MAX]), Errno::Inval);
    assert_eq!(g.call("fd_advise", &[fd, -1, -1, 0]), Errno::Inval);
    assert_eq!(g.call("fd_filestat_set_size", &[fd, -1]), Errno::Inval);
    assert_eq!(g.call("fd_seek", &[fd, i64::MIN, 1, OUT as i64]), Errno::Inval);
    assert_eq!(g.call("clock_time_get", &[0, -1, OUT as i64]), Errno::Success);
    // The largest timestamps: set (possibly clamped by the filesystem) or refused.
    let e = g.call("fd_filestat_set_times", &[fd, -1, -1, 1 | 4]);
    assert!(matches!(e, Errno::Success | Errno::Inval | Errno::Overflow), "{e:?}");
    assert_eq!(std::fs::read_to_string(tree.sandbox().join("f.txt")).unwrap(), "0123456789");

    // Large but valid: the whole memory in one read of a short file.
    g.iovec(0, END);
    assert_eq!(g.call("fd_pread", &[fd, IOVS as i64, 1, 0, OUT as i64]), Errno::Success);
    assert_eq!(g.u32(OUT), 10);
    tree.assert_outside_untouched();
}

#[test]
fn bad_descriptors_are_ebadf() {
    let tree = Tree::new();
    std::fs::write(tree.sandbox().join("f.txt"), "x").unwrap();
    let mut g = tree.guest(DirPerms::ReadWrite);
    let file = g.open(PREOPEN, 0, "f.txt", 0, ALL).unwrap() as i64;
    for fd in [4 + 100, -1, i32::MAX as i64, 1 << 20] {
        assert_eq!(g.write_fd(fd as u32, b"x"), Err(Errno::Badf));
        assert_eq!(g.read_fd(fd as u32, 1), Err(Errno::Badf));
        assert_eq!(g.open(fd as u32, 0, "f.txt", 0, ALL), Err(Errno::Badf));
        for name in ["fd_close", "fd_sync", "fd_datasync"] {
            assert_eq!(g.call(name, &[fd]), Errno::Badf, "{name}({fd})");
        }
        for name in ["fd_fdstat_get", "fd_filestat_get", "fd_prestat_get", "fd_tell"] {
            assert_eq!(g.call(name, &[fd, OUT as i64]), Errno::Badf, "{name}({fd})");
        }
        assert_eq!(g.call("fd_seek", &[fd, 0, 0, OUT as i64]), Errno::Badf);
        assert_eq!(g.call("fd_renumber", &[fd, 1]), Errno::Badf);
        assert_eq!(g.call("fd_renumber", &[1, fd]), Errno::Badf);
        assert_eq!(g.call("fd_readdir", &[fd, BUF as i64, 100, 0, OUT as i64]), Errno::Badf);
        assert_eq!(g.path_op("path_create_directory", fd as u32, "d"), Errno::Badf);
        assert_eq!(g.call("fd_filestat_set_size", &[fd, 0]), Errno::Badf);
        assert_eq!(g.call("fd_fdstat_set_flags", &[fd, 0]), Errno::Badf);
    }
    // The wrong kind of descriptor.
    assert_eq!(g.path_op("path_create_directory", file as u32, "d"), Errno::Notdir);
    assert_eq!(g.path_op("path_create_directory", 1, "d"), Errno::Notdir);
    assert_eq!(g.call("fd_readdir", &[file, BUF as i64, 100, 0, OUT as i64]), Errno::Notdir);
    assert_eq!(g.call("fd_seek", &[PREOPEN as i64, 0, 0, OUT as i64]), Errno::Isdir);
    assert_eq!(g.call("fd_filestat_set_size", &[PREOPEN as i64, 0]), Errno::Isdir);
    // After closing the preopen, nothing can be reached through it.
    assert_eq!(g.call("fd_close", &[PREOPEN as i64]), Errno::Success);
    assert_eq!(g.open(PREOPEN, 0, "f.txt", 0, ALL), Err(Errno::Badf));
    assert_eq!(g.read_fd(file as u32, 1).unwrap(), b"x");
}

#[test]
fn open_descriptors_are_capped() {
    let tree = Tree::new();
    std::fs::write(tree.sandbox().join("f.txt"), "x").unwrap();
    let mut g = Guest::new(
        WasiCtxBuilder::new()
            .max_open_files(6)
            .preopened_dir(tree.sandbox(), "/", DirPerms::ReadWrite)
            .unwrap()
            .build(),
    );
    let fds: Vec<u32> = (0..2).map(|_| g.open(PREOPEN, 0, "f.txt", 0, RIGHT_FD_READ).unwrap()).collect();
    assert_eq!(fds, [4, 5]);
    assert_eq!(g.open(PREOPEN, 0, "f.txt", 0, RIGHT_FD_READ), Err(Errno::Mfile));
    assert_eq!(g.open(PREOPEN, 0, "new.txt", OFLAG_CREAT, RIGHT_FD_READ), Err(Errno::Mfile));
    assert!(!tree.sandbox().join("new.txt").exists(), "a refused open creates nothing");
    // Closing one frees its number for the next open.
    assert_eq!(g.call("fd_close", &[4]), Errno::Success);
    assert_eq!(g.open(PREOPEN, 0, "f.txt", 0, RIGHT_FD_READ), Ok(4));
}

#[test]
fn contexts_can_move_between_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<WasiCtx>();
    send_sync::<Pipe>();
    let wasi = WasiCtxBuilder::new().args(["x"]).build();
    let mut g = std::thread::spawn(move || Guest::new(wasi)).join().unwrap();
    assert_eq!(g.call("args_sizes_get", &[OUT as i64, OUT as i64 + 4]), Errno::Success);
    assert_eq!(g.u32(OUT), 1);
}

#[test]
fn a_full_4_gib_memory_is_addressable_to_its_last_byte() {
    let m = kiln_tests::module(
        r#"(module
          (import "wasi_snapshot_preview1" "args_get" (func $args (param i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))
          (memory (export "memory") 65536)
          (func (export "args") (param i32 i32) (result i32) (call $args (local.get 0) (local.get 1)))
          (func (export "random") (param i32 i32) (result i32) (call $random (local.get 0) (local.get 1))))"#,
    );
    let mut store = Store::new(State { wasi: WasiCtxBuilder::new().args(["abc", "de"]).build() });
    let mut linker = Linker::new();
    kiln::wasi::add_to_linker(&mut linker, |s: &mut State| &mut s.wasi).unwrap();
    let instance = linker.instantiate(&mut store, &m).unwrap();
    let args = instance.get_typed_func::<(u32, u32), i32>(&mut store, "args").unwrap();
    let random = instance.get_typed_func::<(u32, u32), i32>(&mut store, "random").unwrap();
    let memory = instance.get_memory(&mut store, "memory").unwrap();
    assert_eq!(memory.data_size(&mut store), 1 << 32);
    // The strings end on the very last byte: nothing may wrap around.
    let end = u32::MAX - 6;
    assert_eq!(args.call(&mut store, (0x100, end)).unwrap(), 0);
    let mut tail = [0u8; 7];
    memory.read(&mut store, end as usize, &mut tail).unwrap();
    assert_eq!(&tail, b"abc\0de\0");
    assert_eq!(args.call(&mut store, (0x100, end + 1)).unwrap(), Errno::Fault as i32);
    assert_eq!(args.call(&mut store, (u32::MAX - 7, 0x100)).unwrap(), 0);
    assert_eq!(args.call(&mut store, (u32::MAX - 6, 0x100)).unwrap(), Errno::Fault as i32);
    assert_eq!(random.call(&mut store, (u32::MAX - 15, 16)).unwrap(), 0);
    assert_eq!(random.call(&mut store, (u32::MAX - 15, 17)).unwrap(), Errno::Fault as i32);
    assert_eq!(random.call(&mut store, (u32::MAX, u32::MAX)).unwrap(), Errno::Fault as i32);
    // (1, u32::MAX) would be the whole memory but its first byte: in range.
    assert_eq!(random.call(&mut store, (2, u32::MAX)).unwrap(), Errno::Fault as i32);
}

#[test]
fn a_module_without_memory_gets_efault_not_a_crash() {
    let m = kiln_tests::module(
        r#"(module
          (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "random_get" (func $r (param i32 i32) (result i32)))
          (func (export "run") (result i32 i32)
            (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 0))
            (call $r (i32.const 0) (i32.const 0))))"#,
    );
    let mut store = Store::new(State { wasi: WasiCtxBuilder::new().inherit_stdio().build() });
    let mut linker = Linker::new();
    kiln::wasi::add_to_linker(&mut linker, |s: &mut State| &mut s.wasi).unwrap();
    let instance = linker.instantiate(&mut store, &m).unwrap();
    let run = instance.get_typed_func::<(), (i32, i32)>(&mut store, "run").unwrap();
    // A zero-length range at address 0 fits even an empty memory.
    assert_eq!(run.call(&mut store, ()).unwrap(), (Errno::Fault as i32, 0));
}

// ---- a real wasm32-wasip1 program ----------------------------------------------

/// tests/fixtures/wasi/hello: a Rust program built for wasm32-wasip1
/// (rebuild with tests/fixtures/wasi/build.sh; the .wasm is committed).
#[test]
fn rust_std_program_runs() {
    let wasm_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/wasi/hello.wasm");
    let wasm = std::fs::read(&wasm_path).unwrap();
    let artifact = kiln_build::compile(&wasm, &kiln_tests::config()).unwrap();
    let module = kiln_tests::load(&artifact).unwrap();

    let tree = Tree::new();
    std::fs::write(tree.sandbox().join("input.txt"), "three\nlines\nhere\n").unwrap();
    let ro = tempfile::tempdir().unwrap();
    std::fs::write(ro.path().join("note.txt"), "read only\n").unwrap();
    let (out, err) = (Pipe::new(), Pipe::new());
    let wasi = WasiCtxBuilder::new()
        .args(["hello", "input.txt", "output.txt"])
        .env("GREETING", "hi")
        .stdin("from stdin")
        .stdout(out.clone())
        .stderr(err.clone())
        .preopened_dir(tree.sandbox(), "/sandbox", DirPerms::ReadWrite)
        .unwrap()
        .preopened_dir(ro.path(), "/ro", DirPerms::Read)
        .unwrap()
        .build();
    let mut store = Store::new(State { wasi });
    let mut linker = Linker::new();
    kiln::wasi::add_to_linker(&mut linker, |s: &mut State| &mut s.wasi).unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let start = instance.get_typed_func::<(), ()>(&mut store, "_start").unwrap();
    let e = start.call(&mut store, ()).unwrap_err();
    assert_eq!(
        e.downcast_ref::<I32Exit>(),
        Some(&I32Exit(7)),
        "{e}; stderr: {}",
        String::from_utf8_lossy(&err.contents())
    );
    let stdout = String::from_utf8(out.contents()).unwrap();
    let expected = "\
args: [\"hello\", \"input.txt\", \"output.txt\"]
GREETING=hi
stdin: from stdin
input.txt has 3 lines
escape: refused
entries: [\"input.txt\", \"output.txt\"]
size: 5
ro: read only
ro write: refused
slept: true
after 2020: true
map: 1
";
    assert_eq!(stdout, expected);
    assert_eq!(String::from_utf8(err.contents()).unwrap(), "to stderr\n");
    assert_eq!(std::fs::read_to_string(tree.sandbox().join("output.txt")).unwrap(), "THREE\nLINES\nHERE\n");
    tree.assert_outside_untouched();
    let ro_names: Vec<_> = std::fs::read_dir(ro.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(ro_names, ["note.txt"]);
}

/// Windows' own ways out of a directory: drive letters, drive-relative
/// paths, UNC and device prefixes, backslashes, and the reserved device
/// names (which would reach a device from any directory). Each is refused,
/// and nothing outside the sandbox changes.
#[cfg(windows)]
#[test]
fn escape_by_windows_paths() {
    let tree = Tree::new();
    std::fs::create_dir(tree.sandbox().join("sub")).unwrap();
    let mut g = tree.guest(DirPerms::ReadWrite);
    let host_abs = tree.tmp.path().join("outside.txt").display().to_string();
    let escapes = [
        "C:\\windows\\win.ini",
        "C:/windows/win.ini",
        "C:",
        "c:outside.txt",
        host_abs.as_str(),
        "\\\\?\\C:\\windows\\win.ini",
        "\\\\.\\C:\\windows",
        "//?/C:/windows",
        "\\\\localhost\\C$\\windows",
        "\\windows",
        "..\\outside.txt",
        "sub\\..\\..\\outside.txt",
    ];
    for path in escapes {
        for oflags in [0, OFLAG_CREAT, OFLAG_DIRECTORY] {
            assert_eq!(g.open(PREOPEN, FOLLOW, path, oflags, ALL), Err(Errno::Notcapable), "open({path:?}, {oflags})");
        }
        let [p, l] = g.str(PATH, path);
        assert_eq!(g.call("path_filestat_get", &[PREOPEN as i64, FOLLOW, p, l, BUF as i64]), Errno::Notcapable);
        assert!(refused(g.path_op("path_create_directory", PREOPEN, path)), "mkdir {path:?}");
        assert!(refused(g.path_op("path_unlink_file", PREOPEN, path)), "unlink {path:?}");
    }
    // Device names are no files: neither opened nor created, anywhere.
    for path in ["NUL", "CON", "con.txt", "sub/AUX", "COM1", "LPT1.log", "sub\\nul", "PRN"] {
        for oflags in [0, OFLAG_CREAT, OFLAG_CREAT | OFLAG_TRUNC] {
            let r = g.open(PREOPEN, FOLLOW, path, oflags, ALL);
            assert!(matches!(r, Err(e) if refused(e) || e == Errno::Noent), "open({path:?}, {oflags}) = {r:?}");
        }
    }
    let mut inside: Vec<String> =
        std::fs::read_dir(tree.sandbox()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    inside.sort();
    assert_eq!(inside, ["sub"], "nothing was created in the sandbox either");
    tree.assert_outside_untouched();
}

#[test]
fn wasi_on_a_64_bit_or_shared_memory_is_refused_by_name() {
    for (memory, needs, what) in [
        ("(memory (export \"memory\") i64 1)", None, "64-bit"),
        ("(memory (export \"memory\") 1 1 shared)", Some("threads"), "shared memory"),
    ] {
        let wat = format!(
            r#"(module
              (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
              {memory}
              (func (export "run") (result i32) (call $w (i32.const 1) (i32.const 0) (i32.const 0) (i32.const 0))))"#
        );
        let mut config = kiln_tests::config();
        if let Some(f) = needs {
            config.wasm_feature(f, true).unwrap();
        }
        let bytes = kiln_build::compile(&wat::parse_str(&wat).unwrap(), &config).unwrap();
        let module = kiln_tests::load(&bytes).unwrap();
        let mut store = kiln::Store::new(WasiCtxBuilder::new().build());
        let mut linker = kiln::Linker::new();
        kiln::wasi::add_to_linker(&mut linker, |w: &mut WasiCtx| w).unwrap();
        let instance = linker.instantiate(&mut store, &module).unwrap();
        let run = instance.get_typed_func::<(), i32>(&mut store, "run").unwrap();
        let err = run.call(&mut store, ()).unwrap_err();
        assert!(err.to_string().contains(what), "{what}: {err}");
    }
}
