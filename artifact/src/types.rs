//! WebAssembly types as the artifact records them.

use alloc::boxed::Box;
use core::fmt;
use serde::{Deserialize, Serialize};

/// What a reference refers to: a heap type of WebAssembly 3.0's function,
/// extern and exception hierarchies.
///
/// ```text
///   func ── (concrete function types) ── nofunc
///   extern ──────────────────────────── noextern
///   exn ─────────────────────────────── noexn
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum HeapType {
    /// Any function.
    Func,
    /// The bottom of the function hierarchy: no function (only null).
    NoFunc,
    /// A function of one type: an index into the type section of the
    /// module this type appears in.
    Concrete(u32),
    /// Any host reference.
    Extern,
    /// No host reference (only null).
    NoExtern,
    /// Any exception.
    Exn,
    /// No exception (only null).
    NoExn,
}

impl HeapType {
    /// The top of this type's hierarchy (`func`, `extern` or `exn`).
    pub fn top(self) -> HeapType {
        match self {
            HeapType::Func | HeapType::NoFunc | HeapType::Concrete(_) => HeapType::Func,
            HeapType::Extern | HeapType::NoExtern => HeapType::Extern,
            HeapType::Exn | HeapType::NoExn => HeapType::Exn,
        }
    }

    /// Whether this is the bottom of its hierarchy (no value but null).
    pub fn is_bottom(self) -> bool {
        matches!(self, HeapType::NoFunc | HeapType::NoExtern | HeapType::NoExn)
    }
}

/// A reference type: a heap type, and whether `null` is a value of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RefType {
    /// Whether `null` is a value of the type.
    pub nullable: bool,
    /// What the reference refers to.
    pub heap: HeapType,
}

impl RefType {
    /// `funcref`: `(ref null func)`.
    pub const FUNCREF: RefType = RefType { nullable: true, heap: HeapType::Func };
    /// `externref`: `(ref null extern)`.
    pub const EXTERNREF: RefType = RefType { nullable: true, heap: HeapType::Extern };
    /// `exnref`: `(ref null exn)`.
    pub const EXNREF: RefType = RefType { nullable: true, heap: HeapType::Exn };

    /// Whether values of this type are functions (or null).
    pub fn is_func(self) -> bool {
        self.heap.top() == HeapType::Func
    }
}

/// A value type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ValType {
    /// `i32`
    I32,
    /// `i64`
    I64,
    /// `f32`
    F32,
    /// `f64`
    F64,
    /// `v128`
    V128,
    /// A reference.
    Ref(RefType),
}

impl ValType {
    /// `funcref`
    pub const FUNCREF: ValType = ValType::Ref(RefType::FUNCREF);
    /// `externref`
    pub const EXTERNREF: ValType = ValType::Ref(RefType::EXTERNREF);
    /// `exnref`
    pub const EXNREF: ValType = ValType::Ref(RefType::EXNREF);

    /// Whether the type has a default value (`0`, or `null`): every type
    /// but non-nullable references.
    pub fn is_defaultable(self) -> bool {
        !matches!(self, ValType::Ref(RefType { nullable: false, .. }))
    }
}

impl fmt::Display for HeapType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeapType::Func => f.write_str("func"),
            HeapType::NoFunc => f.write_str("nofunc"),
            HeapType::Concrete(i) => write!(f, "{i}"),
            HeapType::Extern => f.write_str("extern"),
            HeapType::NoExtern => f.write_str("noextern"),
            HeapType::Exn => f.write_str("exn"),
            HeapType::NoExn => f.write_str("noexn"),
        }
    }
}

impl fmt::Display for RefType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.nullable, self.heap) {
            (true, HeapType::Func) => f.write_str("funcref"),
            (true, HeapType::Extern) => f.write_str("externref"),
            (true, HeapType::Exn) => f.write_str("exnref"),
            (true, h) => write!(f, "(ref null {h})"),
            (false, h) => write!(f, "(ref {h})"),
        }
    }
}

impl fmt::Display for ValType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValType::I32 => f.write_str("i32"),
            ValType::I64 => f.write_str("i64"),
            ValType::F32 => f.write_str("f32"),
            ValType::F64 => f.write_str("f64"),
            ValType::V128 => f.write_str("v128"),
            ValType::Ref(r) => r.fmt(f),
        }
    }
}

/// A function type.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FuncType {
    /// Parameter types.
    pub params: Box<[ValType]>,
    /// Result types.
    pub results: Box<[ValType]>,
}

impl FuncType {
    /// Whether results come back through a return area (more than one
    /// result, or a `v128` one: not every target returns vectors in
    /// registers) rather than as the native return value. See
    /// [`crate::vmctx`] for the calling convention.
    pub fn uses_return_area(&self) -> bool {
        self.results.len() > 1 || self.results.contains(&ValType::V128)
    }
}

impl fmt::Display for FuncType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(func")?;
        if !self.params.is_empty() {
            f.write_str(" (param")?;
            for p in self.params.iter() {
                write!(f, " {p}")?;
            }
            f.write_str(")")?;
        }
        if !self.results.is_empty() {
            f.write_str(" (result")?;
            for r in self.results.iter() {
                write!(f, " {r}")?;
            }
            f.write_str(")")?;
        }
        f.write_str(")")
    }
}

/// Size limits of a memory or table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Limits {
    /// Initial size (pages or elements).
    pub min: u64,
    /// Maximum size, if declared.
    pub max: Option<u64>,
}

impl fmt::Display for Limits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.max {
            Some(max) => write!(f, "{} {}", self.min, max),
            None => write!(f, "{}", self.min),
        }
    }
}

/// A memory type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MemoryType {
    /// Size limits in wasm pages.
    pub limits: Limits,
    /// Whether addresses are 64-bit (memory64).
    pub memory64: bool,
    /// Whether the memory is shared (threads).
    pub shared: bool,
    /// Log2 of the page size: 16 (64 KiB pages) unless the module asks for
    /// 1-byte pages (0; custom page sizes).
    pub page_size_log2: u8,
}

impl MemoryType {
    /// A 32-bit, unshared memory of 64 KiB pages.
    pub fn new(min: u64, max: Option<u64>) -> MemoryType {
        MemoryType { limits: Limits { min, max }, memory64: false, shared: false, page_size_log2: 16 }
    }

    /// A 32-bit shared memory of 64 KiB pages (threads), which must have a
    /// maximum.
    pub fn shared(min: u64, max: u64) -> MemoryType {
        MemoryType { shared: true, ..MemoryType::new(min, Some(max)) }
    }

    /// The page size in bytes.
    pub fn page_size(&self) -> u64 {
        1 << self.page_size_log2
    }
}

impl fmt::Display for MemoryType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "(memory{} {}{})",
            if self.memory64 { " i64" } else { "" },
            self.limits,
            if self.shared { " shared" } else { "" }
        )
    }
}

/// A table type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TableType {
    /// Element type.
    pub element: RefType,
    /// Size limits in elements.
    pub limits: Limits,
    /// Whether element indices are 64-bit (memory64).
    pub table64: bool,
}

impl fmt::Display for TableType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "(table {} {})", self.limits, self.element)
    }
}

/// A global type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GlobalType {
    /// Value type.
    pub content: ValType,
    /// Whether `global.set` is allowed.
    pub mutable: bool,
}

impl fmt::Display for GlobalType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.mutable {
            write!(f, "(global (mut {}))", self.content)
        } else {
            write!(f, "(global {})", self.content)
        }
    }
}

/// The type of an import or export.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ExternType {
    /// A function.
    Func(FuncType),
    /// A table.
    Table(TableType),
    /// A memory.
    Memory(MemoryType),
    /// A global.
    Global(GlobalType),
    /// A tag: the types of the values an exception with it carries.
    Tag(FuncType),
}

impl fmt::Display for ExternType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExternType::Func(t) => t.fmt(f),
            ExternType::Table(t) => t.fmt(f),
            ExternType::Memory(t) => t.fmt(f),
            ExternType::Global(t) => t.fmt(f),
            ExternType::Tag(t) => {
                f.write_str("(tag")?;
                for p in t.params.iter() {
                    write!(f, " (param {p})")?;
                }
                f.write_str(")")
            }
        }
    }
}
