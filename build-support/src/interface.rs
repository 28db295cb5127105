//! The interface of a compiled module — its imports and exports with their
//! types — read back from an artifact, for code generators such as the
//! typed bindings of `include_wasm!(mod name = "path")`.
//!
//! The interface is decoded from the artifact's `.kiln.info` section (the
//! same metadata the runtime checks imports against), not re-derived from
//! the wasm: bindings generated from it describe exactly the code that is
//! embedded.

use crate::error::{Error, Result};
use kiln_artifact::info::{ExportKind, ImportKind, ModuleInfo};
use kiln_artifact::sections;
use kiln_artifact::types::{FuncType, GlobalType, MemoryType, TableType};
use object::{Object, ObjectSection};

/// The imports and exports of a module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleInterface {
    /// The module's name from its name section, if any.
    pub name: Option<String>,
    /// Imports, in declaration order.
    pub imports: Vec<Import>,
    /// Exports, sorted by name.
    pub exports: Vec<Export>,
}

/// One import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    /// Module name (`"env"` in `(import "env" "log" …)`).
    pub module: String,
    /// Field name.
    pub name: String,
    /// Its type.
    pub ty: ExternType,
}

/// One export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    /// Export name.
    pub name: String,
    /// Its type.
    pub ty: ExternType,
}

/// The type of an import or export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExternType {
    /// A function.
    Func(FuncType),
    /// A table.
    Table(TableType),
    /// A memory.
    Memory(MemoryType),
    /// A global.
    Global(GlobalType),
}

impl std::fmt::Display for ExternType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExternType::Func(t) => t.fmt(f),
            ExternType::Table(t) => t.fmt(f),
            ExternType::Memory(t) => t.fmt(f),
            ExternType::Global(t) => t.fmt(f),
        }
    }
}

/// The interface of the module compiled into `artifact` (bytes as returned
/// by [`compile`](crate::compile) or stored in the [`cache`](crate::cache)).
pub fn module_interface(artifact: &[u8]) -> Result<ModuleInterface> {
    let bad = |why: String| Error::invalid(format!("not a kiln artifact: {why}"), 0usize);
    let file = object::File::parse(artifact).map_err(|e| bad(e.to_string()))?;
    let section = file
        .section_by_name(sections::INFO)
        .ok_or_else(|| bad(format!("no `{}` section", sections::INFO)))?;
    let bytes = section.data().map_err(|e| bad(e.to_string()))?;
    let info: ModuleInfo =
        kiln_artifact::decode_postcard(sections::INFO, bytes).map_err(|e| bad(e.to_string()))?;
    from_info(&info).ok_or_else(|| bad(format!("`{}` refers to missing types", sections::INFO)))
}

fn from_info(info: &ModuleInfo) -> Option<ModuleInterface> {
    let func = |ty: kiln_artifact::index::TypeIndex| info.types.get(ty.index()).cloned();
    let imports = info
        .imports
        .iter()
        .map(|i| {
            let ty = match i.kind {
                ImportKind::Func(t) => ExternType::Func(func(t)?),
                ImportKind::Table(t) => ExternType::Table(t),
                ImportKind::Memory(m) => ExternType::Memory(m),
                ImportKind::Global(g) => ExternType::Global(g),
            };
            Some(Import {
                module: i.module.clone(),
                name: i.name.clone(),
                ty,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    let exports = info
        .exports
        .iter()
        .map(|e| {
            let ty = match e.kind {
                ExportKind::Func(f) => ExternType::Func(info.func_type(f)?.clone()),
                ExportKind::Table(t) => ExternType::Table(*info.tables.get(t.index())?),
                ExportKind::Memory(m) => ExternType::Memory(*info.memories.get(m.index())?),
                ExportKind::Global(g) => ExternType::Global(*info.globals.get(g.index())?),
            };
            Some(Export {
                name: e.name.clone(),
                ty,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    Some(ModuleInterface {
        name: info.name.clone(),
        imports,
        exports,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_artifact::types::ValType;

    #[test]
    fn reads_imports_and_exports_back_from_the_artifact() {
        let wasm = wat::parse_str(
            r#"(module
                (import "host" "log" (func (param i32 i32)))
                (import "env" "tab" (table 1 funcref))
                (global (export "counter") (mut i64) (i64.const 0))
                (memory (export "memory") 1)
                (func (export "greet") (param i32 f64) (result i32) i32.const 0))"#,
        )
        .unwrap();
        let artifact = crate::compile(&wasm, &crate::Config::host()).unwrap();
        let iface = module_interface(&artifact).unwrap();
        assert_eq!(iface.imports.len(), 2);
        assert_eq!(
            (
                iface.imports[0].module.as_str(),
                iface.imports[0].name.as_str()
            ),
            ("host", "log")
        );
        assert_eq!(iface.imports[0].ty.to_string(), "(func (param i32 i32))");
        assert!(matches!(iface.imports[1].ty, ExternType::Table(_)));
        let names: Vec<&str> = iface.exports.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["counter", "greet", "memory"]);
        match &iface.exports[1].ty {
            ExternType::Func(f) => {
                assert_eq!(*f.params, [ValType::I32, ValType::F64]);
                assert_eq!(*f.results, [ValType::I32]);
            }
            other => panic!("{other}"),
        }
    }

    #[test]
    fn foreign_bytes_are_an_error() {
        let err = module_interface(b"\x7fELF nonsense").unwrap_err();
        assert!(err.to_string().contains("not a kiln artifact"), "{err}");
    }
}
