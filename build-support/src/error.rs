//! Errors of the compiler: small, structured and located.

use std::fmt;

/// What went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input is not valid WebAssembly (validation or parsing failed).
    Invalid,
    /// The input is valid but uses something kiln cannot compile yet.
    Unsupported,
    /// The target triple or its CPU features are not supported.
    Target,
    /// Cranelift refused the generated code (a kiln bug; reported, never a panic).
    Codegen,
    /// Reading or writing a file (source or cache) failed.
    Io,
    /// A `.wat` file did not parse.
    Text,
    /// A setting of the compiler is unknown or cannot be honoured (a
    /// feature name, a switch value).
    Config,
}

/// A compile error: what, where in the wasm binary, and in which function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(Box<Inner>);

#[derive(Debug, Clone, PartialEq, Eq)]
struct Inner {
    kind: ErrorKind,
    message: String,
    offset: Option<usize>,
    func: Option<u32>,
    /// The function's name, from the name section.
    func_name: Option<String>,
    /// `file:line[:column]` of the offset, from the module's DWARF.
    source: Option<String>,
    path: Option<String>,
}

/// A byte offset in the wasm binary, as any of the integer types the
/// parser uses.
pub trait IntoOffset {
    /// The offset as `usize` (saturating).
    fn into_offset(self) -> usize;
}

impl IntoOffset for usize {
    fn into_offset(self) -> usize {
        self
    }
}

impl IntoOffset for u64 {
    fn into_offset(self) -> usize {
        usize::try_from(self).unwrap_or(usize::MAX)
    }
}

/// Integer literals (`0`) default to `i32`; negative values clamp to 0.
impl IntoOffset for i32 {
    fn into_offset(self) -> usize {
        self.max(0) as usize
    }
}

impl IntoOffset for u32 {
    fn into_offset(self) -> usize {
        self as usize
    }
}

/// Result of the compiler.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    #[cold]
    fn new(kind: ErrorKind, message: String, offset: Option<usize>) -> Self {
        Error(Box::new(Inner { kind, message, offset, func: None, func_name: None, source: None, path: None }))
    }

    /// Invalid wasm at `offset`.
    #[cold]
    pub fn invalid(message: impl Into<String>, offset: impl IntoOffset) -> Self {
        Self::new(ErrorKind::Invalid, message.into(), Some(offset.into_offset()))
    }

    /// Something kiln does not support yet: `what` at `offset`.
    #[cold]
    pub fn unsupported(what: impl fmt::Display, offset: impl IntoOffset) -> Self {
        Self::new(ErrorKind::Unsupported, format!("unsupported: {what}"), Some(offset.into_offset()))
    }

    /// A target problem.
    #[cold]
    pub fn target(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Target, message.into(), None)
    }

    /// A setting that is unknown or cannot be honoured.
    #[cold]
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Config, message.into(), None)
    }

    /// Cranelift failed on generated code.
    #[cold]
    pub fn codegen(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Codegen, message.into(), None)
    }

    /// An I/O failure on `path`.
    #[cold]
    pub fn io(path: &std::path::Path, err: std::io::Error) -> Self {
        let mut e = Self::new(ErrorKind::Io, err.to_string(), None);
        e.0.path = Some(path.display().to_string());
        e
    }

    /// A `.wat` parse failure (the message carries line and column).
    #[cold]
    pub fn text(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Text, message.into(), None)
    }

    /// Attach the index of the function being compiled.
    pub fn in_func(mut self, func: u32) -> Self {
        self.0.func.get_or_insert(func);
        self
    }

    /// Attach the function's name and the source location of the offset
    /// (`file:line:column`), when known.
    pub fn with_source(mut self, func_name: Option<&str>, source: Option<String>) -> Self {
        if self.0.func_name.is_none() {
            self.0.func_name = func_name.map(str::to_owned);
        }
        if self.0.source.is_none() {
            self.0.source = source;
        }
        self
    }

    /// Attach the file the module came from.
    pub fn in_file(mut self, path: impl Into<String>) -> Self {
        self.0.path.get_or_insert(path.into());
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.0.kind
    }

    /// The reason, without location.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// Byte offset in the wasm binary, when known.
    pub fn offset(&self) -> Option<usize> {
        self.0.offset
    }

    /// Index of the function being compiled, when known.
    pub fn func(&self) -> Option<u32> {
        self.0.func
    }

    /// Name of the function being compiled, when the module names it.
    pub fn func_name(&self) -> Option<&str> {
        self.0.func_name.as_deref()
    }

    /// Source location (`file:line:column`) of the offset, from the
    /// module's DWARF, when it has some.
    pub fn source(&self) -> Option<&str> {
        self.0.source.as_deref()
    }

    /// The file, when known.
    pub fn path(&self) -> Option<&str> {
        self.0.path.as_deref()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(path) = &self.0.path {
            write!(f, "{path}: ")?;
        }
        f.write_str(&self.0.message)?;
        let mut parts = Vec::new();
        if let Some(func) = self.0.func {
            parts.push(match &self.0.func_name {
                Some(name) => format!("in function {func} `{name}`"),
                None => format!("in function {func}"),
            });
        }
        if let Some(off) = self.0.offset {
            parts.push(format!("at offset {off:#x}"));
        }
        if let Some(source) = &self.0.source {
            parts.push(format!("at {source}"));
        }
        if !parts.is_empty() {
            write!(f, " ({})", parts.join(", "))?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

impl From<wasmparser::BinaryReaderError> for Error {
    #[cold]
    fn from(e: wasmparser::BinaryReaderError) -> Self {
        Error::invalid(e.message().to_string(), e.offset())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn error_is_one_word() {
        assert_eq!(std::mem::size_of::<super::Error>(), std::mem::size_of::<usize>());
    }
}
