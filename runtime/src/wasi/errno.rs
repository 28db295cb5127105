//! WASI error numbers and the one mapping from host I/O errors to them.
//!
//! Every WASI function returns an [`Errno`] (0 is success). Host errors
//! reach the guest only through [`Errno::from_io`]: OS error codes map
//! one-to-one where WASI has the same meaning; errors that cap-std raises
//! itself when a path would leave its directory (an absolute path, `..`
//! above the root, a symlink pointing outside) carry no OS code and
//! become [`Errno::Notcapable`].

use std::io;

macro_rules! errnos {
    ($($name:ident = $value:literal, $doc:literal;)*) => {
        /// A WASI preview 1 error number, as the guest sees it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u16)]
        pub enum Errno {
            $(#[doc = $doc] $name = $value,)*
        }

        impl Errno {
            /// The error's name in the WASI specification (e.g. `"notcapable"`).
            pub fn name(self) -> &'static str {
                match self {
                    $(Errno::$name => stringify!($name),)*
                }
            }

            /// The errno for a raw value, if it is one.
            pub fn from_raw(raw: i32) -> Option<Errno> {
                match raw {
                    $($value => Some(Errno::$name),)*
                    _ => None,
                }
            }
        }
    };
}

errnos! {
    Success = 0, "No error occurred.";
    TooBig = 1, "Argument list too long.";
    Acces = 2, "Permission denied.";
    Addrinuse = 3, "Address in use.";
    Addrnotavail = 4, "Address not available.";
    Afnosupport = 5, "Address family not supported.";
    Again = 6, "Resource unavailable, or operation would block.";
    Already = 7, "Connection already in progress.";
    Badf = 8, "Bad file descriptor.";
    Badmsg = 9, "Bad message.";
    Busy = 10, "Device or resource busy.";
    Canceled = 11, "Operation canceled.";
    Child = 12, "No child processes.";
    Connaborted = 13, "Connection aborted.";
    Connrefused = 14, "Connection refused.";
    Connreset = 15, "Connection reset.";
    Deadlk = 16, "Resource deadlock would occur.";
    Destaddrreq = 17, "Destination address required.";
    Dom = 18, "Mathematics argument out of domain of function.";
    Dquot = 19, "Reserved.";
    Exist = 20, "File exists.";
    Fault = 21, "Bad address: a guest pointer or length outside its memory.";
    Fbig = 22, "File too large.";
    Hostunreach = 23, "Host is unreachable.";
    Idrm = 24, "Identifier removed.";
    Ilseq = 25, "Illegal byte sequence (e.g. a path that is not UTF-8).";
    Inprogress = 26, "Operation in progress.";
    Intr = 27, "Interrupted function.";
    Inval = 28, "Invalid argument.";
    Io = 29, "I/O error.";
    Isconn = 30, "Socket is connected.";
    Isdir = 31, "Is a directory.";
    Loop = 32, "Too many levels of symbolic links.";
    Mfile = 33, "File descriptor value too large.";
    Mlink = 34, "Too many links.";
    Msgsize = 35, "Message too large.";
    Multihop = 36, "Reserved.";
    Nametoolong = 37, "Filename too long.";
    Netdown = 38, "Network is down.";
    Netreset = 39, "Connection aborted by network.";
    Netunreach = 40, "Network unreachable.";
    Nfile = 41, "Too many files open in system.";
    Nobufs = 42, "No buffer space available.";
    Nodev = 43, "No such device.";
    Noent = 44, "No such file or directory.";
    Noexec = 45, "Executable file format error.";
    Nolck = 46, "No locks available.";
    Nolink = 47, "Reserved.";
    Nomem = 48, "Not enough space.";
    Nomsg = 49, "No message of the desired type.";
    Noprotoopt = 50, "Protocol not available.";
    Nospc = 51, "No space left on device.";
    Nosys = 52, "Function not supported.";
    Notconn = 53, "The socket is not connected.";
    Notdir = 54, "Not a directory or a symbolic link to a directory.";
    Notempty = 55, "Directory not empty.";
    Notrecoverable = 56, "State not recoverable.";
    Notsock = 57, "Not a socket.";
    Notsup = 58, "Not supported.";
    Notty = 59, "Inappropriate I/O control operation.";
    Nxio = 60, "No such device or address.";
    Overflow = 61, "Value too large to be stored in data type.";
    Ownerdead = 62, "Previous owner died.";
    Perm = 63, "Operation not permitted.";
    Pipe = 64, "Broken pipe.";
    Proto = 65, "Protocol error.";
    Protonosupport = 66, "Protocol not supported.";
    Prototype = 67, "Protocol wrong type for socket.";
    Range = 68, "Result too large.";
    Rofs = 69, "Read-only file system.";
    Spipe = 70, "Invalid seek.";
    Srch = 71, "No such process.";
    Stale = 72, "Reserved.";
    Timedout = 73, "Connection timed out.";
    Txtbsy = 74, "Text file busy.";
    Xdev = 75, "Cross-device link.";
    Notcapable = 76, "Capabilities insufficient: the descriptor lacks the right, or the path leaves the preopened directory.";
}

impl std::fmt::Display for Errno {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "errno {} ({})", *self as u16, self.name())
    }
}

impl std::error::Error for Errno {}

impl Errno {
    /// The errno a host I/O error becomes.
    pub fn from_io(err: &io::Error) -> Errno {
        if let Some(code) = err.raw_os_error() {
            return super::host::os_errno(code);
        }
        match err.kind() {
            // cap-std's own refusals (escape attempts) carry no OS code.
            io::ErrorKind::PermissionDenied => Errno::Notcapable,
            io::ErrorKind::NotFound => Errno::Noent,
            io::ErrorKind::AlreadyExists => Errno::Exist,
            io::ErrorKind::InvalidInput => Errno::Inval,
            io::ErrorKind::InvalidData => Errno::Ilseq,
            io::ErrorKind::WouldBlock => Errno::Again,
            io::ErrorKind::Interrupted => Errno::Intr,
            io::ErrorKind::Unsupported => Errno::Notsup,
            io::ErrorKind::OutOfMemory => Errno::Nomem,
            io::ErrorKind::BrokenPipe => Errno::Pipe,
            io::ErrorKind::NotADirectory => Errno::Notdir,
            io::ErrorKind::IsADirectory => Errno::Isdir,
            io::ErrorKind::DirectoryNotEmpty => Errno::Notempty,
            io::ErrorKind::StorageFull => Errno::Nospc,
            io::ErrorKind::CrossesDevices => Errno::Xdev,
            io::ErrorKind::InvalidFilename => Errno::Nametoolong,
            io::ErrorKind::FileTooLarge => Errno::Fbig,
            _ => Errno::Io,
        }
    }
}

impl From<io::Error> for Errno {
    fn from(err: io::Error) -> Errno {
        Errno::from_io(&err)
    }
}

/// What a WASI function's body returns; `Ok` is errno 0.
pub(crate) type WasiResult<T = ()> = Result<T, Errno>;

/// The errno value a function returns to the guest.
pub(crate) fn to_raw(r: WasiResult) -> i32 {
    match r {
        Ok(()) => 0,
        Err(e) => e as u16 as i32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_refusals_are_notcapable() {
        let e = io::Error::new(io::ErrorKind::PermissionDenied, "a path led outside of the filesystem");
        assert_eq!(Errno::from_io(&e), Errno::Notcapable);
        #[cfg(unix)]
        let (perm, noent) = (libc::EPERM, libc::ENOENT);
        #[cfg(windows)]
        let (perm, noent) = (
            windows_sys::Win32::Foundation::ERROR_PRIVILEGE_NOT_HELD as i32,
            windows_sys::Win32::Foundation::ERROR_FILE_NOT_FOUND as i32,
        );
        assert_eq!(Errno::from_io(&io::Error::from_raw_os_error(perm)), Errno::Perm);
        assert_eq!(Errno::from_io(&io::Error::from_raw_os_error(noent)), Errno::Noent);
    }

    #[test]
    fn raw_round_trip() {
        for raw in 0..=76 {
            assert_eq!(Errno::from_raw(raw).unwrap() as u16 as i32, raw);
        }
        assert_eq!(Errno::from_raw(77), None);
    }
}
