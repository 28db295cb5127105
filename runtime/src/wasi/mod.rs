//! WASI preview 1 (`wasi_snapshot_preview1`) for guests, behind the `wasi`
//! feature: what Rust's `std` and wasi-libc programs import.
//!
//! ```no_run
//! # fn main() -> kiln::Result<()> {
//! # let module: kiln::Module = unimplemented!();
//! use kiln::wasi::{DirPerms, Pipe, WasiCtx, WasiCtxBuilder};
//!
//! struct State { wasi: WasiCtx }
//!
//! let stdout = Pipe::new();
//! let wasi = WasiCtxBuilder::new()
//!     .args(["plugin", "--flag"])
//!     .env("KEY", "value")
//!     .stdout(stdout.clone())                 // or .inherit_stdio()
//!     .preopened_dir("plugin-data", "/data", DirPerms::ReadWrite)?
//!     .build();
//! let mut store = kiln::Store::new(State { wasi });
//! let mut linker = kiln::Linker::new();
//! kiln::wasi::add_to_linker(&mut linker, |s: &mut State| &mut s.wasi)?;
//! let instance = linker.instantiate(&mut store, &module)?;
//! let start = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
//! match start.call(&mut store, ()) {
//!     Ok(()) => {}
//!     // proc_exit(n) ends the guest, never the host: it comes back as a value.
//!     Err(e) => match e.downcast_ref::<kiln::wasi::I32Exit>() {
//!         Some(exit) => println!("exit code {}", exit.0),
//!         None => return Err(e),
//!     },
//! }
//! println!("{}", String::from_utf8_lossy(&stdout.contents()));
//! # Ok(())
//! # }
//! ```
//!
//! The sandbox: the guest reaches the host's filesystem only through
//! preopened directories, each a `cap_std::fs::Dir`; every path is
//! resolved by cap-std beneath its directory, which refuses absolute
//! paths, `..` above the root and symlinks that lead out (the guest sees
//! `ENOTCAPABLE`). There is no path check of our own to get wrong. Every
//! guest pointer and length is checked against the guest's memory
//! (`EFAULT`), and host errors become errnos: nothing the guest passes can
//! crash or stop the host.
//!
//! What each import does where WASI leaves room:
//!
//! | import | behaviour |
//! |---|---|
//! | `args_*`, `environ_*` | what the builder set; nothing by default |
//! | `clock_time_get`, `clock_res_get` | realtime and monotonic (from context creation); the CPU-time clocks would describe the host process and are `EINVAL` |
//! | `random_get` | the OS's CSPRNG |
//! | `poll_oneoff` | clock subscriptions sleep until the first is due; descriptor subscriptions are ready at once |
//! | `proc_exit` | ends the call with [`I32Exit`]; `proc_raise` is `ENOSYS` |
//! | `sock_*` | no sockets are ever handed out: `ENOTSOCK` (or `EBADF`) |
//! | `fd_*` | stdio, files and directories; rights checked per call (`ENOTCAPABLE`) |
//! | `path_open` | read/write intent from the rights asked for; asking to write where the directory grants no write is `ENOTCAPABLE`, other rights are narrowed |
//! | `path_link` | links the path itself (a final symlink is not followed) |
//! | `path_symlink` | absolute targets are refused; a relative target may point anywhere, but following it from inside the sandbox never leaves it |
//!
//! For hosts: a guest with a read-write preopen can leave symlinks in it
//! whose targets lie outside (made relative, or moved there with
//! `path_rename`). They are harmless to the guest, but a host that later
//! walks that directory with `std::fs` should not follow symlinks blindly.
//! A guest blocked in `poll_oneoff` or reading an inherited stdin holds its
//! thread; epoch interruption takes effect when it returns to wasm.
//!
//! | file | holds |
//! |---|---|
//! | `mod.rs` | this map, [`WasiCtxBuilder`], [`WasiCtx`], [`Pipe`], [`DirPerms`], [`I32Exit`] |
//! | `linker.rs` | [`add_to_linker`]: every import, name → implementation; `proc_exit`, `proc_raise`, `sock_*` |
//! | `guest.rs` | the one checked access to guest memory (`EFAULT`) |
//! | `errno.rs` | [`Errno`] and the mapping from host I/O errors |
//! | `fd_table.rs` | descriptors (stdio, files, directories) and their rights |
//! | `fs.rs` | `fd_*` and `path_*`: files and directories through cap-std |
//! | `clocks.rs` | clocks, `random_get`, `poll_oneoff`, `sched_yield`, args, environment |

mod clocks;
mod errno;
mod fd_table;
mod fs;
mod guest;
mod host;
mod linker;

pub use errno::Errno;
pub use linker::add_to_linker;

use fd_table::{Descriptor, FdTable, Input, Kind, Output};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// What a guest may do in a preopened directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirPerms {
    /// List, stat, open and read files; nothing that changes the tree or
    /// a file.
    Read,
    /// Everything: also create, write, truncate, rename, link and remove.
    ReadWrite,
}

/// The guest called `proc_exit(code)`. The call into wasm returns an
/// error that carries this: `err.downcast_ref::<I32Exit>()`. The host
/// process never exits on the guest's behalf.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct I32Exit(pub i32);

impl std::fmt::Display for I32Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "guest exited with code {}", self.0)
    }
}

impl std::error::Error for I32Exit {}

/// An in-memory byte sink for the guest's stdout or stderr. Clones share
/// the same bytes: keep one, hand one to the builder, read
/// [`contents`](Pipe::contents) after the call.
#[derive(Debug, Clone)]
pub struct Pipe {
    inner: Arc<Mutex<Vec<u8>>>,
    limit: usize,
}

impl Default for Pipe {
    fn default() -> Self {
        Pipe::new()
    }
}

impl Pipe {
    /// A pipe that keeps up to 64 MiB; writes beyond fail with `ENOSPC`.
    pub fn new() -> Pipe {
        Pipe::with_limit(64 << 20)
    }

    /// A pipe that keeps up to `limit` bytes.
    pub fn with_limit(limit: usize) -> Pipe {
        Pipe { inner: Arc::default(), limit }
    }

    /// Everything written so far.
    pub fn contents(&self) -> Vec<u8> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn push(&self, bytes: &[u8]) -> Result<(), Errno> {
        let mut v = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if v.len().saturating_add(bytes.len()) > self.limit {
            return Err(Errno::Nospc);
        }
        v.extend_from_slice(bytes);
        Ok(())
    }
}

/// Configures a [`WasiCtx`]. By default the guest has no arguments, no
/// environment, empty stdin, discarded stdout and stderr, and no
/// filesystem.
pub struct WasiCtxBuilder {
    args: Vec<String>,
    env: Vec<(String, String)>,
    stdin: Input,
    stdout: Output,
    stderr: Output,
    preopens: Vec<(cap_std::fs::Dir, String, DirPerms)>,
    max_open: usize,
}

impl Default for WasiCtxBuilder {
    fn default() -> Self {
        WasiCtxBuilder::new()
    }
}

impl WasiCtxBuilder {
    /// Nothing granted.
    pub fn new() -> WasiCtxBuilder {
        WasiCtxBuilder {
            args: Vec::new(),
            env: Vec::new(),
            stdin: Input::Bytes(Default::default()),
            stdout: Output::Null,
            stderr: Output::Null,
            preopens: Vec::new(),
            max_open: 256,
        }
    }

    /// Append one argument (the first is the program name by convention).
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Append arguments.
    pub fn args<S: Into<String>>(mut self, args: impl IntoIterator<Item = S>) -> Self {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Set an environment variable.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Set environment variables.
    pub fn envs<K: Into<String>, V: Into<String>>(mut self, vars: impl IntoIterator<Item = (K, V)>) -> Self {
        self.env.extend(vars.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// Give the guest the host process's own arguments (not valid UTF-8
    /// parts are replaced).
    pub fn inherit_args(self) -> Self {
        self.args(std::env::args_os().map(|a| a.to_string_lossy().into_owned()))
    }

    /// Give the guest the host process's whole environment. Opt-in: the
    /// environment often holds secrets.
    pub fn inherit_env(self) -> Self {
        self.envs(
            std::env::vars_os().map(|(k, v)| (k.to_string_lossy().into_owned(), v.to_string_lossy().into_owned())),
        )
    }

    /// The guest reads the host's stdin and writes the host's stdout and
    /// stderr.
    pub fn inherit_stdio(self) -> Self {
        self.inherit_stdin().inherit_stdout().inherit_stderr()
    }

    /// The guest reads the host's stdin.
    pub fn inherit_stdin(mut self) -> Self {
        self.stdin = Input::Inherit;
        self
    }

    /// The guest writes to the host's stdout.
    pub fn inherit_stdout(mut self) -> Self {
        self.stdout = Output::InheritStdout;
        self
    }

    /// The guest writes to the host's stderr.
    pub fn inherit_stderr(mut self) -> Self {
        self.stderr = Output::InheritStderr;
        self
    }

    /// The guest's stdin is these bytes, then end of file.
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = Input::Bytes(std::io::Cursor::new(bytes.into()));
        self
    }

    /// Capture the guest's stdout.
    pub fn stdout(mut self, pipe: Pipe) -> Self {
        self.stdout = Output::Pipe(pipe);
        self
    }

    /// Capture the guest's stderr.
    pub fn stderr(mut self, pipe: Pipe) -> Self {
        self.stderr = Output::Pipe(pipe);
        self
    }

    /// Give the guest the host directory `host_path` under the name
    /// `guest_path` (e.g. `"/data"` or `"."`), with `perms`. This is the
    /// only place the host's ambient filesystem is touched: the directory
    /// is opened here, and everything the guest does goes through that
    /// handle.
    pub fn preopened_dir(
        self,
        host_path: impl AsRef<Path>,
        guest_path: impl Into<String>,
        perms: DirPerms,
    ) -> crate::Result<Self> {
        let host_path = host_path.as_ref();
        let dir = cap_std::fs::Dir::open_ambient_dir(host_path, cap_std::ambient_authority())
            .map_err(|e| crate::Error::msg(format!("cannot preopen {}: {e}", host_path.display())))?;
        Ok(self.preopened_cap_dir(dir, guest_path, perms))
    }

    /// Give the guest an already opened directory handle under the name
    /// `guest_path`, with `perms`.
    pub fn preopened_cap_dir(mut self, dir: cap_std::fs::Dir, guest_path: impl Into<String>, perms: DirPerms) -> Self {
        self.preopens.push((dir, guest_path.into(), perms));
        self
    }

    /// The most descriptors the guest may hold open at once, stdio and
    /// preopens included (default 256). Each open file or directory holds
    /// a descriptor of the host process, so this keeps a guest from
    /// exhausting the host's own limit; past it, opening fails with
    /// `EMFILE`.
    pub fn max_open_files(mut self, max: usize) -> Self {
        self.max_open = max;
        self
    }

    /// The context: fds 0–2 are stdio, preopens follow from 3 in the order
    /// they were added.
    pub fn build(self) -> WasiCtx {
        let mut table = FdTable::new(self.max_open.max(3 + self.preopens.len()));
        let stdio = |kind, rights| Descriptor::new(kind, rights, 0);
        table.insert(0, stdio(Kind::Stdin(self.stdin), fd_table::rights::STDIN));
        table.insert(1, stdio(Kind::Output(self.stdout), fd_table::rights::STDOUT));
        table.insert(2, stdio(Kind::Output(self.stderr), fd_table::rights::STDOUT));
        for (dir, name, perms) in self.preopens {
            // Cannot fail: the limit leaves room for every preopen.
            let _ = table.push(Descriptor::preopen(dir, name, perms));
        }
        WasiCtx {
            args: nul_terminated(self.args.iter().map(String::as_str)),
            env: nul_terminated(
                self.env.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().iter().map(String::as_str),
            ),
            table,
            start: std::time::Instant::now(),
        }
    }
}

/// Strings as the guest receives them: each followed by a NUL.
fn nul_terminated<'a>(strings: impl Iterator<Item = &'a str>) -> Vec<Vec<u8>> {
    strings
        .map(|s| {
            let mut v = s.as_bytes().to_vec();
            v.push(0);
            v
        })
        .collect()
}

/// One guest's WASI state: arguments, environment, descriptors. Keep it in
/// the store's data and hand [`add_to_linker`] a way to reach it.
pub struct WasiCtx {
    args: Vec<Vec<u8>>,
    env: Vec<Vec<u8>>,
    table: FdTable,
    /// The zero of the guest's monotonic clock.
    start: std::time::Instant,
}

impl std::fmt::Debug for WasiCtx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasiCtx").field("args", &self.args.len()).field("env", &self.env.len()).finish_non_exhaustive()
    }
}
