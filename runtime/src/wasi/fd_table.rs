//! The guest's file descriptors: what each number refers to (stdio, an
//! open file, an open directory) and the rights it carries.
//!
//! Rights are WASI's capability bits. A descriptor's rights are fixed
//! when it is made: a preopen gets them from its [`DirPerms`], and a
//! descriptor opened through a directory gets at most that directory's
//! inheriting rights. Every operation names the right it needs and
//! [`FdTable::file`] / [`FdTable::dir`] refuse it with `ENOTCAPABLE`
//! when the descriptor does not carry it — that is how a read-only
//! preopen stays read-only.

use super::errno::{Errno, WasiResult};
use super::{DirPerms, Pipe};
use std::collections::BTreeMap;
use std::io::{Read, Write};

/// WASI rights bits (`rights` in the specification).
pub(crate) mod rights {
    pub const FD_DATASYNC: u64 = 1 << 0;
    pub const FD_READ: u64 = 1 << 1;
    pub const FD_SEEK: u64 = 1 << 2;
    pub const FD_FDSTAT_SET_FLAGS: u64 = 1 << 3;
    pub const FD_SYNC: u64 = 1 << 4;
    pub const FD_TELL: u64 = 1 << 5;
    pub const FD_WRITE: u64 = 1 << 6;
    pub const FD_ADVISE: u64 = 1 << 7;
    pub const FD_ALLOCATE: u64 = 1 << 8;
    pub const PATH_CREATE_DIRECTORY: u64 = 1 << 9;
    pub const PATH_CREATE_FILE: u64 = 1 << 10;
    pub const PATH_LINK_SOURCE: u64 = 1 << 11;
    pub const PATH_LINK_TARGET: u64 = 1 << 12;
    pub const PATH_OPEN: u64 = 1 << 13;
    pub const FD_READDIR: u64 = 1 << 14;
    pub const PATH_READLINK: u64 = 1 << 15;
    pub const PATH_RENAME_SOURCE: u64 = 1 << 16;
    pub const PATH_RENAME_TARGET: u64 = 1 << 17;
    pub const PATH_FILESTAT_GET: u64 = 1 << 18;
    pub const PATH_FILESTAT_SET_SIZE: u64 = 1 << 19;
    pub const PATH_FILESTAT_SET_TIMES: u64 = 1 << 20;
    pub const FD_FILESTAT_GET: u64 = 1 << 21;
    pub const FD_FILESTAT_SET_SIZE: u64 = 1 << 22;
    pub const FD_FILESTAT_SET_TIMES: u64 = 1 << 23;
    pub const PATH_SYMLINK: u64 = 1 << 24;
    pub const PATH_REMOVE_DIRECTORY: u64 = 1 << 25;
    pub const PATH_UNLINK_FILE: u64 = 1 << 26;
    pub const POLL_FD_READWRITE: u64 = 1 << 27;

    /// Everything a regular file can do.
    pub const FILE: u64 = FD_DATASYNC
        | FD_READ
        | FD_SEEK
        | FD_FDSTAT_SET_FLAGS
        | FD_SYNC
        | FD_TELL
        | FD_WRITE
        | FD_ADVISE
        | FD_ALLOCATE
        | FD_FILESTAT_GET
        | FD_FILESTAT_SET_SIZE
        | FD_FILESTAT_SET_TIMES
        | POLL_FD_READWRITE;
    /// The file rights that change a file.
    pub const FILE_WRITE: u64 = FD_WRITE | FD_ALLOCATE | FD_FILESTAT_SET_SIZE | FD_FILESTAT_SET_TIMES;
    /// Everything a directory can do.
    pub const DIR: u64 = FD_DATASYNC
        | FD_FDSTAT_SET_FLAGS
        | FD_SYNC
        | PATH_CREATE_DIRECTORY
        | PATH_CREATE_FILE
        | PATH_LINK_SOURCE
        | PATH_LINK_TARGET
        | PATH_OPEN
        | FD_READDIR
        | PATH_READLINK
        | PATH_RENAME_SOURCE
        | PATH_RENAME_TARGET
        | PATH_FILESTAT_GET
        | PATH_FILESTAT_SET_SIZE
        | PATH_FILESTAT_SET_TIMES
        | FD_FILESTAT_GET
        | FD_FILESTAT_SET_TIMES
        | PATH_SYMLINK
        | PATH_REMOVE_DIRECTORY
        | PATH_UNLINK_FILE;
    /// The directory rights that change the tree under it.
    pub const DIR_WRITE: u64 = PATH_CREATE_DIRECTORY
        | PATH_CREATE_FILE
        | PATH_LINK_SOURCE
        | PATH_LINK_TARGET
        | PATH_RENAME_SOURCE
        | PATH_RENAME_TARGET
        | PATH_FILESTAT_SET_SIZE
        | PATH_FILESTAT_SET_TIMES
        | FD_FILESTAT_SET_TIMES
        | PATH_SYMLINK
        | PATH_REMOVE_DIRECTORY
        | PATH_UNLINK_FILE;
    /// Standard input.
    pub const STDIN: u64 = FD_READ | FD_FDSTAT_SET_FLAGS | FD_FILESTAT_GET | POLL_FD_READWRITE;
    /// Standard output and error.
    pub const STDOUT: u64 = FD_WRITE | FD_FDSTAT_SET_FLAGS | FD_FILESTAT_GET | POLL_FD_READWRITE;
}

/// Where the guest's standard input comes from.
pub(crate) enum Input {
    /// The host process's stdin.
    Inherit,
    /// Fixed bytes, then end of file.
    Bytes(std::io::Cursor<Vec<u8>>),
}

impl Input {
    pub fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Input::Inherit => std::io::stdin().read(buf),
            Input::Bytes(c) => c.read(buf),
        }
    }
}

/// Where the guest's standard output or error goes.
pub(crate) enum Output {
    /// The host process's stdout (or stderr for fd 2).
    InheritStdout,
    InheritStderr,
    /// Captured in memory.
    Pipe(Pipe),
    /// Discarded (the default).
    Null,
}

impl Output {
    pub fn write(&mut self, buf: &[u8]) -> WasiResult<usize> {
        match self {
            Output::InheritStdout => std::io::stdout().write_all(buf).map_err(Errno::from)?,
            Output::InheritStderr => std::io::stderr().write_all(buf).map_err(Errno::from)?,
            Output::Pipe(p) => p.push(buf)?,
            Output::Null => {}
        }
        Ok(buf.len())
    }

    pub fn is_terminal(&self) -> bool {
        use std::io::IsTerminal;
        match self {
            Output::InheritStdout => std::io::stdout().is_terminal(),
            Output::InheritStderr => std::io::stderr().is_terminal(),
            _ => false,
        }
    }
}

/// What a descriptor refers to.
pub(crate) enum Kind {
    Stdin(Input),
    Output(Output),
    File(cap_std::fs::File),
    Dir(cap_std::fs::Dir),
}

/// One open descriptor.
pub(crate) struct Descriptor {
    pub kind: Kind,
    /// Rights of this descriptor (`fs_rights_base`).
    pub rights: u64,
    /// Rights descriptors opened through it may get (`fs_rights_inheriting`).
    pub inheriting: u64,
    /// For stdio, which has no OS descriptor to hold them: the flags set
    /// with `fd_fdstat_set_flags`.
    pub fdflags: u16,
    /// For a preopened directory: the name the guest sees.
    pub preopen: Option<String>,
    /// For a directory: its entries as `fd_readdir` read them when the
    /// guest last started a listing (cookie 0). Later cookies index into
    /// this, so listing a directory in many small calls reads it once.
    pub listing: Option<Vec<Entry>>,
}

/// A directory entry as `fd_readdir` reports it: name, inode, file type.
pub(crate) type Entry = (Vec<u8>, u64, u8);

impl Descriptor {
    pub fn new(kind: Kind, rights: u64, inheriting: u64) -> Descriptor {
        Descriptor { kind, rights, inheriting, fdflags: 0, preopen: None, listing: None }
    }
}

impl Descriptor {
    fn require(&self, right: u64) -> WasiResult {
        if self.rights & right == right {
            Ok(())
        } else {
            Err(Errno::Notcapable)
        }
    }

    pub fn preopen(dir: cap_std::fs::Dir, guest_path: String, perms: DirPerms) -> Descriptor {
        let (rights, inheriting) = match perms {
            DirPerms::ReadWrite => (rights::DIR, rights::DIR | rights::FILE),
            DirPerms::Read => (
                rights::DIR & !rights::DIR_WRITE,
                (rights::DIR | rights::FILE) & !(rights::DIR_WRITE | rights::FILE_WRITE),
            ),
        };
        Descriptor { preopen: Some(guest_path), ..Descriptor::new(Kind::Dir(dir), rights, inheriting) }
    }
}

/// Descriptor number → descriptor.
pub(crate) struct FdTable {
    fds: BTreeMap<u32, Descriptor>,
    /// The most descriptors the guest may hold open at once (each file or
    /// directory holds a host descriptor).
    max: usize,
}

impl FdTable {
    pub fn new(max: usize) -> FdTable {
        FdTable { fds: BTreeMap::new(), max }
    }

    pub fn get(&self, fd: u32) -> WasiResult<&Descriptor> {
        self.fds.get(&fd).ok_or(Errno::Badf)
    }

    pub fn get_mut(&mut self, fd: u32) -> WasiResult<&mut Descriptor> {
        self.fds.get_mut(&fd).ok_or(Errno::Badf)
    }

    /// The open file `fd`, which must carry `right`.
    pub fn file(&self, fd: u32, right: u64) -> WasiResult<&cap_std::fs::File> {
        let d = self.get(fd)?;
        match &d.kind {
            Kind::File(f) => {
                d.require(right)?;
                Ok(f)
            }
            Kind::Dir(_) => Err(Errno::Isdir),
            _ => Err(Errno::Badf),
        }
    }

    /// The open directory `fd`, which must carry `right`, and its
    /// descriptor (for the rights it passes on).
    pub fn dir(&self, fd: u32, right: u64) -> WasiResult<(&cap_std::fs::Dir, &Descriptor)> {
        let d = self.get(fd)?;
        match &d.kind {
            Kind::Dir(dir) => {
                d.require(right)?;
                Ok((dir, d))
            }
            _ => Err(Errno::Notdir),
        }
    }

    /// Check that `fd` carries `right`, whatever it is.
    pub fn require(&self, fd: u32, right: u64) -> WasiResult<&Descriptor> {
        let d = self.get(fd)?;
        d.require(right)?;
        Ok(d)
    }

    /// Whether one more descriptor may be opened.
    pub fn has_room(&self) -> bool {
        self.fds.len() < self.max
    }

    /// Put `d` at the lowest free number.
    pub fn push(&mut self, d: Descriptor) -> WasiResult<u32> {
        if !self.has_room() {
            return Err(Errno::Mfile);
        }
        let mut fd = 0;
        for &used in self.fds.keys() {
            if used != fd {
                break;
            }
            fd += 1;
        }
        self.fds.insert(fd, d);
        Ok(fd)
    }

    pub fn insert(&mut self, fd: u32, d: Descriptor) {
        self.fds.insert(fd, d);
    }

    pub fn remove(&mut self, fd: u32) -> WasiResult<Descriptor> {
        self.fds.remove(&fd).ok_or(Errno::Badf)
    }

    pub fn contains(&self, fd: u32) -> bool {
        self.fds.contains_key(&fd)
    }
}
