//! The interface of a compiled module — its imports and exports with their
//! types — read back from an artifact, for code generators such as the
//! typed bindings of `include_wasm!(mod name = "path")`.
//!
//! The interface is decoded from the artifact's `.kiln.info` section (the
//! same metadata the runtime checks imports against), not re-derived from
//! the wasm: bindings generated from it describe exactly the code that is
//! embedded. Only the parameter names, which the artifact does not keep,
//! come from the wasm's name section ([`ModuleInterface::name_params`]).

use crate::error::{Error, Result};
use kiln_artifact::info::{ExportKind, ImportKind, ModuleInfo};
use kiln_artifact::sections;

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
    /// For a function, the names of its parameters from the name section
    /// (`None` where it has none); empty until
    /// [`ModuleInterface::name_params`] fills it.
    pub param_names: Vec<Option<String>>,
    func: Option<u32>,
}

/// One export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    /// Export name.
    pub name: String,
    /// Its type.
    pub ty: ExternType,
    /// As [`Import::param_names`].
    pub param_names: Vec<Option<String>>,
    func: Option<u32>,
}

impl ModuleInterface {
    /// Fill in the functions' parameter names from the name section of
    /// `wasm`, the module the artifact was compiled from. Names are
    /// best-effort: a module without a name section, or with a malformed
    /// one, keeps `None`s.
    pub fn name_params(&mut self, wasm: &[u8]) {
        let locals = local_names(wasm);
        let lookup = |func: Option<u32>, ty: &ExternType| -> Vec<Option<String>> {
            let (Some(func), ExternType::Func(ty)) = (func, ty) else {
                return Vec::new();
            };
            (0..ty.params.len() as u32).map(|i| locals.get(&(func, i)).cloned()).collect()
        };
        for i in &mut self.imports {
            i.param_names = lookup(i.func, &i.ty);
        }
        for e in &mut self.exports {
            e.param_names = lookup(e.func, &e.ty);
        }
    }
}

/// `(function index, local index) → name` from the name section.
fn local_names(wasm: &[u8]) -> std::collections::HashMap<(u32, u32), String> {
    use wasmparser::{KnownCustom, Name, Parser, Payload};
    let mut out = std::collections::HashMap::new();
    for payload in Parser::new(0).parse_all(wasm) {
        let Ok(Payload::CustomSection(reader)) = payload else {
            continue;
        };
        let KnownCustom::Name(names) = reader.as_known() else {
            continue;
        };
        for name in names.into_iter().flatten() {
            let Name::Local(map) = name else { continue };
            for func in map.into_iter().flatten() {
                for local in func.names.flatten() {
                    out.insert((func.index, local.index), local.name.to_string());
                }
            }
        }
    }
    out
}

pub use kiln_artifact::types::ExternType;

/// The interface of the module compiled into `artifact` (bytes as returned
/// by [`compile`](crate::compile) or stored in the [`cache`](crate::cache)).
pub fn module_interface(artifact: &[u8]) -> Result<ModuleInterface> {
    let bad = |why: String| Error::invalid(format!("not a kiln artifact: {why}"), 0usize);
    let file = object::File::parse(artifact).map_err(|e| bad(e.to_string()))?;
    let section =
        file.section_by_name(sections::INFO).ok_or_else(|| bad(format!("no `{}` section", sections::INFO)))?;
    let bytes = section.data().map_err(|e| bad(e.to_string()))?;
    let info: ModuleInfo = kiln_artifact::decode_postcard(sections::INFO, bytes).map_err(|e| bad(e.to_string()))?;
    from_info(&info).ok_or_else(|| bad(format!("`{}` refers to missing types", sections::INFO)))
}

fn from_info(info: &ModuleInfo) -> Option<ModuleInterface> {
    let func = |ty: kiln_artifact::index::TypeIndex| info.types.get(ty.index()).cloned();
    // Imported functions are the first of the function index space.
    let mut next_func = 0u32;
    let imports = info
        .imports
        .iter()
        .map(|i| {
            let (ty, index) = match i.kind {
                ImportKind::Func(t) => {
                    next_func += 1;
                    (ExternType::Func(func(t)?), Some(next_func - 1))
                }
                ImportKind::Table(t) => (ExternType::Table(t), None),
                ImportKind::Memory(m) => (ExternType::Memory(m), None),
                ImportKind::Global(g) => (ExternType::Global(g), None),
                ImportKind::Tag(t) => (ExternType::Tag(func(t)?), None),
            };
            Some(Import { module: i.module.clone(), name: i.name.clone(), ty, param_names: Vec::new(), func: index })
        })
        .collect::<Option<Vec<_>>>()?;
    let exports = info
        .exports
        .iter()
        .map(|e| {
            let (ty, index) = match e.kind {
                ExportKind::Func(f) => (ExternType::Func(info.func_type(f)?.clone()), Some(f.index() as u32)),
                ExportKind::Table(t) => (ExternType::Table(*info.tables.get(t.index())?), None),
                ExportKind::Memory(m) => (ExternType::Memory(*info.memories.get(m.index())?), None),
                ExportKind::Global(g) => (ExternType::Global(*info.globals.get(g.index())?), None),
                ExportKind::Tag(t) => (ExternType::Tag(info.tag_type(t)?.clone()), None),
            };
            Some(Export { name: e.name.clone(), ty, param_names: Vec::new(), func: index })
        })
        .collect::<Option<Vec<_>>>()?;
    Some(ModuleInterface { name: info.name.clone(), imports, exports })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_artifact::types::ValType;

    #[test]
    fn reads_imports_and_exports_back_from_the_artifact() {
        let wasm = wat::parse_str(
            r#"(module
                (import "host" "log" (func (param $ptr i32) (param i32)))
                (import "env" "tab" (table 1 funcref))
                (global (export "counter") (mut i64) (i64.const 0))
                (memory (export "memory") 1)
                (func (export "greet") (param $who i32) (param $times f64) (result i32) i32.const 0))"#,
        )
        .unwrap();
        let artifact = crate::compile(&wasm, &crate::Config::host()).unwrap();
        let mut iface = module_interface(&artifact).unwrap();
        assert!(iface.exports[1].param_names.is_empty());
        iface.name_params(&wasm);
        fn names(n: &[Option<String>]) -> Vec<Option<&str>> {
            n.iter().map(|n| n.as_deref()).collect()
        }
        assert_eq!(names(&iface.exports[1].param_names), [Some("who"), Some("times")]);
        assert_eq!(names(&iface.imports[0].param_names), [Some("ptr"), None]);
        assert!(iface.imports[1].param_names.is_empty(), "not a function");
        assert_eq!(iface.imports.len(), 2);
        assert_eq!((iface.imports[0].module.as_str(), iface.imports[0].name.as_str()), ("host", "log"));
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
