//! What WASI needs from the host OS beyond what cap-std offers on every
//! platform: descriptor flags, file advice and allocation, directory entry
//! names and serial numbers, status-change times, clock resolution, and the
//! meaning of the OS's error codes. One `imp` module per OS family; the
//! rest of `wasi/` is the same everywhere.
//!
//! Where Windows has no equivalent, the behaviour chosen is the one WASI
//! allows and a portable program cannot tell apart:
//!
//! | call | Unix | Windows |
//! |---|---|---|
//! | `fd_advise` | `posix_fadvise` (none on Apple systems: a hint) | a hint, taken as given |
//! | `fd_allocate` | `fallocate` / `posix_fallocate` | extends the file to `offset + len` if shorter |
//! | `APPEND` | `O_APPEND` (`fcntl(F_SETFL)` to change it) | each write moves to the end first |
//! | `NONBLOCK` | `O_NONBLOCK` | recorded (files never block) |
//! | `ctim` of a filestat | the status-change time | the last-write time |
//! | directory entry names | the bytes | UTF-8 (unpaired surrogates become U+FFFD) |

use super::errno::Errno;
use std::io;

pub(crate) use imp::*;

/// Nanoseconds since the Unix epoch (0 for earlier times or errors).
fn since_epoch(t: io::Result<cap_std::time::SystemTime>) -> u64 {
    t.ok()
        .and_then(|t| t.into_std().duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// Access and modification times of `m`, in nanoseconds since the epoch.
pub(crate) fn access_and_modification_times(m: &cap_std::fs::Metadata) -> (u64, u64) {
    (since_epoch(m.accessed()), since_epoch(m.modified()))
}

#[cfg(unix)]
mod imp {
    use super::*;
    use cap_fs_ext::OsMetadataExt;
    use rustix::fs::OFlags;

    /// `pread`: read at `offset` without moving the file's position.
    pub(crate) fn read_at(f: &cap_std::fs::File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        cap_std::fs::FileExt::read_at(f, buf, offset)
    }

    /// Open `path` beneath `dir` with `opts`, as a file or, if it names
    /// one, a directory (`path_open` without `O_DIRECTORY` may open either).
    pub(crate) fn open_file_or_dir(
        dir: &cap_std::fs::Dir,
        path: &str,
        opts: &mut cap_std::fs::OpenOptions,
        _follow: bool,
    ) -> io::Result<cap_std::fs::File> {
        use cap_fs_ext::OpenOptionsMaybeDirExt;
        dir.open_with(path, opts.maybe_dir(true))
    }

    /// `fd_sync` / `fd_datasync` of a directory. cap-std holds directories
    /// as `O_PATH` descriptors on Linux, which `fsync` refuses; this opens
    /// the same directory (".", never a path that could lead elsewhere) for
    /// reading and syncs that.
    pub(crate) fn sync_dir(dir: &cap_std::fs::Dir, data_only: bool) -> io::Result<()> {
        use cap_fs_ext::OpenOptionsMaybeDirExt;
        let mut opts = cap_std::fs::OpenOptions::new();
        opts.read(true).maybe_dir(true);
        let file = dir.open_with(".", &opts)?;
        if data_only {
            file.sync_data()
        } else {
            file.sync_all()
        }
    }

    /// `pwrite`: write at `offset` without moving the file's position.
    pub(crate) fn write_at(f: &cap_std::fs::File, buf: &[u8], offset: u64) -> io::Result<usize> {
        cap_std::fs::FileExt::write_at(f, buf, offset)
    }

    /// The status-change time of `m` in nanoseconds since the epoch.
    pub(crate) fn change_time(m: &cap_std::fs::Metadata) -> u64 {
        (m.ctime().max(0) as u64).saturating_mul(1_000_000_000).saturating_add(m.ctime_nsec().max(0) as u64)
    }

    /// A directory entry's name as the guest sees it, and its serial number.
    pub(crate) fn dir_entry(e: &cap_std::fs::DirEntry) -> io::Result<(Vec<u8>, u64)> {
        use rustix::fs::DirEntryExt;
        use std::os::unix::ffi::OsStringExt;
        Ok((e.file_name().into_vec(), e.ino()))
    }

    /// A path's bytes as the guest sees them.
    pub(crate) fn path_bytes(p: &std::path::Path) -> Vec<u8> {
        std::os::unix::ffi::OsStrExt::as_bytes(p.as_os_str()).to_vec()
    }

    /// Whether the OS itself appends for a descriptor with `APPEND`
    /// (`O_APPEND`: atomic against other writers).
    pub(crate) const OS_APPEND: bool = true;

    /// Turn `APPEND` and `NONBLOCK` on or off on an open file, as
    /// `fd_fdstat_set_flags` asks.
    pub(crate) fn set_flags(f: &cap_std::fs::File, append: bool, nonblock: bool) -> Result<(), Errno> {
        let mut new = rustix::fs::fcntl_getfl(f)?;
        new.set(OFlags::APPEND, append);
        new.set(OFlags::NONBLOCK, nonblock);
        rustix::fs::fcntl_setfl(f, new)?;
        Ok(())
    }

    /// Make a freshly opened file non-blocking.
    pub(crate) fn set_nonblocking(f: &cap_std::fs::File) -> Result<(), Errno> {
        rustix::fs::fcntl_setfl(f, rustix::fs::fcntl_getfl(f)? | OFlags::NONBLOCK)?;
        Ok(())
    }

    /// `fd_advise`: `advice` is WASI's (0 normal … 5 noreuse), already
    /// checked to be one.
    pub(crate) fn advise(f: &cap_std::fs::File, offset: u64, len: u64, advice: u32) -> Result<(), Errno> {
        // Apple systems take no file advice (`posix_fadvise` does not
        // exist there), which is a correct way to follow a hint.
        #[cfg(not(target_vendor = "apple"))]
        {
            use rustix::fs::Advice;
            let advice = match advice {
                0 => Advice::Normal,
                1 => Advice::Sequential,
                2 => Advice::Random,
                3 => Advice::WillNeed,
                4 => Advice::DontNeed,
                _ => Advice::NoReuse,
            };
            rustix::fs::fadvise(f, offset, std::num::NonZeroU64::new(len), advice)?;
        }
        #[cfg(target_vendor = "apple")]
        let _ = (f, offset, len, advice);
        Ok(())
    }

    /// `fd_allocate`: make sure `[offset, offset + len)` is allocated.
    pub(crate) fn allocate(f: &cap_std::fs::File, offset: u64, len: u64) -> Result<(), Errno> {
        rustix::fs::fallocate(f, rustix::fs::FallocateFlags::empty(), offset, len)?;
        Ok(())
    }

    /// The resolution of a clock in nanoseconds (`realtime`: the wall
    /// clock; otherwise the monotonic clock).
    pub(crate) fn clock_resolution(realtime: bool) -> u64 {
        let id = if realtime { rustix::time::ClockId::Realtime } else { rustix::time::ClockId::Monotonic };
        let ts = rustix::time::clock_getres(id);
        (ts.tv_sec.max(0) as u64).saturating_mul(1_000_000_000).saturating_add(ts.tv_nsec.max(0) as u64).max(1)
    }

    impl From<rustix::io::Errno> for Errno {
        fn from(err: rustix::io::Errno) -> Errno {
            os_errno(err.raw_os_error())
        }
    }

    /// An OS error code (errno of the host's libc) as a WASI errno.
    pub(crate) fn os_errno(code: i32) -> Errno {
        match code {
            libc::E2BIG => Errno::TooBig,
            libc::EACCES => Errno::Acces,
            libc::EAGAIN => Errno::Again,
            libc::EBADF => Errno::Badf,
            libc::EBUSY => Errno::Busy,
            libc::ECANCELED => Errno::Canceled,
            libc::EDEADLK => Errno::Deadlk,
            libc::EDQUOT => Errno::Dquot,
            libc::EEXIST => Errno::Exist,
            libc::EFAULT => Errno::Fault,
            libc::EFBIG => Errno::Fbig,
            libc::EILSEQ => Errno::Ilseq,
            libc::EINTR => Errno::Intr,
            libc::EINVAL => Errno::Inval,
            libc::EIO => Errno::Io,
            libc::EISDIR => Errno::Isdir,
            libc::ELOOP => Errno::Loop,
            libc::EMFILE => Errno::Mfile,
            libc::EMLINK => Errno::Mlink,
            libc::ENAMETOOLONG => Errno::Nametoolong,
            libc::ENFILE => Errno::Nfile,
            libc::ENODEV => Errno::Nodev,
            libc::ENOENT => Errno::Noent,
            libc::ENOLCK => Errno::Nolck,
            libc::ENOMEM => Errno::Nomem,
            libc::ENOSPC => Errno::Nospc,
            libc::ENOSYS => Errno::Nosys,
            libc::ENOTDIR => Errno::Notdir,
            libc::ENOTEMPTY => Errno::Notempty,
            libc::ENOTSUP => Errno::Notsup,
            libc::ENOTTY => Errno::Notty,
            libc::ENXIO => Errno::Nxio,
            libc::EOVERFLOW => Errno::Overflow,
            libc::EPERM => Errno::Perm,
            libc::EPIPE => Errno::Pipe,
            libc::ERANGE => Errno::Range,
            libc::EROFS => Errno::Rofs,
            libc::ESPIPE => Errno::Spipe,
            libc::ESTALE => Errno::Stale,
            libc::ETIMEDOUT => Errno::Timedout,
            libc::ETXTBSY => Errno::Txtbsy,
            libc::EXDEV => Errno::Xdev,
            _ => Errno::Io,
        }
    }
}

#[cfg(windows)]
mod imp {
    use super::*;
    use cap_fs_ext::MetadataExt;

    /// Open `path` beneath `dir` with `opts`, as a file or, if it names
    /// one, a directory. Windows needs a flag to open a directory, and
    /// cap-std then withholds `FILE_SHARE_DELETE` (so the directory cannot
    /// be renamed under its lookups); a file opened that way could not be
    /// renamed or removed while open. So the flag is given only when the
    /// path names a directory now.
    pub(crate) fn open_file_or_dir(
        dir: &cap_std::fs::Dir,
        path: &str,
        opts: &mut cap_std::fs::OpenOptions,
        follow: bool,
    ) -> io::Result<cap_std::fs::File> {
        use cap_fs_ext::OpenOptionsMaybeDirExt;
        let meta = if follow { dir.metadata(path) } else { dir.symlink_metadata(path) };
        let is_dir = meta.is_ok_and(|m| m.is_dir());
        dir.open_with(path, opts.maybe_dir(is_dir))
    }

    /// `fd_sync` / `fd_datasync` of a directory: NTFS journals directory
    /// changes itself, and Windows offers no flush of a directory handle
    /// opened for reading (`FlushFileBuffers` wants write access, which a
    /// sandboxed directory is never given).
    pub(crate) fn sync_dir(_dir: &cap_std::fs::Dir, _data_only: bool) -> io::Result<()> {
        Ok(())
    }

    /// `pread`: read at `offset` without moving the file's position.
    /// Windows' positioned read moves it, so it is put back.
    pub(crate) fn read_at(f: &cap_std::fs::File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        use std::io::Seek;
        let pos = (&mut &*f).stream_position()?;
        let n = cap_std::fs::FileExt::seek_read(f, buf, offset);
        (&mut &*f).seek(io::SeekFrom::Start(pos))?;
        n
    }

    /// `pwrite`: write at `offset` without moving the file's position.
    pub(crate) fn write_at(f: &cap_std::fs::File, buf: &[u8], offset: u64) -> io::Result<usize> {
        use std::io::Seek;
        let pos = (&mut &*f).stream_position()?;
        let n = cap_std::fs::FileExt::seek_write(f, buf, offset);
        (&mut &*f).seek(io::SeekFrom::Start(pos))?;
        n
    }

    /// Windows keeps no status-change time apart from the last write.
    pub(crate) fn change_time(m: &cap_std::fs::Metadata) -> u64 {
        since_epoch(m.modified())
    }

    /// A directory entry's name as the guest sees it (UTF-8), and its
    /// serial number (the file index, which needs the file opened).
    pub(crate) fn dir_entry(e: &cap_std::fs::DirEntry) -> io::Result<(Vec<u8>, u64)> {
        use cap_fs_ext::DirEntryExt;
        let ino = e.full_metadata().map(|m| m.ino()).unwrap_or(0);
        Ok((e.file_name().to_string_lossy().into_owned().into_bytes(), ino))
    }

    /// A path's bytes as the guest sees them: UTF-8, with `/` separators.
    pub(crate) fn path_bytes(p: &std::path::Path) -> Vec<u8> {
        p.to_string_lossy().replace('\\', "/").into_bytes()
    }

    /// A Windows handle opened for appending can never write elsewhere,
    /// while WASI lets a guest turn `APPEND` on and off: so kiln appends
    /// itself, moving to the end before each write of a descriptor with
    /// `APPEND` (not atomic against other processes writing the file).
    pub(crate) const OS_APPEND: bool = false;

    /// `APPEND` is kiln's to honour (see [`OS_APPEND`]) and `NONBLOCK`
    /// means nothing for files, which never block: the caller records both.
    pub(crate) fn set_flags(_f: &cap_std::fs::File, _append: bool, _nonblock: bool) -> Result<(), Errno> {
        Ok(())
    }

    /// Files never block on Windows.
    pub(crate) fn set_nonblocking(_f: &cap_std::fs::File) -> Result<(), Errno> {
        Ok(())
    }

    /// A hint, taken as given: Windows has no per-range file advice.
    pub(crate) fn advise(_f: &cap_std::fs::File, _offset: u64, _len: u64, _advice: u32) -> Result<(), Errno> {
        Ok(())
    }

    /// `fd_allocate`: the file is at least `offset + len` bytes long
    /// afterwards (Windows allocates the space of a file's length).
    pub(crate) fn allocate(f: &cap_std::fs::File, offset: u64, len: u64) -> Result<(), Errno> {
        let end = offset.checked_add(len).ok_or(Errno::Fbig)?;
        if f.metadata()?.len() < end {
            f.set_len(end)?;
        }
        Ok(())
    }

    /// The resolution of a clock in nanoseconds: the wall clock counts in
    /// units of 100 ns; the monotonic clock is the performance counter.
    pub(crate) fn clock_resolution(realtime: bool) -> u64 {
        if realtime {
            return 100;
        }
        let mut freq = 0i64;
        // SAFETY: `freq` is a writable local; the call cannot fail on
        // Windows XP and later.
        #[allow(unsafe_code)]
        unsafe {
            windows_sys::Win32::System::Performance::QueryPerformanceFrequency(&mut freq)
        };
        if freq > 0 {
            (1_000_000_000 / freq as u64).max(1)
        } else {
            1
        }
    }

    /// A Win32 error code as a WASI errno.
    pub(crate) fn os_errno(code: i32) -> Errno {
        use windows_sys::Win32::Foundation::*;
        match code as u32 {
            ERROR_FILE_NOT_FOUND | ERROR_PATH_NOT_FOUND | ERROR_INVALID_DRIVE | ERROR_BAD_NETPATH => Errno::Noent,
            ERROR_ACCESS_DENIED | ERROR_NETWORK_ACCESS_DENIED => Errno::Acces,
            ERROR_INVALID_HANDLE => Errno::Badf,
            ERROR_NOT_ENOUGH_MEMORY | ERROR_OUTOFMEMORY => Errno::Nomem,
            ERROR_NOT_SAME_DEVICE => Errno::Xdev,
            ERROR_WRITE_PROTECT => Errno::Rofs,
            ERROR_SHARING_VIOLATION | ERROR_BUSY => Errno::Busy,
            ERROR_LOCK_VIOLATION => Errno::Nolck,
            ERROR_NOT_SUPPORTED | ERROR_CALL_NOT_IMPLEMENTED => Errno::Notsup,
            ERROR_FILE_EXISTS | ERROR_ALREADY_EXISTS => Errno::Exist,
            ERROR_INVALID_PARAMETER | ERROR_NEGATIVE_SEEK => Errno::Inval,
            ERROR_BROKEN_PIPE | ERROR_NO_DATA => Errno::Pipe,
            ERROR_DISK_FULL | ERROR_HANDLE_DISK_FULL => Errno::Nospc,
            ERROR_INVALID_NAME | ERROR_BAD_PATHNAME => Errno::Noent,
            ERROR_DIR_NOT_EMPTY => Errno::Notempty,
            ERROR_FILENAME_EXCED_RANGE => Errno::Nametoolong,
            ERROR_DIRECTORY => Errno::Notdir,
            ERROR_PRIVILEGE_NOT_HELD => Errno::Perm,
            ERROR_CANT_RESOLVE_FILENAME => Errno::Loop,
            ERROR_TOO_MANY_OPEN_FILES => Errno::Mfile,
            ERROR_TIMEOUT => Errno::Timedout,
            _ => Errno::Io,
        }
    }
}
