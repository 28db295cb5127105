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
    /// Where the type section's recursion groups start (wasm 3.0), as type
    /// indices in order; empty when every type is a group of its own, the
    /// only kind wasm 2.0 has.
    pub rec_groups: Vec<u32>,
    /// The types that declare a supertype or are not final, sorted by
    /// type; every other type is final without a supertype.
    pub subtypes: Vec<SubtypeDecl>,
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
    /// Function type of every tag (imported first).
    pub tags: Vec<TypeIndex>,
    /// How many tags are imported.
    pub num_imported_tags: u32,
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
    /// Compiled code of each defined function. Encoded packed (see
    /// [`packed_funcs`]): there is one per function, and decoding them one
    /// serde field at a time was most of loading a large module.
    #[serde(with = "packed_funcs")]
    pub defined_funcs: Vec<CompiledFunc>,
    /// The functions that need a `VMFuncRef` (exported, in an element
    /// segment, or referenced by `ref.func` in a constant expression), in
    /// slot order: `func_refs[i]` lives in VMContext slot `i`.
    pub func_refs: Vec<FuncIndex>,
    /// Wasm-to-host trampoline for each type used by a function import,
    /// sorted by type index: `(type, text range)`.
    pub wasm_to_array_trampolines: Vec<(TypeIndex, Range)>,
}

/// A type's place in the subtype hierarchy, for the types that have one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubtypeDecl {
    /// The type.
    pub ty: TypeIndex,
    /// Its declared supertype.
    pub supertype: Option<TypeIndex>,
    /// Whether it may not have subtypes.
    pub is_final: bool,
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

/// The encoding of [`ModuleInfo::defined_funcs`]: one postcard byte
/// string holding LEB128 varints, decoded in one tight loop.
///
/// ```text
/// count, then per function:
///   body.start, body.len, has_trampoline (0 or 1),
///   [trampoline.start, trampoline.len if has_trampoline],
///   name.start, name.len, wasm_offset
/// ```
pub mod packed_funcs {
    use super::{CompiledFunc, Range};
    use crate::addrmap::{read_varint, write_varint};
    use alloc::vec::Vec;
    use serde::de::{Error, Visitor};
    use serde::{Deserializer, Serializer};

    /// Encode.
    pub fn serialize<S: Serializer>(funcs: &[CompiledFunc], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&encode(funcs))
    }

    /// The packed bytes of `funcs`.
    pub fn encode(funcs: &[CompiledFunc]) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + funcs.len() * 10);
        write_varint(&mut out, funcs.len() as u32);
        for f in funcs {
            write_varint(&mut out, f.body.start);
            write_varint(&mut out, f.body.len);
            match f.array_trampoline {
                Some(t) => {
                    write_varint(&mut out, 1);
                    write_varint(&mut out, t.start);
                    write_varint(&mut out, t.len);
                }
                None => write_varint(&mut out, 0),
            }
            write_varint(&mut out, f.name.start);
            write_varint(&mut out, f.name.len);
            write_varint(&mut out, f.wasm_offset);
        }
        out
    }

    /// Decode `bytes`, or say what is wrong.
    pub fn decode(bytes: &[u8]) -> Result<Vec<CompiledFunc>, &'static str> {
        const TRUNCATED: &str = "defined functions: truncated or bad varint";
        let mut at = 0;
        let mut next = || read_varint(bytes, &mut at).ok_or(TRUNCATED);
        let n = next()? as usize;
        // Each function takes at least six bytes: a corrupt count cannot
        // make this allocate more than the section could describe.
        if n > bytes.len() / 6 {
            return Err("defined functions: count exceeds the encoded bytes");
        }
        let mut funcs = Vec::with_capacity(n);
        for _ in 0..n {
            let body = Range { start: next()?, len: next()? };
            let array_trampoline = match next()? {
                0 => None,
                1 => Some(Range { start: next()?, len: next()? }),
                _ => return Err("defined functions: bad trampoline flag"),
            };
            let name = Range { start: next()?, len: next()? };
            funcs.push(CompiledFunc { body, array_trampoline, name, wasm_offset: next()? });
        }
        if at != bytes.len() {
            return Err("defined functions: trailing bytes");
        }
        Ok(funcs)
    }

    /// Decode.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<CompiledFunc>, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Vec<CompiledFunc>;
            fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str("packed defined functions")
            }
            fn visit_bytes<E: Error>(self, v: &[u8]) -> Result<Self::Value, E> {
                decode(v).map_err(E::custom)
            }
        }
        d.deserialize_bytes(V)
    }
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
    /// A tag (exception handling) of this function type (no results).
    Tag(TypeIndex),
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
    /// A tag.
    Tag(TagIndex),
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
    /// The recursion group holding `ty`, as a range of type indices.
    pub fn rec_group_of(&self, ty: TypeIndex) -> core::ops::Range<u32> {
        if self.rec_groups.is_empty() {
            return ty.0..ty.0.saturating_add(1);
        }
        let i = self.rec_groups.partition_point(|&start| start <= ty.0);
        let start = i.checked_sub(1).map_or(0, |g| self.rec_groups[g]);
        let end = self.rec_groups.get(i).copied().unwrap_or(self.types.len() as u32);
        start..end
    }

    /// The declared supertype of `ty` and whether `ty` is final.
    pub fn subtyping(&self, ty: TypeIndex) -> (Option<TypeIndex>, bool) {
        match self.subtypes.binary_search_by_key(&ty, |d| d.ty) {
            Ok(i) => (self.subtypes[i].supertype, self.subtypes[i].is_final),
            Err(_) => (None, true),
        }
    }

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
    /// The function type of a tag.
    pub fn tag_type(&self, tag: TagIndex) -> Option<&FuncType> {
        self.types.get(self.tags.get(tag.index())?.index())
    }

    /// The function type of a function.
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

#[cfg(test)]
mod tests {
    use super::*;

    fn funcs() -> Vec<CompiledFunc> {
        (0..300u32)
            .map(|i| CompiledFunc {
                body: Range { start: i * 1000, len: 900 + i },
                array_trampoline: (i % 3 == 0).then_some(Range { start: 1 << 30 | i, len: 40 }),
                name: Range { start: i * 7, len: i % 9 },
                wasm_offset: u32::MAX - i,
            })
            .collect()
    }

    #[test]
    fn defined_funcs_round_trip() {
        let info = ModuleInfo { defined_funcs: funcs(), num_imported_funcs: 2, ..Default::default() };
        let bytes = crate::encode_postcard(&info);
        let back: ModuleInfo = crate::decode_postcard(crate::sections::INFO, &bytes).unwrap();
        assert_eq!(back.defined_funcs, info.defined_funcs);
        assert_eq!(back.num_imported_funcs, 2);
    }

    /// Every truncation and every flipped byte of the packed functions:
    /// an error or some functions, never a panic or a huge allocation.
    #[test]
    fn corrupt_defined_funcs() {
        let blob = &packed_funcs::encode(&funcs())[..];
        assert_eq!(packed_funcs::decode(blob).unwrap(), funcs());
        for i in 0..blob.len() {
            assert!(packed_funcs::decode(&blob[..i]).is_err());
            let mut b = blob.to_vec();
            b[i] ^= 0xff;
            let _ = packed_funcs::decode(&b);
        }
        assert!(packed_funcs::decode(&[0xff, 0xff, 0xff, 0xff, 0x0f]).is_err());
    }
}
