//! [`add_to_linker`]: every `wasi_snapshot_preview1` import, by name, bound
//! to its implementation on [`WasiCtx`].
//!
//! Each import borrows the caller's exported `memory` and the store's
//! `WasiCtx` at once (`Memory::data_and_store_mut`), wraps the bytes in a
//! [`GuestMemory`] and returns the implementation's errno. Nothing a guest
//! passes can make an import fail in the host: the only errors that leave
//! an import are `proc_exit`'s [`I32Exit`] and the refusal of a memory
//! preview 1 cannot address (64-bit or shared).

use super::errno::{to_raw, Errno};
use super::guest::GuestMemory;
use super::{I32Exit, WasiCtx};
use crate::{Caller, Linker, Val, ValType};

const MODULE: &str = "wasi_snapshot_preview1";

/// The caller's memory (empty if it exports none, so every pointer is
/// `EFAULT`) and the store's data. Preview 1 passes 32-bit pointers into
/// one unshared memory: a 64-bit or shared `memory` is refused with an
/// error (a trap of the calling wasm) rather than misread.
fn memory_and_data<'a, T: 'static>(caller: &'a mut Caller<'_, T>) -> crate::Result<(&'a mut [u8], &'a mut T)> {
    match caller.get_export("memory") {
        Some(crate::Extern::Memory(memory)) => {
            if memory.ty(&mut *caller).memory64 {
                return Err(crate::Error::msg(
                    "WASI preview 1 needs a 32-bit memory: this module's `memory` is 64-bit (memory64)",
                ));
            }
            Ok(memory.data_and_store_mut(caller))
        }
        Some(crate::Extern::SharedMemory(_)) => Err(crate::Error::msg(
            "WASI preview 1 calls on a shared memory are not supported (its bytes may change during the call)",
        )),
        _ => Ok((&mut [], caller.data_mut())),
    }
}

/// Define every WASI preview 1 function in `linker`. `get` finds the
/// [`WasiCtx`] in the store's data.
pub fn add_to_linker<T: 'static>(
    linker: &mut Linker<T>,
    get: impl Fn(&mut T) -> &mut WasiCtx + Send + Sync + Copy + 'static,
) -> crate::Result<()> {
    // `name(arg: type, …)` defines the import `name` calling `WasiCtx::name`.
    macro_rules! wasi {
        ($($name:ident($($arg:ident: $ty:ty),*);)*) => {$(
            linker.func_wrap(MODULE, stringify!($name), move |mut caller: Caller<'_, T>, $($arg: $ty),*| -> crate::Result<i32> {
                let (bytes, data) = memory_and_data(&mut caller)?;
                Ok(to_raw(get(data).$name(&mut GuestMemory::new(bytes), $($arg),*)))
            })?;
        )*};
    }

    wasi! {
        args_get(argv: u32, buf: u32);
        args_sizes_get(argc: u32, size: u32);
        environ_get(environ: u32, buf: u32);
        environ_sizes_get(count: u32, size: u32);
        clock_res_get(clock: u32, res: u32);
        clock_time_get(clock: u32, precision: u64, time: u32);
        random_get(buf: u32, len: u32);
        sched_yield();
        poll_oneoff(input: u32, output: u32, n: u32, nevents: u32);

        fd_advise(fd: u32, offset: u64, len: u64, advice: u32);
        fd_allocate(fd: u32, offset: u64, len: u64);
        fd_close(fd: u32);
        fd_datasync(fd: u32);
        fd_fdstat_get(fd: u32, buf: u32);
        fd_fdstat_set_flags(fd: u32, flags: u32);
        fd_fdstat_set_rights(fd: u32, base: u64, inheriting: u64);
        fd_filestat_get(fd: u32, buf: u32);
        fd_filestat_set_size(fd: u32, size: u64);
        fd_filestat_set_times(fd: u32, atim: u64, mtim: u64, fst: u32);
        fd_pread(fd: u32, iovs: u32, iovs_len: u32, offset: u64, nread: u32);
        fd_prestat_get(fd: u32, buf: u32);
        fd_prestat_dir_name(fd: u32, path: u32, len: u32);
        fd_pwrite(fd: u32, iovs: u32, iovs_len: u32, offset: u64, nwritten: u32);
        fd_read(fd: u32, iovs: u32, iovs_len: u32, nread: u32);
        fd_readdir(fd: u32, buf: u32, buf_len: u32, cookie: u64, bufused: u32);
        fd_renumber(fd: u32, to: u32);
        fd_seek(fd: u32, offset: i64, whence: u32, newoffset: u32);
        fd_sync(fd: u32);
        fd_tell(fd: u32, offset: u32);
        fd_write(fd: u32, iovs: u32, iovs_len: u32, nwritten: u32);

        path_create_directory(fd: u32, path: u32, len: u32);
        path_filestat_get(fd: u32, flags: u32, path: u32, len: u32, buf: u32);
        path_filestat_set_times(fd: u32, flags: u32, path: u32, len: u32, atim: u64, mtim: u64, fst: u32);
        path_link(old_fd: u32, old_flags: u32, old: u32, old_len: u32, new_fd: u32, new: u32, new_len: u32);
        path_readlink(fd: u32, path: u32, len: u32, buf: u32, buf_len: u32, bufused: u32);
        path_remove_directory(fd: u32, path: u32, len: u32);
        path_rename(fd: u32, old: u32, old_len: u32, new_fd: u32, new: u32, new_len: u32);
        path_symlink(old: u32, old_len: u32, fd: u32, new: u32, new_len: u32);
        path_unlink_file(fd: u32, path: u32, len: u32);
    }

    // path_open has nine parameters, more than typed host functions take.
    use ValType::{I32, I64};
    let ty = crate::FuncType { params: [I32, I32, I32, I32, I32, I64, I64, I32, I32].into(), results: [I32].into() };
    linker.func_new(MODULE, "path_open", ty, move |mut caller: Caller<'_, T>, args: &[Val], results: &mut [Val]| {
        let a = |i: usize| args[i].i32().unwrap_or_default() as u32;
        let l = |i: usize| args[i].i64().unwrap_or_default() as u64;
        let (bytes, data) = memory_and_data(&mut caller)?;
        let r = get(data).path_open(&mut GuestMemory::new(bytes), a(0), a(1), a(2), a(3), a(4), l(5), l(6), a(7), a(8));
        results[0] = Val::I32(to_raw(r));
        Ok(())
    })?;

    linker.func_wrap(MODULE, "proc_exit", |code: i32| -> Result<(), I32Exit> { Err(I32Exit(code)) })?;
    linker.func_wrap(MODULE, "proc_raise", |_sig: i32| -> i32 { Errno::Nosys as i32 })?;

    // No sockets can be handed to a guest, so every socket call is on a
    // descriptor that is not one.
    let not_a_socket = move |caller: &mut Caller<'_, T>, fd: u32| -> i32 {
        match get(caller.data_mut()).table.get(fd) {
            Ok(_) => Errno::Notsock as i32,
            Err(e) => e as i32,
        }
    };
    linker.func_wrap(MODULE, "sock_accept", move |mut c: Caller<'_, T>, fd: u32, _: u32, _: u32| {
        not_a_socket(&mut c, fd)
    })?;
    linker.func_wrap(
        MODULE,
        "sock_recv",
        move |mut c: Caller<'_, T>, fd: u32, _: u32, _: u32, _: u32, _: u32, _: u32| not_a_socket(&mut c, fd),
    )?;
    linker.func_wrap(MODULE, "sock_send", move |mut c: Caller<'_, T>, fd: u32, _: u32, _: u32, _: u32, _: u32| {
        not_a_socket(&mut c, fd)
    })?;
    linker.func_wrap(MODULE, "sock_shutdown", move |mut c: Caller<'_, T>, fd: u32, _: u32| not_a_socket(&mut c, fd))?;
    Ok(())
}
