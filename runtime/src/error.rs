//! [`Error`]: one boxed word, with a kind and a message that says what and
//! where.

use crate::trap::Trap;
use std::fmt;

/// What kind of failure an [`Error`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The artifact was refused: corrupt, truncated, foreign, or compiled for
    /// another target, version or configuration.
    Load,
    /// An import could not be satisfied, or had the wrong type.
    Link,
    /// Instantiation failed before running any code (e.g. resources).
    Instantiation,
    /// WebAssembly trapped (also during instantiation).
    Trap,
    /// A value, export or function had another type than asked for.
    Type,
    /// A named export does not exist.
    NotFound,
    /// A handle from one store was used with another.
    WrongStore,
    /// An access outside a memory or table from the host side.
    OutOfBounds,
    /// Error returned by a host function, or raised by user code.
    Host,
    /// A wasm exception no handler caught ([`Error::exception`]); also what
    /// a host function returns to throw one into wasm.
    Exception,
}

/// A kiln error. One pointer wide; details are boxed.
pub struct Error(Box<Inner>);

struct Inner {
    kind: ErrorKind,
    message: String,
    trap: Option<Trap>,
    exception: Option<crate::tag::Exception>,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

/// `Result<T, kiln::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    #[cold]
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error(Box::new(Inner { kind, message: message.into(), trap: None, exception: None, source: None }))
    }

    /// An error with a message, e.g. for a host function to return.
    #[cold]
    pub fn msg(message: impl fmt::Display) -> Self {
        Self::new(ErrorKind::Host, message.to_string())
    }

    /// Wrap any error, e.g. for a host function to return.
    #[cold]
    pub fn host(source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>) -> Self {
        let source = source.into();
        let mut e = Self::new(ErrorKind::Host, source.to_string());
        e.0.source = Some(source);
        e
    }

    #[cold]
    pub(crate) fn load(section: &str, message: impl fmt::Display) -> Self {
        Self::new(ErrorKind::Load, format!("cannot load artifact: {section}: {message}"))
    }

    #[cold]
    pub(crate) fn link(module: &str, field: &str, message: impl fmt::Display) -> Self {
        Self::new(ErrorKind::Link, format!("incompatible import `{module}`::`{field}`: {message}"))
    }

    #[cold]
    pub(crate) fn ty(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Type, message)
    }

    #[cold]
    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    #[cold]
    pub(crate) fn wrong_store(what: &str) -> Self {
        Self::new(ErrorKind::WrongStore, format!("{what} belongs to another store"))
    }

    #[cold]
    pub(crate) fn out_of_bounds(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::OutOfBounds, message)
    }

    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }

    /// The trap, if this error is one.
    pub fn trap(&self) -> Option<&Trap> {
        self.0.trap.as_ref()
    }

    /// The exception, if this error is an uncaught wasm exception (or one a
    /// host function throws).
    pub fn exception(&self) -> Option<&crate::tag::Exception> {
        self.0.exception.as_ref()
    }

    /// Turn into the exception, if this error is one.
    pub fn into_exception(mut self) -> Result<crate::tag::Exception, Error> {
        match self.0.exception.take() {
            Some(x) => Ok(x),
            None => Err(self),
        }
    }

    /// Turn into the trap, if this error is one.
    pub fn into_trap(mut self) -> Result<Trap, Error> {
        match self.0.trap.take() {
            Some(t) => Ok(t),
            None => Err(self),
        }
    }

    /// The error to carry inside a host-error trap: what a host function
    /// returned, unwrapped from the plain wrapper `Error::host` put it in.
    pub(crate) fn into_host_source(mut self) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        if self.0.kind == ErrorKind::Host && self.0.trap.is_none() {
            if let Some(source) = self.0.source.take() {
                return source;
            }
        }
        Box::new(self)
    }

    /// Downcast the host error this wraps, if any.
    pub fn downcast_ref<E: std::error::Error + 'static>(&self) -> Option<&E> {
        if let Some(t) = &self.0.trap {
            let e = t.host_error()?;
            return e.downcast_ref().or_else(|| e.downcast_ref::<Error>()?.downcast_ref());
        }
        self.0.source.as_ref()?.downcast_ref()
    }
}

impl From<crate::tag::Exception> for Error {
    #[cold]
    fn from(x: crate::tag::Exception) -> Self {
        let mut e = Error::new(ErrorKind::Exception, x.to_string());
        e.0.exception = Some(x);
        e
    }
}

impl From<Trap> for Error {
    #[cold]
    fn from(trap: Trap) -> Self {
        let mut e = Error::new(ErrorKind::Trap, trap.to_string());
        e.0.trap = Some(trap);
        e
    }
}

impl fmt::Display for Error {
    /// The message; the alternate form (`{:#}`) adds a trap's backtrace.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.message)?;
        match &self.0.trap {
            Some(trap) if f.alternate() => {
                // The message already names the innermost frame.
                let full = format!("{trap:#}");
                match full.split_once('\n') {
                    Some((_, backtrace)) => write!(f, "\n{backtrace}"),
                    None => Ok(()),
                }
            }
            _ => Ok(()),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Error({:?}: {})", self.0.kind, self.0.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        if let Some(t) = &self.0.trap {
            return Some(t);
        }
        match &self.0.source {
            Some(s) => Some(&**s),
            None => None,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn error_is_one_word() {
        assert_eq!(std::mem::size_of::<super::Error>(), std::mem::size_of::<usize>());
    }
}
