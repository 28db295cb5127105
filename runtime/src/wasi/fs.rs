//! `fd_*` and `path_*`: descriptors, files and directories.
//!
//! Every path the guest names is resolved by cap-std relative to an open
//! `cap_std::fs::Dir` (a preopen, or a directory opened through one);
//! cap-std refuses any resolution that would leave that directory
//! (absolute paths, `..` above it, symlinks pointing out of it), so this
//! file contains no path checks of its own. Every guest pointer goes
//! through [`GuestMemory`]; result slots are checked before anything with
//! a side effect happens.

// The functions take the WASI signatures' arguments one by one.
#![allow(clippy::too_many_arguments)]

use super::errno::{Errno, WasiResult};
use super::fd_table::{rights::*, Descriptor, Kind};
use super::guest::{GuestMemory, IoVec};
use super::host;
use super::WasiCtx;
use cap_fs_ext::{DirExt, FileTypeExt, FollowSymlinks, MetadataExt, OpenOptionsFollowExt, OpenOptionsSyncExt};
use std::io::{Read, Seek, SeekFrom, Write};
use std::time::{Duration, SystemTime};

// `filetype`
const FILETYPE_UNKNOWN: u8 = 0;
const FILETYPE_BLOCK_DEVICE: u8 = 1;
const FILETYPE_CHARACTER_DEVICE: u8 = 2;
const FILETYPE_DIRECTORY: u8 = 3;
const FILETYPE_REGULAR_FILE: u8 = 4;
const FILETYPE_SOCKET_STREAM: u8 = 6;
const FILETYPE_SYMBOLIC_LINK: u8 = 7;
// `fdflags`
const FDFLAGS_APPEND: u32 = 1;
const FDFLAGS_DSYNC: u32 = 2;
const FDFLAGS_NONBLOCK: u32 = 4;
const FDFLAGS_RSYNC: u32 = 8;
const FDFLAGS_SYNC: u32 = 16;
// `oflags`
const OFLAGS_CREAT: u32 = 1;
const OFLAGS_DIRECTORY: u32 = 2;
const OFLAGS_EXCL: u32 = 4;
const OFLAGS_TRUNC: u32 = 8;
// `lookupflags`
const LOOKUP_SYMLINK_FOLLOW: u32 = 1;
// `fstflags`
const FST_ATIM: u32 = 1;
const FST_ATIM_NOW: u32 = 2;
const FST_MTIM: u32 = 4;
const FST_MTIM_NOW: u32 = 8;

/// Largest byte count one call reports (the result is a `u32`).
const MAX_TRANSFER: usize = u32::MAX as usize;

/// The scatter/gather loop of `fd_read`, `fd_write`, `fd_pread` and
/// `fd_pwrite`: `step(iovec, bytes moved so far, room)` moves at most `room`
/// bytes of one buffer. It returns `Err` for a failure that fails the call
/// outright (a bad pointer, a bad descriptor) and `Ok(Err)` for an I/O error,
/// which fails the call only if nothing was moved yet — otherwise the count
/// so far is the result, as POSIX reports a partial transfer. The loop stops
/// at a short transfer and at the largest count a `u32` can report.
fn transfer(
    iovs: &[IoVec],
    mut step: impl FnMut(&IoVec, usize, usize) -> WasiResult<Result<usize, Errno>>,
) -> WasiResult<usize> {
    let mut total = 0usize;
    for v in iovs {
        let room = (v.len as usize).min(MAX_TRANSFER - total);
        let n = match step(v, total, room)? {
            Ok(n) => n,
            Err(e) if total == 0 => return Err(e),
            Err(_) => break,
        };
        total += n;
        if n < room || total == MAX_TRANSFER {
            break;
        }
    }
    Ok(total)
}

fn filetype(ty: cap_std::fs::FileType) -> u8 {
    if ty.is_dir() {
        FILETYPE_DIRECTORY
    } else if ty.is_file() {
        FILETYPE_REGULAR_FILE
    } else if ty.is_symlink() {
        FILETYPE_SYMBOLIC_LINK
    } else if ty.is_block_device() {
        FILETYPE_BLOCK_DEVICE
    } else if ty.is_char_device() {
        FILETYPE_CHARACTER_DEVICE
    } else if ty.is_socket() {
        FILETYPE_SOCKET_STREAM
    } else {
        FILETYPE_UNKNOWN
    }
}

/// A `filestat` (64 bytes) for host metadata.
fn filestat(m: &cap_std::fs::Metadata) -> [u8; 64] {
    let mut out = [0u8; 64];
    out[0..8].copy_from_slice(&m.dev().to_le_bytes());
    out[8..16].copy_from_slice(&m.ino().to_le_bytes());
    out[16] = filetype(m.file_type());
    out[24..32].copy_from_slice(&m.nlink().to_le_bytes());
    out[32..40].copy_from_slice(&m.len().to_le_bytes());
    let (atim, mtim) = host::access_and_modification_times(m);
    out[40..48].copy_from_slice(&atim.to_le_bytes());
    out[48..56].copy_from_slice(&mtim.to_le_bytes());
    out[56..64].copy_from_slice(&host::change_time(m).to_le_bytes());
    out
}

/// A time to set: now, or a point in time.
enum TimeSpec {
    Now,
    At(SystemTime),
}

impl TimeSpec {
    fn fs(self) -> fs_set_times::SystemTimeSpec {
        match self {
            TimeSpec::Now => fs_set_times::SystemTimeSpec::SymbolicNow,
            TimeSpec::At(t) => fs_set_times::SystemTimeSpec::Absolute(t),
        }
    }

    fn cap(self) -> cap_fs_ext::SystemTimeSpec {
        match self {
            TimeSpec::Now => cap_fs_ext::SystemTimeSpec::SymbolicNow,
            TimeSpec::At(t) => cap_fs_ext::SystemTimeSpec::Absolute(cap_std::time::SystemTime::from_std(t)),
        }
    }
}

/// Decode `fstflags` and the two timestamps.
fn times(atim: u64, mtim: u64, fst: u32) -> WasiResult<(Option<TimeSpec>, Option<TimeSpec>)> {
    if fst & !(FST_ATIM | FST_ATIM_NOW | FST_MTIM | FST_MTIM_NOW) != 0 {
        return Err(Errno::Inval);
    }
    let one = |set: u32, now: u32, ns: u64| -> WasiResult<Option<TimeSpec>> {
        match (fst & set != 0, fst & now != 0) {
            (true, true) => Err(Errno::Inval),
            (_, true) => Ok(Some(TimeSpec::Now)),
            (true, false) => Ok(Some(TimeSpec::At(
                SystemTime::UNIX_EPOCH.checked_add(Duration::from_nanos(ns)).ok_or(Errno::Inval)?,
            ))),
            (false, false) => Ok(None),
        }
    };
    Ok((one(FST_ATIM, FST_ATIM_NOW, atim)?, one(FST_MTIM, FST_MTIM_NOW, mtim)?))
}

/// A WASI `advice` (normal, sequential, random, willneed, dontneed,
/// noreuse), checked.
fn advice(a: u32) -> WasiResult<u32> {
    if a <= 5 {
        Ok(a)
    } else {
        Err(Errno::Inval)
    }
}

/// An `(offset, len)` pair the OS takes as signed 64-bit values.
fn check_extent(offset: u64, len: u64) -> WasiResult {
    match offset.checked_add(len) {
        Some(end) if end <= i64::MAX as u64 => Ok(()),
        _ => Err(Errno::Inval),
    }
}

/// Every entry of `dir`, `.` and `..` first.
fn list(dir: &cap_std::fs::Dir) -> WasiResult<Vec<super::fd_table::Entry>> {
    let own_ino = dir.dir_metadata()?.ino();
    let mut entries = vec![(b".".to_vec(), own_ino, FILETYPE_DIRECTORY), (b"..".to_vec(), own_ino, FILETYPE_DIRECTORY)];
    for e in dir.entries()? {
        let e = e?;
        let (name, ino) = host::dir_entry(&e)?;
        entries.push((name, ino, filetype(e.file_type()?)));
    }
    Ok(entries)
}

fn follow(lookupflags: u32) -> bool {
    lookupflags & LOOKUP_SYMLINK_FOLLOW != 0
}

impl WasiCtx {
    // ---- reading and writing -------------------------------------------

    pub(crate) fn fd_read(
        &mut self,
        mem: &mut GuestMemory,
        fd: u32,
        iovs: u32,
        iovs_len: u32,
        nread: u32,
    ) -> WasiResult {
        let iovs = mem.iovecs(iovs, iovs_len)?;
        mem.check_out(nread, 4)?;
        let d = self.table.get_mut(fd)?;
        if d.rights & FD_READ == 0 {
            return Err(if matches!(d.kind, Kind::Dir(_)) { Errno::Isdir } else { Errno::Notcapable });
        }
        let total = transfer(&iovs, |v, _, room| {
            let buf = &mut mem.slice_mut(v.ptr, v.len)?[..room];
            Ok(match &mut d.kind {
                Kind::File(f) => (&*f).read(buf).map_err(Errno::from),
                Kind::Stdin(input) => input.read(buf).map_err(Errno::from),
                _ => return Err(Errno::Badf),
            })
        })?;
        mem.write_u32(nread, total as u32)
    }

    pub(crate) fn fd_write(
        &mut self,
        mem: &mut GuestMemory,
        fd: u32,
        iovs: u32,
        iovs_len: u32,
        nwritten: u32,
    ) -> WasiResult {
        let iovs = mem.iovecs(iovs, iovs_len)?;
        mem.check_out(nwritten, 4)?;
        let d = self.table.get_mut(fd)?;
        if d.rights & FD_WRITE == 0 {
            return Err(if matches!(d.kind, Kind::Dir(_)) { Errno::Isdir } else { Errno::Notcapable });
        }
        let append = !host::OS_APPEND && u32::from(d.fdflags) & FDFLAGS_APPEND != 0;
        let total = transfer(&iovs, |v, _, room| {
            let buf = &mem.slice(v.ptr, v.len)?[..room];
            Ok(match &mut d.kind {
                Kind::File(f) if append => {
                    (&*f).seek(SeekFrom::End(0)).and_then(|_| (&*f).write(buf)).map_err(Errno::from)
                }
                Kind::File(f) => (&*f).write(buf).map_err(Errno::from),
                Kind::Output(out) => out.write(buf),
                _ => return Err(Errno::Badf),
            })
        })?;
        mem.write_u32(nwritten, total as u32)
    }

    pub(crate) fn fd_pread(
        &mut self,
        mem: &mut GuestMemory,
        fd: u32,
        iovs: u32,
        iovs_len: u32,
        offset: u64,
        nread: u32,
    ) -> WasiResult {
        let iovs = mem.iovecs(iovs, iovs_len)?;
        mem.check_out(nread, 4)?;
        let f = self.seekable(fd, FD_READ | FD_SEEK)?;
        let total = transfer(&iovs, |v, done, room| {
            let buf = &mut mem.slice_mut(v.ptr, v.len)?[..room];
            let at = offset.checked_add(done as u64).ok_or(Errno::Inval)?;
            Ok(host::read_at(f, buf, at).map_err(Errno::from))
        })?;
        mem.write_u32(nread, total as u32)
    }

    pub(crate) fn fd_pwrite(
        &mut self,
        mem: &mut GuestMemory,
        fd: u32,
        iovs: u32,
        iovs_len: u32,
        offset: u64,
        nwritten: u32,
    ) -> WasiResult {
        let iovs = mem.iovecs(iovs, iovs_len)?;
        mem.check_out(nwritten, 4)?;
        let f = self.seekable(fd, FD_WRITE | FD_SEEK)?;
        let total = transfer(&iovs, |v, done, room| {
            let buf = &mem.slice(v.ptr, v.len)?[..room];
            let at = offset.checked_add(done as u64).ok_or(Errno::Inval)?;
            check_extent(at, buf.len() as u64)?;
            Ok(host::write_at(f, buf, at).map_err(Errno::from))
        })?;
        mem.write_u32(nwritten, total as u32)
    }

    /// A file that positioned I/O may use: stdio is a stream (`ESPIPE`).
    fn seekable(&self, fd: u32, right: u64) -> WasiResult<&cap_std::fs::File> {
        match &self.table.get(fd)?.kind {
            Kind::Stdin(_) | Kind::Output(_) => Err(Errno::Spipe),
            _ => self.table.file(fd, right),
        }
    }

    pub(crate) fn fd_seek(
        &mut self,
        mem: &mut GuestMemory,
        fd: u32,
        offset: i64,
        whence: u32,
        newoffset: u32,
    ) -> WasiResult {
        mem.check_out(newoffset, 8)?;
        let right = if whence == 1 && offset == 0 { FD_TELL } else { FD_SEEK };
        let f = self.seekable(fd, right)?;
        let pos = match whence {
            0 => SeekFrom::Start(u64::try_from(offset).map_err(|_| Errno::Inval)?),
            1 => SeekFrom::Current(offset),
            2 => SeekFrom::End(offset),
            _ => return Err(Errno::Inval),
        };
        let new = { f }.seek(pos)?;
        mem.write_u64(newoffset, new)
    }

    pub(crate) fn fd_tell(&mut self, mem: &mut GuestMemory, fd: u32, offset: u32) -> WasiResult {
        mem.check_out(offset, 8)?;
        let f = self.seekable(fd, FD_TELL)?;
        let pos = { f }.stream_position()?;
        mem.write_u64(offset, pos)
    }

    // ---- descriptor state ----------------------------------------------

    pub(crate) fn fd_close(&mut self, _mem: &mut GuestMemory, fd: u32) -> WasiResult {
        self.table.remove(fd).map(drop)
    }

    pub(crate) fn fd_renumber(&mut self, _mem: &mut GuestMemory, from: u32, to: u32) -> WasiResult {
        if !self.table.contains(from) || !self.table.contains(to) {
            return Err(Errno::Badf);
        }
        if from != to {
            let d = self.table.remove(from)?;
            self.table.insert(to, d);
        }
        Ok(())
    }

    pub(crate) fn fd_fdstat_get(&mut self, mem: &mut GuestMemory, fd: u32, buf: u32) -> WasiResult {
        mem.check_out(buf, 24)?;
        let d = self.table.get(fd)?;
        let (ty, flags) = match &d.kind {
            // The flags it was opened with, or last set to.
            Kind::File(f) => (filetype(f.metadata()?.file_type()), d.fdflags),
            Kind::Dir(_) => (FILETYPE_DIRECTORY, 0),
            Kind::Stdin(_) | Kind::Output(_) => (stdio_type(&d.kind), d.fdflags),
        };
        let mut out = [0u8; 24];
        out[0] = ty;
        out[2..4].copy_from_slice(&flags.to_le_bytes());
        out[8..16].copy_from_slice(&d.rights.to_le_bytes());
        out[16..24].copy_from_slice(&d.inheriting.to_le_bytes());
        mem.write_bytes(buf, &out)
    }

    pub(crate) fn fd_fdstat_set_flags(&mut self, _mem: &mut GuestMemory, fd: u32, flags: u32) -> WasiResult {
        self.table.require(fd, FD_FDSTAT_SET_FLAGS)?;
        if flags & !(FDFLAGS_APPEND | FDFLAGS_NONBLOCK) != 0 {
            // The sync flags cannot be changed on an open descriptor.
            return Err(if flags > 0xffff { Errno::Inval } else { Errno::Notsup });
        }
        let d = self.table.get_mut(fd)?;
        match &mut d.kind {
            Kind::File(f) => {
                host::set_flags(f, flags & FDFLAGS_APPEND != 0, flags & FDFLAGS_NONBLOCK != 0)?;
                let sync = u32::from(d.fdflags) & (FDFLAGS_DSYNC | FDFLAGS_RSYNC | FDFLAGS_SYNC);
                d.fdflags = (sync | flags) as u16;
            }
            Kind::Dir(_) => return Err(Errno::Badf),
            _ => d.fdflags = flags as u16,
        }
        Ok(())
    }

    pub(crate) fn fd_fdstat_set_rights(
        &mut self,
        _mem: &mut GuestMemory,
        fd: u32,
        base: u64,
        inheriting: u64,
    ) -> WasiResult {
        let d = self.table.get_mut(fd)?;
        // Rights can only be dropped, never gained.
        if base & !d.rights != 0 || inheriting & !d.inheriting != 0 {
            return Err(Errno::Notcapable);
        }
        d.rights = base;
        d.inheriting = inheriting;
        Ok(())
    }

    pub(crate) fn fd_filestat_get(&mut self, mem: &mut GuestMemory, fd: u32, buf: u32) -> WasiResult {
        mem.check_out(buf, 64)?;
        let d = self.table.require(fd, FD_FILESTAT_GET)?;
        let out = match &d.kind {
            Kind::File(f) => filestat(&f.metadata()?),
            Kind::Dir(dir) => filestat(&dir.dir_metadata()?),
            Kind::Stdin(_) | Kind::Output(_) => {
                let mut out = [0u8; 64];
                out[16] = stdio_type(&d.kind);
                out
            }
        };
        mem.write_bytes(buf, &out)
    }

    pub(crate) fn fd_filestat_set_size(&mut self, _mem: &mut GuestMemory, fd: u32, size: u64) -> WasiResult {
        let f = self.table.file(fd, FD_FILESTAT_SET_SIZE)?;
        check_extent(size, 0)?;
        f.set_len(size)?;
        Ok(())
    }

    pub(crate) fn fd_filestat_set_times(
        &mut self,
        _mem: &mut GuestMemory,
        fd: u32,
        atim: u64,
        mtim: u64,
        fst: u32,
    ) -> WasiResult {
        let d = self.table.require(fd, FD_FILESTAT_SET_TIMES)?;
        let (a, m) = times(atim, mtim, fst)?;
        match &d.kind {
            Kind::File(f) => fs_set_times::SetTimes::set_times(f, a.map(TimeSpec::fs), m.map(TimeSpec::fs))?,
            Kind::Dir(dir) => dir.set_times(".", a.map(TimeSpec::cap), m.map(TimeSpec::cap))?,
            _ => return Err(Errno::Badf),
        }
        Ok(())
    }

    pub(crate) fn fd_advise(&mut self, _mem: &mut GuestMemory, fd: u32, offset: u64, len: u64, adv: u32) -> WasiResult {
        let f = self.table.file(fd, FD_ADVISE)?;
        let adv = advice(adv)?;
        check_extent(offset, len)?;
        // Advice is a hint; Apple systems take none (`posix_fadvise` does
        // not exist there), which is a correct way to follow it.
        host::advise(f, offset, len, adv)
    }

    pub(crate) fn fd_allocate(&mut self, _mem: &mut GuestMemory, fd: u32, offset: u64, len: u64) -> WasiResult {
        let f = self.table.file(fd, FD_ALLOCATE)?;
        check_extent(offset, len)?;
        host::allocate(f, offset, len)
    }

    pub(crate) fn fd_sync(&mut self, _mem: &mut GuestMemory, fd: u32) -> WasiResult {
        let d = self.table.require(fd, FD_SYNC)?;
        match &d.kind {
            Kind::File(f) => f.sync_all()?,
            Kind::Dir(dir) => host::sync_dir(dir, false)?,
            _ => return Err(Errno::Inval),
        }
        Ok(())
    }

    pub(crate) fn fd_datasync(&mut self, _mem: &mut GuestMemory, fd: u32) -> WasiResult {
        let d = self.table.require(fd, FD_DATASYNC)?;
        match &d.kind {
            Kind::File(f) => f.sync_data()?,
            Kind::Dir(dir) => host::sync_dir(dir, true)?,
            _ => return Err(Errno::Inval),
        }
        Ok(())
    }

    // ---- preopens and directory listing --------------------------------

    pub(crate) fn fd_prestat_get(&mut self, mem: &mut GuestMemory, fd: u32, buf: u32) -> WasiResult {
        mem.check_out(buf, 8)?;
        let name = self.table.get(fd)?.preopen.as_ref().ok_or(Errno::Badf)?;
        let mut out = [0u8; 8];
        out[4..8].copy_from_slice(&(name.len() as u32).to_le_bytes());
        mem.write_bytes(buf, &out)
    }

    pub(crate) fn fd_prestat_dir_name(&mut self, mem: &mut GuestMemory, fd: u32, path: u32, len: u32) -> WasiResult {
        let name = self.table.get(fd)?.preopen.as_ref().ok_or(Errno::Badf)?;
        mem.range(path, len)?;
        if (len as usize) < name.len() {
            return Err(Errno::Nametoolong);
        }
        mem.write_bytes(path, name.as_bytes())
    }

    pub(crate) fn fd_readdir(
        &mut self,
        mem: &mut GuestMemory,
        fd: u32,
        buf: u32,
        buf_len: u32,
        cookie: u64,
        bufused: u32,
    ) -> WasiResult {
        mem.range(buf, buf_len)?;
        mem.check_out(bufused, 4)?;
        let (dir, _) = self.table.dir(fd, FD_READDIR)?;
        // Cookie n means "start at the n-th entry"; each entry's d_next is
        // the cookie of the one after it. Cookie 0 (re)reads the directory.
        let fresh = match (cookie, &self.table.get(fd)?.listing) {
            (0, _) | (_, None) => Some(list(dir)?),
            _ => None,
        };
        let d = self.table.get_mut(fd)?;
        if let Some(entries) = fresh {
            d.listing = Some(entries);
        }
        let entries = d.listing.as_deref().unwrap_or_default();
        let mut out = Vec::new();
        for (i, (name, ino, ty)) in entries.iter().enumerate().skip(usize::try_from(cookie).unwrap_or(usize::MAX)) {
            if out.len() >= buf_len as usize {
                break;
            }
            let (ino, ty) = (*ino, *ty);
            out.extend_from_slice(&(i as u64 + 1).to_le_bytes());
            out.extend_from_slice(&ino.to_le_bytes());
            out.extend_from_slice(&(name.len() as u32).to_le_bytes());
            out.extend_from_slice(&[ty, 0, 0, 0]);
            out.extend_from_slice(name);
        }
        // A full buffer tells the guest to call again with a larger one
        // or a later cookie.
        let n = out.len().min(buf_len as usize);
        mem.write_bytes(buf, &out[..n])?;
        mem.write_u32(bufused, n as u32)
    }

    // ---- paths -----------------------------------------------------------

    pub(crate) fn path_open(
        &mut self,
        mem: &mut GuestMemory,
        fd: u32,
        dirflags: u32,
        path: u32,
        path_len: u32,
        oflags: u32,
        base: u64,
        inheriting: u64,
        fdflags: u32,
        opened: u32,
    ) -> WasiResult {
        mem.check_out(opened, 4)?;
        let path = mem.path(path, path_len)?;
        if oflags & !(OFLAGS_CREAT | OFLAGS_DIRECTORY | OFLAGS_EXCL | OFLAGS_TRUNC) != 0
            || fdflags & !(FDFLAGS_APPEND | FDFLAGS_DSYNC | FDFLAGS_NONBLOCK | FDFLAGS_RSYNC | FDFLAGS_SYNC) != 0
        {
            return Err(Errno::Inval);
        }
        let (creat, directory, excl, trunc) = (
            oflags & OFLAGS_CREAT != 0,
            oflags & OFLAGS_DIRECTORY != 0,
            oflags & OFLAGS_EXCL != 0,
            oflags & OFLAGS_TRUNC != 0,
        );
        let mut needed = PATH_OPEN;
        if creat {
            needed |= PATH_CREATE_FILE;
        }
        if trunc {
            needed |= PATH_FILESTAT_SET_SIZE;
        }
        let (dir, parent) = self.table.dir(fd, needed)?;
        if !self.table.has_room() {
            // Before opening, so a refused open creates or truncates nothing.
            return Err(Errno::Mfile);
        }
        // Asking to write where writing is not granted is refused; other
        // rights are quietly narrowed to what the directory passes on.
        if (base & FD_WRITE != 0 || fdflags & FDFLAGS_APPEND != 0) && parent.inheriting & FD_WRITE == 0 {
            return Err(Errno::Notcapable);
        }
        let base = base & parent.inheriting;
        let inheriting = inheriting & parent.inheriting;
        let read = base & (FD_READ | FD_READDIR) != 0;
        let write = base & (FD_WRITE | FD_ALLOCATE | FD_FILESTAT_SET_SIZE) != 0 || fdflags & FDFLAGS_APPEND != 0;

        let kind = if directory {
            if creat || excl || trunc {
                return Err(Errno::Inval);
            }
            Kind::Dir(if follow(dirflags) { dir.open_dir(&path)? } else { dir.open_dir_nofollow(&path)? })
        } else {
            let mut opts = cap_std::fs::OpenOptions::new();
            // Creating or truncating needs a writable OS descriptor even when
            // the guest did not ask to write; its rights still say what it may do.
            opts.read(read || !write).write(write || creat || trunc);
            opts.append(host::OS_APPEND && fdflags & FDFLAGS_APPEND != 0);
            if creat && excl {
                opts.create_new(true);
            } else if creat {
                opts.create(true);
            }
            opts.truncate(trunc);
            opts.follow(if follow(dirflags) { FollowSymlinks::Yes } else { FollowSymlinks::No });
            opts.dsync(fdflags & FDFLAGS_DSYNC != 0)
                .sync(fdflags & FDFLAGS_SYNC != 0)
                .rsync(fdflags & FDFLAGS_RSYNC != 0);
            let file = host::open_file_or_dir(dir, &path, &mut opts, follow(dirflags))?;
            // POSIX refuses to open a directory for writing; Windows opens
            // it, so refuse here on every host.
            if (write || creat || trunc) && file.metadata()?.is_dir() {
                return Err(Errno::Isdir);
            }
            if fdflags & FDFLAGS_NONBLOCK != 0 {
                host::set_nonblocking(&file)?;
            }
            if file.metadata()?.is_dir() {
                Kind::Dir(cap_std::fs::Dir::from_std_file(file.into_std()))
            } else {
                Kind::File(file)
            }
        };
        let d = match kind {
            Kind::Dir(_) => Descriptor::new(kind, base & DIR, inheriting),
            _ => {
                let mut d = Descriptor::new(kind, base & FILE, 0);
                // Recorded, for fd_fdstat_get.
                d.fdflags = fdflags as u16;
                d
            }
        };
        let new = self.table.push(d)?;
        mem.write_u32(opened, new)
    }

    pub(crate) fn path_create_directory(&mut self, mem: &mut GuestMemory, fd: u32, path: u32, len: u32) -> WasiResult {
        let path = mem.path(path, len)?;
        let (dir, _) = self.table.dir(fd, PATH_CREATE_DIRECTORY)?;
        dir.create_dir(path)?;
        Ok(())
    }

    pub(crate) fn path_remove_directory(&mut self, mem: &mut GuestMemory, fd: u32, path: u32, len: u32) -> WasiResult {
        let path = mem.path(path, len)?;
        let (dir, _) = self.table.dir(fd, PATH_REMOVE_DIRECTORY)?;
        dir.remove_dir(path)?;
        Ok(())
    }

    pub(crate) fn path_unlink_file(&mut self, mem: &mut GuestMemory, fd: u32, path: u32, len: u32) -> WasiResult {
        let path = mem.path(path, len)?;
        let (dir, _) = self.table.dir(fd, PATH_UNLINK_FILE)?;
        dir.remove_file_or_symlink(path)?;
        Ok(())
    }

    pub(crate) fn path_filestat_get(
        &mut self,
        mem: &mut GuestMemory,
        fd: u32,
        flags: u32,
        path: u32,
        len: u32,
        buf: u32,
    ) -> WasiResult {
        mem.check_out(buf, 64)?;
        let path = mem.path(path, len)?;
        let (dir, _) = self.table.dir(fd, PATH_FILESTAT_GET)?;
        let m = if follow(flags) { dir.metadata(path)? } else { dir.symlink_metadata(path)? };
        mem.write_bytes(buf, &filestat(&m))
    }

    pub(crate) fn path_filestat_set_times(
        &mut self,
        mem: &mut GuestMemory,
        fd: u32,
        flags: u32,
        path: u32,
        len: u32,
        atim: u64,
        mtim: u64,
        fst: u32,
    ) -> WasiResult {
        let path = mem.path(path, len)?;
        let (dir, _) = self.table.dir(fd, PATH_FILESTAT_SET_TIMES)?;
        let (a, m) = times(atim, mtim, fst)?;
        let (a, m) = (a.map(TimeSpec::cap), m.map(TimeSpec::cap));
        if follow(flags) {
            dir.set_times(path, a, m)?;
        } else {
            dir.set_symlink_times(path, a, m)?;
        }
        Ok(())
    }

    pub(crate) fn path_rename(
        &mut self,
        mem: &mut GuestMemory,
        fd: u32,
        old: u32,
        old_len: u32,
        new_fd: u32,
        new: u32,
        new_len: u32,
    ) -> WasiResult {
        let (old, new) = (mem.path(old, old_len)?, mem.path(new, new_len)?);
        let (src, _) = self.table.dir(fd, PATH_RENAME_SOURCE)?;
        let (dst, _) = self.table.dir(new_fd, PATH_RENAME_TARGET)?;
        src.rename(old, dst, new)?;
        Ok(())
    }

    pub(crate) fn path_link(
        &mut self,
        mem: &mut GuestMemory,
        old_fd: u32,
        _old_flags: u32,
        old: u32,
        old_len: u32,
        new_fd: u32,
        new: u32,
        new_len: u32,
    ) -> WasiResult {
        // The link is made to `old` itself: a symlink is linked, not followed
        // (cap-std resolves no final symlink here, whatever the flags say).
        let (old, new) = (mem.path(old, old_len)?, mem.path(new, new_len)?);
        let (src, _) = self.table.dir(old_fd, PATH_LINK_SOURCE)?;
        let (dst, _) = self.table.dir(new_fd, PATH_LINK_TARGET)?;
        src.hard_link(old, dst, new)?;
        Ok(())
    }

    pub(crate) fn path_symlink(
        &mut self,
        mem: &mut GuestMemory,
        old: u32,
        old_len: u32,
        fd: u32,
        new: u32,
        new_len: u32,
    ) -> WasiResult {
        let (target, link) = (mem.path(old, old_len)?, mem.path(new, new_len)?);
        let (dir, _) = self.table.dir(fd, PATH_SYMLINK)?;
        // cap-std refuses absolute targets; relative ones that lead out are
        // created but can never be followed from inside the sandbox.
        dir.symlink(target, link)?;
        Ok(())
    }

    pub(crate) fn path_readlink(
        &mut self,
        mem: &mut GuestMemory,
        fd: u32,
        path: u32,
        len: u32,
        buf: u32,
        buf_len: u32,
        bufused: u32,
    ) -> WasiResult {
        mem.range(buf, buf_len)?;
        mem.check_out(bufused, 4)?;
        let path = mem.path(path, len)?;
        let (dir, _) = self.table.dir(fd, PATH_READLINK)?;
        let target = dir.read_link_contents(path)?;
        let bytes = host::path_bytes(&target);
        let n = bytes.len().min(buf_len as usize);
        mem.write_bytes(buf, &bytes[..n])?;
        mem.write_u32(bufused, n as u32)
    }
}

/// The file type stdio reports: a character device when it is the host's
/// terminal (so the guest's `isatty` is true), unknown for anything else
/// (WASI has no type for pipes).
fn stdio_type(kind: &Kind) -> u8 {
    let terminal = match kind {
        Kind::Stdin(super::Input::Inherit) => std::io::IsTerminal::is_terminal(&std::io::stdin()),
        Kind::Output(o) => o.is_terminal(),
        _ => false,
    };
    if terminal {
        FILETYPE_CHARACTER_DEVICE
    } else {
        FILETYPE_UNKNOWN
    }
}
