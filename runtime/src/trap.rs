//! [`Trap`]: why wasm stopped, where, and the host error if a host
//! function failed.

pub use kiln_artifact::traps::TrapCode;
use std::fmt;

/// A frame of a trap's backtrace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameInfo {
    /// Index of the function in the module's function index space.
    pub func_index: u32,
    /// The function's name from the name section, if any.
    pub func_name: Option<String>,
    /// Byte offset in the wasm binary of the instruction, if known.
    pub wasm_offset: Option<u32>,
    /// The module's name from its name section, if any.
    pub module_name: Option<String>,
    /// Where the instruction is in the source, from the module's DWARF
    /// when it was compiled with source locations: the function it belongs
    /// to last, after every function inlined at that point, innermost
    /// first. Empty without DWARF.
    pub symbols: Vec<FrameSymbol>,
}

/// A place in the source a wasm frame comes from (see
/// [`FrameInfo::symbols`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameSymbol {
    /// The function, demangled (`greet_plugin::greet`), if DWARF names it.
    pub name: Option<String>,
    /// The source file, as DWARF names it.
    pub file: Option<String>,
    /// 1-based line, if known.
    pub line: Option<u32>,
    /// 1-based column, if known.
    pub column: Option<u32>,
}

impl fmt::Display for FrameSymbol {
    /// `src/lib.rs:12:5 in greet_plugin::greet`, leaving out what is
    /// unknown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.file.as_deref().unwrap_or("<unknown file>"))?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        if let Some(name) = &self.name {
            write!(f, " in {name}")?;
        }
        Ok(())
    }
}

impl fmt::Display for FrameInfo {
    /// `0x31 - module!inner`, or `<unknown> - function 6` where names or
    /// offsets are missing: the form Wasmtime prints.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.wasm_offset {
            Some(o) => write!(f, "{o:#x} - ")?,
            None => f.write_str("<unknown> - ")?,
        }
        if let Some(m) = &self.module_name {
            write!(f, "{m}!")?;
        }
        match &self.func_name {
            Some(n) => f.write_str(n),
            None => write!(f, "function {}", self.func_index),
        }
    }
}

/// WebAssembly stopped: a trap instruction, an out-of-bounds access, stack
/// exhaustion, or a failing host function.
pub struct Trap {
    code: TrapCode,
    frames: Vec<FrameInfo>,
    host: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
    memory_fault: Option<MemoryFault>,
}

/// Where an out-of-bounds access went: the wasm address (the index plus
/// the static offset) and the size of the memory at the time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryFault {
    /// The wasm address accessed (the first byte the hardware refused).
    pub address: u64,
    /// The memory's size in bytes when it happened.
    pub memory_size: usize,
}

impl Trap {
    pub(crate) fn new(code: TrapCode, frames: Vec<FrameInfo>) -> Trap {
        Trap { code, frames, host: None, memory_fault: None }
    }

    pub(crate) fn host(error: Box<dyn std::error::Error + Send + Sync + 'static>) -> Trap {
        Trap { code: TrapCode::HostError, frames: Vec::new(), host: Some(error), memory_fault: None }
    }

    pub(crate) fn with_memory_fault(mut self, fault: MemoryFault) -> Trap {
        self.memory_fault = Some(fault);
        self
    }

    /// For an out-of-bounds access caught by a guard page: the address
    /// and the memory's size. `None` for accesses that explicit bounds
    /// checks stopped (memory64, 1-byte pages, some configurations),
    /// which know no single faulting address.
    pub fn memory_fault(&self) -> Option<MemoryFault> {
        self.memory_fault
    }

    /// The trap code.
    pub fn code(&self) -> TrapCode {
        self.code
    }

    /// Wasm frames at the trap, innermost first.
    pub fn frames(&self) -> &[FrameInfo] {
        &self.frames
    }

    /// The host function's error, for [`TrapCode::HostError`].
    pub fn host_error(&self) -> Option<&(dyn std::error::Error + Send + Sync + 'static)> {
        self.host.as_deref()
    }

    /// Take the host function's error out of the trap.
    pub fn into_host_error(self) -> Option<Box<dyn std::error::Error + Send + Sync + 'static>> {
        self.host
    }
}

impl fmt::Display for Trap {
    /// One line: the code and the innermost frame. The alternate form
    /// (`{:#}`) adds the whole backtrace, innermost first, one frame a line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.host {
            Some(e) => write!(f, "host function error: {e}")?,
            None => write!(f, "wasm trap: {}", self.code.message())?,
        }
        if let Some(top) = self.frames.first() {
            write!(f, " in function {}", top.func_index)?;
            if let Some(n) = &top.func_name {
                write!(f, " `{n}`")?;
            }
            if let Some(o) = top.wasm_offset {
                write!(f, " at wasm offset {o:#x}")?;
            }
            if let Some(at) = top.symbols.first() {
                write!(f, " ({at})")?;
            }
        }
        if let Some(m) = self.memory_fault {
            write!(f, ": wasm address {:#x} in a linear memory of {:#x} bytes", m.address, m.memory_size)?;
        }
        if f.alternate() && !self.frames.is_empty() {
            f.write_str("\nwasm backtrace:")?;
            write_backtrace(f, &self.frames)?;
        }
        Ok(())
    }
}

/// Every frame, one a line, innermost first, each followed by its source
/// locations.
fn write_backtrace(f: &mut fmt::Formatter<'_>, frames: &[FrameInfo]) -> fmt::Result {
    for (i, frame) in frames.iter().enumerate() {
        write!(f, "\n  {i:>3}: {frame}")?;
        for symbol in &frame.symbols {
            write!(f, "\n           at {symbol}")?;
        }
    }
    Ok(())
}

impl fmt::Debug for Trap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Trap({:?}: {self:#})", self.code)
    }
}

impl std::error::Error for Trap {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.host {
            Some(e) => Some(&**e),
            None => None,
        }
    }
}
