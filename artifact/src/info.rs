//! `.kiln.info`: everything about the module the runtime needs, encoded with
//! postcard. Written by `kiln-build` (`emit::sections`), read by the runtime
//! on the load path.
//!
//! Text ranges are offsets from the start of `.text`; data ranges are offsets
//! into `.rodata.wasm`; name ranges are offsets into `.name.wasm`.

use crate::index::*;
use crate::types::*;
use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

/// A range of bytes inside a section.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Range {
    /// Offset from the start of the section.
    pub start: u32,
    /// Length in bytes.
    pub len: u32,
}

impl Range {
    /// End offset (exclusive), without overflow.
    pub fn end(&self) -> u64 {
        self.start as u64 + self.len as u64
    }
}

/// The module.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ModuleInfo {
    /// Name from the name section, if any.
    pub name: Option<String>,
    /// The type section.
    pub types: Vec<FuncType>,
    /// Imports in declaration order.
    pub imports: Vec<Import>,
    /// Type of every function (imported first).
    pub functions: Vec<TypeIndex>,
    /// Type of every table (imported first).
    pub tables: Vec<TableType>,
    /// Type of every memory (imported first).
    pub memories: Vec<MemoryType>,
    /// Type of every global (imported first).
    pub globals: Vec<GlobalType>,
    /// How many functions are imported.
    pub num_imported_funcs: u32,
    /// How many tables are imported.
    pub num_imported_tables: u32,
    /// How many memories are imported.
    pub num_imported_memories: u32,
    /// How many globals are imported.
    pub num_imported_globals: u32,
    /// Initial value of each defined global.
    pub global_inits: Vec<ConstExpr>,
    /// Initial element of each defined table (`ref.null` unless the table
    /// declares an init expression).
    pub table_inits: Vec<ConstExpr>,
    /// Exports, sorted by name so lookups can binary-search.
    pub exports: Vec<Export>,
    /// The start function.
    pub start: Option<FuncIndex>,
    /// Element segments.
    pub elements: Vec<ElementSegment>,
    /// Data segments.
    pub data: Vec<DataSegment>,
    /// Compiled code of each defined function.
    pub defined_funcs: Vec<CompiledFunc>,
    /// The functions that need a `VMFuncRef` (exported, in an element
    /// segment, or referenced by `ref.func` in a constant expression), in
    /// slot order: `func_refs[i]` lives in VMContext slot `i`.
    pub func_refs: Vec<FuncIndex>,
    /// Wasm-to-host trampoline for each type used by a function import,
    /// sorted by type index: `(type, text range)`.
    pub wasm_to_array_trampolines: Vec<(TypeIndex, Range)>,
}

/// Compiled code of one defined function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompiledFunc {
    /// The function body (wasm calling convention).
    pub body: Range,
    /// The array-call trampoline `(vmctx, caller_vmctx, *mut ValRaw, len)`,
    /// present when the function can be reached from the host.
    pub array_trampoline: Option<Range>,
    /// The function's name in `.name.wasm` (empty when it has none).
    pub name: Range,
    /// Byte offset of the function body in the wasm binary.
    pub wasm_offset: u32,
}

/// An import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Import {
    /// Module name.
    pub module: String,
    /// Field name.
    pub name: String,
    /// What is imported.
    pub kind: ImportKind,
}

/// What an import brings in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ImportKind {
    /// A function of this type.
    Func(TypeIndex),
    /// A table.
    Table(TableType),
    /// A memory.
    Memory(MemoryType),
    /// A global.
    Global(GlobalType),
}

/// An export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Export {
    /// Export name.
    pub name: String,
    /// What is exported.
    pub kind: ExportKind,
}

/// What an export refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExportKind {
    /// A function.
    Func(FuncIndex),
    /// A table.
    Table(TableIndex),
    /// A memory.
    Memory(MemoryIndex),
    /// A global.
    Global(GlobalIndex),
}

/// A constant expression (global and table initialisers, segment offsets,
/// element items), as a sequence of stack operations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConstExpr(pub Vec<ConstOp>);

/// One operation of a constant expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConstOp {
    /// `i32.const`
    I32Const(i32),
    /// `i64.const`
    I64Const(i64),
    /// `f32.const` (bits)
    F32Const(u32),
    /// `f64.const` (bits)
    F64Const(u64),
    /// `v128.const` (bits)
    V128Const(u128),
    /// `global.get`
    GlobalGet(GlobalIndex),
    /// `ref.null`
    RefNull(RefType),
    /// `ref.func`
    RefFunc(FuncIndex),
    /// `i32.add` (extended-const)
    I32Add,
    /// `i32.sub` (extended-const)
    I32Sub,
    /// `i32.mul` (extended-const)
    I32Mul,
    /// `i64.add` (extended-const)
    I64Add,
    /// `i64.sub` (extended-const)
    I64Sub,
    /// `i64.mul` (extended-const)
    I64Mul,
}

/// An element segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ElementSegment {
    /// When and where it applies.
    pub mode: ElementMode,
    /// Element type.
    pub ty: RefType,
    /// The elements.
    pub items: ElementItems,
}

/// How an element segment applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ElementMode {
    /// Copied into a table at instantiation.
    Active {
        /// The table.
        table: TableIndex,
        /// Offset expression.
        offset: ConstExpr,
    },
    /// Available to `table.init`.
    Passive,
    /// Only declares functions for `ref.func`; dropped at instantiation.
    Declared,
}

/// The elements of a segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ElementItems {
    /// Function indices.
    Functions(Vec<FuncIndex>),
    /// Constant expressions.
    Expressions(Vec<ConstExpr>),
}

impl ElementItems {
    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            ElementItems::Functions(f) => f.len(),
            ElementItems::Expressions(e) => e.len(),
        }
    }
    /// Whether the segment is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A data segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataSegment {
    /// When and where it applies.
    pub mode: DataMode,
    /// The bytes, as a range into `.rodata.wasm`.
    pub bytes: Range,
}

/// How a data segment applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DataMode {
    /// Copied into a memory at instantiation.
    Active {
        /// The memory.
        memory: MemoryIndex,
        /// Offset expression.
        offset: ConstExpr,
    },
    /// Available to `memory.init`.
    Passive,
}

impl ModuleInfo {
    /// Whether `func` is imported.
    pub fn is_imported_func(&self, func: FuncIndex) -> bool {
        func.0 < self.num_imported_funcs
    }
    /// The defined index of `func`, if the module defines it.
    pub fn defined_func_index(&self, func: FuncIndex) -> Option<DefinedFuncIndex> {
        func.0.checked_sub(self.num_imported_funcs).map(DefinedFuncIndex)
    }
    /// The function index of a defined function.
    pub fn func_index(&self, defined: DefinedFuncIndex) -> FuncIndex {
        FuncIndex(defined.0 + self.num_imported_funcs)
    }
    /// The defined index of `table`, if the module defines it.
    pub fn defined_table_index(&self, table: TableIndex) -> Option<DefinedTableIndex> {
        table.0.checked_sub(self.num_imported_tables).map(DefinedTableIndex)
    }
    /// The defined index of `memory`, if the module defines it.
    pub fn defined_memory_index(&self, memory: MemoryIndex) -> Option<DefinedMemoryIndex> {
        memory.0.checked_sub(self.num_imported_memories).map(DefinedMemoryIndex)
    }
    /// The defined index of `global`, if the module defines it.
    pub fn defined_global_index(&self, global: GlobalIndex) -> Option<DefinedGlobalIndex> {
        global.0.checked_sub(self.num_imported_globals).map(DefinedGlobalIndex)
    }
    /// The type of a function.
    pub fn func_type(&self, func: FuncIndex) -> Option<&FuncType> {
        let ty = self.functions.get(func.index())?;
        self.types.get(ty.index())
    }
    /// The VMContext slot of `func`'s `VMFuncRef`, if it has one.
    pub fn func_ref_index(&self, func: FuncIndex) -> Option<FuncRefIndex> {
        // `func_refs` is short and built in index order by the compiler,
        // so it is sorted: binary search.
        self.func_refs.binary_search(&func).ok().map(FuncRefIndex::new)
    }
    /// Find an export by name.
    pub fn export(&self, name: &str) -> Option<&Export> {
        self.exports.binary_search_by(|e| e.name.as_str().cmp(name)).ok().map(|i| &self.exports[i])
    }
    /// The wasm-to-host trampoline for functions of type `ty`.
    pub fn wasm_to_array_trampoline(&self, ty: TypeIndex) -> Option<Range> {
        self.wasm_to_array_trampolines
            .binary_search_by_key(&ty, |(t, _)| *t)
            .ok()
            .map(|i| self.wasm_to_array_trampolines[i].1)
    }
    /// Number of defined memories.
    pub fn num_defined_memories(&self) -> u32 {
        self.memories.len() as u32 - self.num_imported_memories
    }
    /// Number of defined tables.
    pub fn num_defined_tables(&self) -> u32 {
        self.tables.len() as u32 - self.num_imported_tables
    }
    /// Number of defined globals.
    pub fn num_defined_globals(&self) -> u32 {
        self.globals.len() as u32 - self.num_imported_globals
    }
}
