//! One pass over the wasm payloads: validate the module-level structure and
//! collect a `ModuleInfo`, the function bodies (with their validators, run
//! later per function on all cores), the data segment bytes and the names.

use crate::error::{Error, Result};
use kiln_artifact::index::*;
use kiln_artifact::info::*;
use kiln_artifact::types::*;
use wasmparser::{
    FuncToValidate, FunctionBody, KnownCustom, Name, Operator, Parser, Payload, TypeRef, ValidPayload, Validator,
    ValidatorResources, WasmFeatures,
};

/// The WebAssembly features the validator accepts: wasm 2.0 and every
/// feature `config` switches on (see [`crate::features`]).
pub(crate) fn features(config: &crate::Config) -> WasmFeatures {
    config.features.wasmparser()
}

/// A defined function waiting to be compiled.
pub(crate) struct FunctionInput<'a> {
    pub body: FunctionBody<'a>,
    pub validator: FuncToValidate<ValidatorResources>,
}

/// Everything the driver needs after the module-level pass.
pub(crate) struct ModuleEnv<'a> {
    pub info: ModuleInfo,
    pub functions: Vec<FunctionInput<'a>>,
    /// `.rodata.wasm`: data segment bytes, concatenated.
    pub data: Vec<u8>,
    /// Name of each function, from the name section.
    pub func_names: Vec<Option<&'a str>>,
    /// The module's DWARF, if it carries any.
    pub dwarf: crate::debuginfo::WasmDwarf<'a>,
}

pub(crate) fn val_type(t: wasmparser::ValType, offset: u64) -> Result<ValType> {
    Ok(match t {
        wasmparser::ValType::I32 => ValType::I32,
        wasmparser::ValType::I64 => ValType::I64,
        wasmparser::ValType::F32 => ValType::F32,
        wasmparser::ValType::F64 => ValType::F64,
        wasmparser::ValType::V128 => ValType::V128,
        wasmparser::ValType::Ref(r) => ValType::Ref(ref_type(r, offset)?),
    })
}

pub(crate) fn ref_type(r: wasmparser::RefType, offset: u64) -> Result<RefType> {
    Ok(RefType { nullable: r.is_nullable(), heap: heap_type(r.heap_type(), offset)? })
}

/// A heap type of the function, extern and exception hierarchies; the GC
/// types (`any`, `eq`, structs, arrays, `i31`) are not supported yet.
pub(crate) fn heap_type(h: wasmparser::HeapType, offset: u64) -> Result<HeapType> {
    use wasmparser::AbstractHeapType as A;
    match h {
        wasmparser::HeapType::Abstract { shared: false, ty } => Ok(match ty {
            A::Func => HeapType::Func,
            A::NoFunc => HeapType::NoFunc,
            A::Extern => HeapType::Extern,
            A::NoExtern => HeapType::NoExtern,
            A::Exn => HeapType::Exn,
            A::NoExn => HeapType::NoExn,
            other => return Err(Error::unsupported(format_args!("the GC heap type `{other:?}`"), offset)),
        }),
        wasmparser::HeapType::Abstract { shared: true, .. } => {
            Err(Error::unsupported("shared references (shared-everything threads)", offset))
        }
        wasmparser::HeapType::Concrete(i) => match i.as_module_index() {
            Some(i) => Ok(HeapType::Concrete(i)),
            None => Err(Error::codegen(format!("type reference {i} is not a module index"))),
        },
        wasmparser::HeapType::Exact(_) => Err(Error::unsupported("exact reference types (custom descriptors)", offset)),
    }
}

pub(crate) fn table_type(t: &wasmparser::TableType, offset: u64) -> Result<TableType> {
    if t.shared {
        return Err(Error::unsupported("shared tables", offset));
    }
    Ok(TableType {
        element: ref_type(t.element_type, offset)?,
        limits: Limits { min: t.initial, max: t.maximum },
        table64: t.table64,
    })
}

pub(crate) fn memory_type(m: &wasmparser::MemoryType, offset: u64) -> Result<MemoryType> {
    let page_size_log2 = match m.page_size_log2 {
        None | Some(16) => 16,
        Some(0) => 0,
        Some(other) => return Err(Error::unsupported(format_args!("a page size of 2^{other} bytes"), offset)),
    };
    Ok(MemoryType {
        limits: Limits { min: m.initial, max: m.maximum },
        memory64: m.memory64,
        shared: m.shared,
        page_size_log2,
    })
}

pub(crate) fn global_type(g: &wasmparser::GlobalType, offset: u64) -> Result<GlobalType> {
    if g.shared {
        return Err(Error::unsupported("shared globals", offset));
    }
    Ok(GlobalType { content: val_type(g.content_type, offset)?, mutable: g.mutable })
}

fn const_expr(expr: &wasmparser::ConstExpr<'_>) -> Result<ConstExpr> {
    let mut reader = expr.get_operators_reader();
    let mut ops = Vec::new();
    loop {
        let offset = reader.original_position();
        let op = reader.read()?;
        ops.push(match op {
            Operator::End => break,
            Operator::I32Const { value } => ConstOp::I32Const(value),
            Operator::I64Const { value } => ConstOp::I64Const(value),
            Operator::F32Const { value } => ConstOp::F32Const(value.bits()),
            Operator::F64Const { value } => ConstOp::F64Const(value.bits()),
            Operator::V128Const { value } => ConstOp::V128Const(u128::from_le_bytes(*value.bytes())),
            Operator::GlobalGet { global_index } => ConstOp::GlobalGet(GlobalIndex(global_index)),
            Operator::RefNull { hty } => ConstOp::RefNull(ref_type(
                wasmparser::RefType::new(true, hty).ok_or_else(|| Error::unsupported("heap type", offset))?,
                offset,
            )?),
            Operator::RefFunc { function_index } => ConstOp::RefFunc(FuncIndex(function_index)),
            Operator::I32Add => ConstOp::I32Add,
            Operator::I32Sub => ConstOp::I32Sub,
            Operator::I32Mul => ConstOp::I32Mul,
            Operator::I64Add => ConstOp::I64Add,
            Operator::I64Sub => ConstOp::I64Sub,
            Operator::I64Mul => ConstOp::I64Mul,
            other => {
                return Err(Error::unsupported(format_args!("constant expression operator {other:?}"), offset));
            }
        });
    }
    Ok(ConstExpr(ops))
}

/// Parse and validate the module structure.
pub(crate) fn parse(wasm: &[u8], features: WasmFeatures) -> Result<ModuleEnv<'_>> {
    let mut validator = Validator::new_with_features(features);
    let mut info = ModuleInfo::default();
    let mut functions = Vec::new();
    let mut data = Vec::new();
    let mut func_names: Vec<Option<&str>> = Vec::new();
    let mut names_section = None;
    let mut dwarf = crate::debuginfo::WasmDwarf::default();

    // The parser decodes with the same features the validator checks:
    // its default (every feature) would read memory limits as memory64's
    // 64-bit LEBs and accept encodings that are malformed in wasm 2.0.
    let mut parser = Parser::new(0);
    parser.set_features(features);
    for payload in parser.parse_all(wasm) {
        let payload = payload?;
        match validator.payload(&payload)? {
            ValidPayload::Func(validator, body) => {
                functions.push(FunctionInput { body, validator });
                continue;
            }
            ValidPayload::Parser(_) => {
                return Err(Error::unsupported("nested modules and components", 0usize));
            }
            ValidPayload::Ok | ValidPayload::End(_) => {}
        }
        match payload {
            Payload::Version { encoding, range, .. } if encoding != wasmparser::Encoding::Module => {
                return Err(Error::unsupported("components (only core modules are supported)", range.start));
            }
            Payload::TypeSection(reader) => {
                let mut singletons = true;
                let mut starts = Vec::new();
                for group in reader.into_iter_with_offsets() {
                    let (offset, group) = group?;
                    // An empty `(rec)` adds no type and no group.
                    if group.types().len() != 0 {
                        starts.push(info.types.len() as u32);
                    }
                    singletons &= group.types().len() <= 1;
                    for sub in group.into_types() {
                        let ty = TypeIndex(info.types.len() as u32);
                        let supertype = sub.supertype_idxs.first().and_then(|i| i.as_module_index()).map(TypeIndex);
                        if supertype.is_some() || !sub.is_final {
                            info.subtypes.push(SubtypeDecl { ty, supertype, is_final: sub.is_final });
                        }
                        match &sub.composite_type.inner {
                            wasmparser::CompositeInnerType::Func(f) if !sub.composite_type.shared => {
                                let params = f.params().iter().map(|&t| val_type(t, offset)).collect::<Result<_>>()?;
                                let results =
                                    f.results().iter().map(|&t| val_type(t, offset)).collect::<Result<_>>()?;
                                info.types.push(FuncType { params, results });
                            }
                            _ => return Err(Error::unsupported("GC types (struct, array)", offset)),
                        }
                    }
                }
                if !singletons {
                    info.rec_groups = starts;
                }
            }
            Payload::ImportSection(reader) => {
                for group in reader.into_iter_with_offsets() {
                    let (offset, group) = group?;
                    for import in group {
                        let (_, import) = import?;
                        let kind = match import.ty {
                            TypeRef::Func(t) => {
                                info.functions.push(TypeIndex(t));
                                info.num_imported_funcs += 1;
                                ImportKind::Func(TypeIndex(t))
                            }
                            TypeRef::Table(t) => {
                                let t = table_type(&t, offset)?;
                                info.tables.push(t);
                                info.num_imported_tables += 1;
                                ImportKind::Table(t)
                            }
                            TypeRef::Memory(m) => {
                                let m = memory_type(&m, offset)?;
                                info.memories.push(m);
                                info.num_imported_memories += 1;
                                ImportKind::Memory(m)
                            }
                            TypeRef::Global(g) => {
                                let g = global_type(&g, offset)?;
                                info.globals.push(g);
                                info.num_imported_globals += 1;
                                ImportKind::Global(g)
                            }
                            TypeRef::Tag(t) => {
                                info.tags.push(TypeIndex(t.func_type_idx));
                                info.num_imported_tags += 1;
                                ImportKind::Tag(TypeIndex(t.func_type_idx))
                            }
                            #[allow(unreachable_patterns)]
                            _ => return Err(Error::unsupported("import kind", offset)),
                        };
                        info.imports.push(Import { module: import.module.into(), name: import.name.into(), kind });
                    }
                }
            }
            Payload::FunctionSection(reader) => {
                for t in reader {
                    info.functions.push(TypeIndex(t?));
                }
            }
            Payload::TableSection(reader) => {
                for table in reader.into_iter_with_offsets() {
                    let (offset, table) = table?;
                    info.tables.push(table_type(&table.ty, offset)?);
                    let init = match table.init {
                        wasmparser::TableInit::RefNull => {
                            ConstExpr(vec![ConstOp::RefNull(ref_type(table.ty.element_type, offset)?)])
                        }
                        wasmparser::TableInit::Expr(e) => const_expr(&e)?,
                    };
                    info.table_inits.push(init);
                }
            }
            Payload::MemorySection(reader) => {
                for m in reader.into_iter_with_offsets() {
                    let (offset, m) = m?;
                    info.memories.push(memory_type(&m, offset)?);
                }
            }
            Payload::TagSection(reader) => {
                for t in reader {
                    info.tags.push(TypeIndex(t?.func_type_idx));
                }
            }
            Payload::GlobalSection(reader) => {
                for g in reader.into_iter_with_offsets() {
                    let (offset, g) = g?;
                    info.globals.push(global_type(&g.ty, offset)?);
                    info.global_inits.push(const_expr(&g.init_expr)?);
                }
            }
            Payload::ExportSection(reader) => {
                for e in reader.into_iter_with_offsets() {
                    let (offset, e) = e?;
                    let kind = match e.kind {
                        wasmparser::ExternalKind::Func => ExportKind::Func(FuncIndex(e.index)),
                        wasmparser::ExternalKind::Table => ExportKind::Table(TableIndex(e.index)),
                        wasmparser::ExternalKind::Memory => ExportKind::Memory(MemoryIndex(e.index)),
                        wasmparser::ExternalKind::Global => ExportKind::Global(GlobalIndex(e.index)),
                        wasmparser::ExternalKind::Tag => ExportKind::Tag(TagIndex(e.index)),
                        #[allow(unreachable_patterns)]
                        _ => return Err(Error::unsupported("export kind", offset)),
                    };
                    info.exports.push(Export { name: e.name.into(), kind });
                }
            }
            Payload::StartSection { func, .. } => info.start = Some(FuncIndex(func)),
            Payload::ElementSection(reader) => {
                for elem in reader {
                    let elem = elem?;
                    let offset = elem.range.start;
                    let mode = match elem.kind {
                        wasmparser::ElementKind::Passive => ElementMode::Passive,
                        wasmparser::ElementKind::Declared => ElementMode::Declared,
                        wasmparser::ElementKind::Active { table_index, offset_expr } => ElementMode::Active {
                            table: TableIndex(table_index.unwrap_or(0)),
                            offset: const_expr(&offset_expr)?,
                        },
                    };
                    let (ty, items) = match elem.items {
                        wasmparser::ElementItems::Functions(r) => {
                            let funcs = r.into_iter().map(|f| f.map(FuncIndex)).collect::<Result<_, _>>()?;
                            (RefType { nullable: false, heap: HeapType::Func }, ElementItems::Functions(funcs))
                        }
                        wasmparser::ElementItems::Expressions(ty, r) => {
                            let mut exprs = Vec::new();
                            for e in r {
                                exprs.push(const_expr(&e?)?);
                            }
                            (ref_type(ty, offset)?, ElementItems::Expressions(exprs))
                        }
                    };
                    info.elements.push(ElementSegment { mode, ty, items });
                }
            }
            Payload::DataSection(reader) => {
                for d in reader {
                    let d = d?;
                    let start = data.len();
                    let too_big = || Error::unsupported("more than 4 GiB of data segments", d.range.start);
                    data.extend_from_slice(d.data);
                    let bytes = Range {
                        start: u32::try_from(start).map_err(|_| too_big())?,
                        len: u32::try_from(d.data.len()).map_err(|_| too_big())?,
                    };
                    let mode = match d.kind {
                        wasmparser::DataKind::Passive => DataMode::Passive,
                        wasmparser::DataKind::Active { memory_index, offset_expr } => {
                            DataMode::Active { memory: MemoryIndex(memory_index), offset: const_expr(&offset_expr)? }
                        }
                    };
                    info.data.push(DataSegment { mode, bytes });
                }
            }
            Payload::CodeSectionStart { unchecked_range, .. } => dwarf.set_code_start(unchecked_range.start as usize),
            Payload::CustomSection(reader) => {
                if let KnownCustom::Name(names) = reader.as_known() {
                    names_section = Some(names);
                }
                dwarf.custom_section(reader.name(), reader.data());
            }
            _ => {}
        }
    }

    // Names are best-effort: a malformed name section is ignored, as the
    // spec asks of custom sections.
    func_names.resize(info.functions.len(), None);
    if let Some(names) = names_section {
        for name in names.into_iter().flatten() {
            match name {
                Name::Module { name, .. } => info.name = Some(name.to_string()),
                Name::Function(map) => {
                    for naming in map.into_iter().flatten() {
                        if let Some(slot) = func_names.get_mut(naming.index as usize) {
                            *slot = Some(naming.name);
                        }
                    }
                }
                _ => {}
            }
        }
    }

    info.exports.sort_by(|a, b| a.name.cmp(&b.name));
    info.func_refs = escaping_functions(&info);
    Ok(ModuleEnv { info, functions, data, func_names, dwarf })
}

/// Functions that can become a `funcref` value or be called from the host:
/// exported, in an element segment, or named by `ref.func` in a constant
/// expression (validation guarantees `ref.func` in code only names these).
fn escaping_functions(info: &ModuleInfo) -> Vec<FuncIndex> {
    let mut funcs = Vec::new();
    let from_expr = |e: &ConstExpr, funcs: &mut Vec<FuncIndex>| {
        funcs.extend(e.0.iter().filter_map(|op| match op {
            ConstOp::RefFunc(f) => Some(*f),
            _ => None,
        }))
    };
    for e in &info.exports {
        if let ExportKind::Func(f) = e.kind {
            funcs.push(f);
        }
    }
    for seg in &info.elements {
        match &seg.items {
            ElementItems::Functions(fs) => funcs.extend(fs.iter().copied()),
            ElementItems::Expressions(es) => es.iter().for_each(|e| from_expr(e, &mut funcs)),
        }
    }
    for e in info.global_inits.iter().chain(&info.table_inits) {
        from_expr(e, &mut funcs);
    }
    funcs.sort();
    funcs.dedup();
    funcs
}
