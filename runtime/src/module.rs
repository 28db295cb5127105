//! [`Module`]: a loaded artifact, ready to instantiate. Loading checks the
//! artifact (ELF header and sections, `.kiln.engine` against this runtime,
//! the consistency of `.kiln.info`), registers its code for the trap
//! handler, and — for embedded artifacts — runs the code where it lies.

use crate::artifact::Artifact;
use crate::error::{Error, Result};
use crate::vm::elf;
use crate::vm::loaded_code::{ArtifactBytes, LoadedCode};
use kiln_artifact::index::{FuncIndex, TypeIndex};
use kiln_artifact::info::{ExportKind, ImportKind, ModuleInfo, Range};
use kiln_artifact::sections as names;
use kiln_artifact::types::FuncType;
use std::sync::Arc;

/// A compiled module, loaded. Cheap to clone (one reference count);
/// `Send + Sync`, so many threads and stores can instantiate it at once.
#[derive(Clone)]
pub struct Module(Arc<ModuleInner>);

struct ModuleInner {
    code: LoadedCode,
    info: ModuleInfo,
    engine: crate::engine_check::Engine,
    /// Canonical id of each type, registered on first use (instantiation,
    /// host functions): loading leaves the process-wide registry alone.
    type_ids: std::sync::OnceLock<Box<[u32]>>,
    /// Copy-on-write images of the defined memories, built on first
    /// instantiation (see `vm::memory_image`).
    memory_images: std::sync::OnceLock<Option<Box<[Option<crate::vm::memory_image::MemoryImage>]>>>,
}

pub use kiln_artifact::types::ExternType;

/// An import of a module.
#[derive(Debug, Clone)]
pub struct ImportType<'a> {
    /// Module name.
    pub module: &'a str,
    /// Field name.
    pub name: &'a str,
    /// Expected type.
    pub ty: ExternType,
}

/// An export of a module.
#[derive(Debug, Clone)]
pub struct ExportType<'a> {
    /// Export name.
    pub name: &'a str,
    /// Its type.
    pub ty: ExternType,
}

impl Module {
    /// Load an artifact embedded by [`include_wasm!`](crate::include_wasm).
    /// No compiler runs, nothing is copied: the code runs in place from the
    /// binary's executable section.
    pub fn new(artifact: &'static Artifact) -> Result<Module> {
        Self::load(ArtifactBytes::Static { bytes: artifact.bytes, in_place: artifact.in_place }, artifact.check)
    }

    /// Load artifact bytes obtained at run time (e.g. written by
    /// `kiln compile`). The code is copied into fresh executable memory and
    /// the few metadata sections kept after loading (trap table, address
    /// map, data segments, names) are copied too; the rest of `bytes` is
    /// only read.
    ///
    /// Every byte is checked against the artifact's checksum first: damage
    /// in storage or transit is an [`ErrorKind::Load`](crate::ErrorKind)
    /// error that says so, before anything else is read.
    ///
    /// # Safety
    ///
    /// `bytes` must be an artifact written by `kiln_build::compile` (or
    /// `kiln compile`), possibly damaged since, but not crafted: the
    /// checksum detects accidents, not intent, and loading an artifact
    /// means running its machine code with the host's privileges — as
    /// loading a shared library does. Treat artifact files as you treat
    /// executables: only from a source you trust, in a place only it can
    /// write. Artifacts embedded with [`include_wasm!`](crate::include_wasm)
    /// are part of the executable and need none of this.
    #[allow(unsafe_code)] // the contract above; the body is safe code
    pub unsafe fn from_bytes(bytes: &[u8]) -> Result<Module> {
        Self::load(ArtifactBytes::Transient(bytes), Some(verified))
    }

    /// Artifacts embedded by `include_wasm!` are part of the executable, as
    /// trusted and as intact as the code around them: only bytes from
    /// elsewhere come with a `check`.
    fn load(bytes: ArtifactBytes<'_>, check: Option<Check>) -> Result<Module> {
        let b = match check {
            Some(check) => check(bytes.get())?,
            None => bytes.get(),
        };
        let s = elf::parse(b)?;
        let engine = crate::engine_check::check(s.engine)?;
        let info: ModuleInfo =
            kiln_artifact::decode_postcard(names::INFO, s.info).map_err(|e| Error::load(names::INFO, e.reason))?;
        kiln_artifact::traps::TrapTable::parse(s.traps).map_err(|e| Error::load(names::TRAPS, e.reason))?;
        validate(&info, &s)?;
        let code = LoadedCode::new(bytes, &s, engine.branch_protection)
            .map_err(|e| Error::load(names::TEXT, format!("cannot map code: {e}")))?;
        let module = Module(Arc::new(ModuleInner {
            code,
            info,
            engine,
            type_ids: std::sync::OnceLock::new(),
            memory_images: Default::default(),
        }));
        crate::profiling::register(&module);
        Ok(module)
    }

    /// Address, size and `wasm[<module>]::<function>` name of every
    /// function body and host entry of the loaded code, for profilers.
    pub(crate) fn function_symbols(&self) -> Vec<(usize, u32, String)> {
        let info = &self.0.info;
        let text = self.0.code.code().text_ptr() as usize;
        let module = self.name().unwrap_or("module");
        let mut out = Vec::new();
        for f in &info.defined_funcs {
            let (index, name, _) = self.func_at(f.body.start).unwrap_or_default();
            let name = name.unwrap_or_else(|| format!("func{index}"));
            out.push((text + f.body.start as usize, f.body.len, format!("wasm[{module}]::{name}")));
            if let Some(t) = f.array_trampoline {
                out.push((text + t.start as usize, t.len, format!("wasm[{module}]::{name} (host entry)")));
            }
        }
        for (ty, t) in &info.wasm_to_array_trampolines {
            out.push((text + t.start as usize, t.len, format!("wasm[{module}]::host call (type {})", ty.0)));
        }
        out
    }

    /// The module's name from its name section.
    pub fn name(&self) -> Option<&str> {
        self.0.info.name.as_deref()
    }

    /// The imports, in order.
    pub fn imports(&self) -> impl ExactSizeIterator<Item = ImportType<'_>> + '_ {
        let info = &self.0.info;
        info.imports.iter().map(move |i| ImportType {
            module: &i.module,
            name: &i.name,
            ty: match i.kind {
                ImportKind::Func(t) => ExternType::Func(info.types[t.index()].clone()),
                ImportKind::Table(t) => ExternType::Table(t),
                ImportKind::Memory(m) => ExternType::Memory(m),
                ImportKind::Global(g) => ExternType::Global(g),
                ImportKind::Tag(t) => ExternType::Tag(info.types[t.index()].clone()),
            },
        })
    }

    /// The exports, sorted by name.
    pub fn exports(&self) -> impl ExactSizeIterator<Item = ExportType<'_>> + '_ {
        self.0.info.exports.iter().map(move |e| ExportType { name: &e.name, ty: self.export_type(e.kind) })
    }

    fn export_type(&self, kind: ExportKind) -> ExternType {
        let info = &self.0.info;
        match kind {
            ExportKind::Func(f) => ExternType::Func(
                info.func_type(f).cloned().unwrap_or_else(|| FuncType { params: Box::new([]), results: Box::new([]) }),
            ),
            ExportKind::Table(t) => ExternType::Table(info.tables[t.index()]),
            ExportKind::Memory(m) => ExternType::Memory(info.memories[m.index()]),
            ExportKind::Global(g) => ExternType::Global(info.globals[g.index()]),
            ExportKind::Tag(t) => ExternType::Tag(info.types[info.tags[t.index()].index()].clone()),
        }
    }

    /// Whether the code runs in place from the binary's own executable
    /// section (embedded artifacts) rather than from a copy.
    pub fn is_in_place(&self) -> bool {
        self.0.code.code().is_in_place()
    }

    /// Address range of the module's compiled code.
    pub fn code_range(&self) -> std::ops::Range<usize> {
        let start = self.0.code.code().text_ptr() as usize;
        start..start + self.0.code.code().text_len()
    }

    /// The target triple the module was compiled for.
    pub fn target(&self) -> &str {
        &self.0.engine.triple
    }

    pub(crate) fn info(&self) -> &ModuleInfo {
        &self.0.info
    }

    pub(crate) fn engine(&self) -> &crate::engine_check::Engine {
        &self.0.engine
    }

    /// The canonical id of each of the module's types. (The loader checked
    /// that every type reference stays inside the type section and its
    /// recursion groups, so registration succeeds; were it to fail, ids
    /// that match no type would make every type check fail, never pass.)
    pub(crate) fn type_ids(&self) -> &[u32] {
        self.0.type_ids.get_or_init(|| {
            let info = &self.0.info;
            crate::type_registry::canonicalize(info).unwrap_or_else(|| vec![u32::MAX; info.types.len()].into())
        })
    }

    pub(crate) fn text_ptr(&self) -> *const u8 {
        self.0.code.code().text_ptr()
    }

    /// The images of the defined memories' initial contents, or `None`
    /// when data segments must be copied.
    pub(crate) fn memory_images(&self) -> Option<&[Option<crate::vm::memory_image::MemoryImage>]> {
        self.0
            .memory_images
            .get_or_init(|| crate::vm::memory_image::module_images(&self.0.info, self.data_section()))
            .as_deref()
    }

    pub(crate) fn data_section(&self) -> &[u8] {
        self.0.code.data()
    }

    pub(crate) fn names_section(&self) -> &[u8] {
        self.0.code.names()
    }

    pub(crate) fn exceptions_section(&self) -> &[u8] {
        self.0.code.exceptions()
    }

    pub(crate) fn addrmap_section(&self) -> &[u8] {
        self.0.code.addrmap()
    }

    pub(crate) fn srclocs_section(&self) -> &[u8] {
        self.0.code.srclocs()
    }

    /// Address of the wasm-to-host trampoline for functions of type `ty`.
    pub(crate) fn wasm_to_array_trampoline(&self, ty: TypeIndex) -> Option<*const u8> {
        let r = self.0.info.wasm_to_array_trampoline(ty)?;
        Some(self.0.code.code().text_ptr().wrapping_add(r.start as usize))
    }

    /// A wasm-to-host trampoline for canonical type id `id`, if this module
    /// has one.
    pub(crate) fn wasm_to_array_trampoline_for(&self, id: u32) -> Option<*const u8> {
        let info = &self.0.info;
        info.wasm_to_array_trampolines
            .iter()
            .find(|(t, _)| self.type_ids().get(t.index()) == Some(&id))
            .map(|(_, r)| self.0.code.code().text_ptr().wrapping_add(r.start as usize))
    }

    /// The function whose body holds text offset `off`: its index, its
    /// name when the module has one, and where its body starts in the text.
    pub(crate) fn func_at(&self, off: u32) -> Option<(u32, Option<String>, u32)> {
        let info = &self.0.info;
        let i = info.defined_funcs.partition_point(|f| f.body.start <= off).checked_sub(1)?;
        let f = &info.defined_funcs[i];
        if off as u64 >= f.body.end() {
            return None;
        }
        let name = self
            .names_section()
            .get(f.name.start as usize..f.name.end() as usize)
            .filter(|n| !n.is_empty())
            .map(|n| String::from_utf8_lossy(n).into_owned());
        let index = info.num_imported_funcs + i as u32;
        // Without a name section entry, an export name says as much.
        let name = name.or_else(|| {
            info.exports.iter().find(|e| e.kind == ExportKind::Func(FuncIndex(index))).map(|e| e.name.to_string())
        });
        Some((index, name, f.body.start))
    }
}

impl std::fmt::Debug for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Module")
            .field("name", &self.name())
            .field("target", &self.target())
            .field("in_place", &self.is_in_place())
            .finish()
    }
}

/// Check that `.kiln.info` is consistent with itself and with the other
/// sections, so instantiation can index without further checks.
/// The type section's structure: recursion groups that partition it, and
/// every type reference (in signatures, and to supertypes) to an earlier
/// type or one of the same group — what registration relies on.
fn validate_types(info: &ModuleInfo) -> Option<&'static str> {
    use kiln_artifact::types::{HeapType, RefType, ValType};
    let n = info.types.len() as u32;
    if info.rec_groups.first().is_some_and(|&s| s != 0)
        || info.rec_groups.windows(2).any(|w| w[0] >= w[1])
        || info.rec_groups.last().is_some_and(|&s| s >= n)
    {
        return Some("recursion groups do not partition the type section");
    }
    if info.subtypes.windows(2).any(|w| w[0].ty.0 >= w[1].ty.0) || info.subtypes.iter().any(|d| d.ty.0 >= n) {
        return Some("subtype declarations are not sorted by type");
    }
    for t in 0..n {
        let group = info.rec_group_of(kiln_artifact::index::TypeIndex(t));
        let ok = |r: u32| r < group.end;
        let refs = info.types[t as usize].params.iter().chain(info.types[t as usize].results.iter());
        for v in refs {
            if let ValType::Ref(RefType { heap: HeapType::Concrete(r), .. }) = v {
                if !ok(*r) {
                    return Some("a type refers to a later type outside its recursion group");
                }
            }
        }
        if let (Some(sup), _) = info.subtyping(kiln_artifact::index::TypeIndex(t)) {
            if !ok(sup.0) || sup.0 == t {
                return Some("a type's supertype is neither earlier nor in its recursion group");
            }
        }
    }
    None
}

/// The test bytes from outside the executable pass before anything else
/// reads them (see [`Artifact`]'s `check`).
pub(crate) type Check = fn(&[u8]) -> Result<&[u8]>;

/// Every byte against the artifact's checksum.
pub(crate) fn verified(bytes: &[u8]) -> Result<&[u8]> {
    kiln_artifact::integrity::verify(bytes).map_err(|d| Error::load("artifact", d))
}

fn validate(info: &ModuleInfo, s: &elf::Sections<'_>) -> Result<()> {
    let bad = |what: String| Err(Error::load(names::INFO, what));
    let text_len = s.text.len() as u64;
    let in_text = |r: &Range| r.end() <= text_len;
    let n_types = info.types.len();
    let count = |k: fn(&ImportKind) -> bool| info.imports.iter().filter(|i| k(&i.kind)).count() as u32;
    if count(|k| matches!(k, ImportKind::Func(_))) != info.num_imported_funcs
        || count(|k| matches!(k, ImportKind::Table(_))) != info.num_imported_tables
        || count(|k| matches!(k, ImportKind::Memory(_))) != info.num_imported_memories
        || count(|k| matches!(k, ImportKind::Global(_))) != info.num_imported_globals
        || count(|k| matches!(k, ImportKind::Tag(_))) != info.num_imported_tags
    {
        return bad("import counts do not match the imports".into());
    }
    if info.functions.len() != info.num_imported_funcs as usize + info.defined_funcs.len()
        || info.tables.len() < info.num_imported_tables as usize
        || info.memories.len() < info.num_imported_memories as usize
        || info.globals.len() < info.num_imported_globals as usize
        || info.tags.len() < info.num_imported_tags as usize
        || info.global_inits.len() != info.globals.len() - info.num_imported_globals as usize
        || info.table_inits.len() != info.tables.len() - info.num_imported_tables as usize
    {
        return bad("index spaces do not match their definitions".into());
    }
    if info.functions.iter().any(|t| t.index() >= n_types) {
        return bad("a function has an unknown type".into());
    }
    // Each import's type is that of the index-space entry it fills: one
    // source of truth for linking and for `Module::imports`.
    let mut next = [0usize; 5];
    for i in &info.imports {
        let mut take = |k: usize| {
            next[k] += 1;
            next[k] - 1
        };
        let matches = match i.kind {
            ImportKind::Func(t) => info.functions.get(take(0)) == Some(&t),
            ImportKind::Table(t) => info.tables.get(take(1)) == Some(&t),
            ImportKind::Memory(m) => info.memories.get(take(2)) == Some(&m),
            ImportKind::Global(g) => info.globals.get(take(3)) == Some(&g),
            ImportKind::Tag(t) => info.tags.get(take(4)) == Some(&t),
        };
        if !matches {
            return bad(format!("import `{}`::`{}` has another type than the entry it fills", i.module, i.name));
        }
    }
    if info.tags.iter().any(|t| info.types.get(t.index()).is_none_or(|ty| !ty.results.is_empty())) {
        return bad("a tag has an unknown type or a type with results".into());
    }
    validate_types(info).map_or(Ok(()), |what| bad(what.into()))?;
    for (i, f) in info.defined_funcs.iter().enumerate() {
        if !in_text(&f.body) || f.array_trampoline.is_some_and(|r| !in_text(&r)) {
            return bad(format!("code of defined function {i} lies outside .text"));
        }
        if f.name.end() > s.names.len() as u64 {
            return bad(format!("name of defined function {i} lies outside .name.wasm"));
        }
    }
    if info.wasm_to_array_trampolines.iter().any(|(t, r)| t.index() >= n_types || !in_text(r)) {
        return bad("a wasm-to-host trampoline is out of range".into());
    }
    if !info.func_refs.windows(2).all(|w| w[0] < w[1])
        || info.func_refs.iter().any(|f| f.index() >= info.functions.len())
    {
        return bad("function reference slots are not sorted or out of range".into());
    }
    for &f in &info.func_refs {
        if let Some(d) = info.defined_func_index(f) {
            if info.defined_funcs[d.index()].array_trampoline.is_none() {
                return bad(format!("escaping function {f} has no array trampoline"));
            }
        }
    }
    for e in &info.exports {
        let ok = match e.kind {
            ExportKind::Func(f) => info.func_ref_index(f).is_some(),
            ExportKind::Table(t) => t.index() < info.tables.len(),
            ExportKind::Memory(m) => m.index() < info.memories.len(),
            ExportKind::Global(g) => g.index() < info.globals.len(),
            ExportKind::Tag(t) => t.index() < info.tags.len(),
        };
        if !ok {
            return bad(format!("export `{}` refers to nothing", e.name));
        }
    }
    if !info.exports.windows(2).all(|w| w[0].name < w[1].name) {
        return bad("exports are not sorted by name".into());
    }
    if let Some(f) = info.start {
        let ok = info.func_type(f).is_some_and(|t| t.params.is_empty() && t.results.is_empty())
            && info.defined_func_index(f).is_none_or(|d| info.defined_funcs[d.index()].array_trampoline.is_some());
        if !ok {
            return bad(format!("start function {f} is invalid"));
        }
    }
    let check_expr = |e: &kiln_artifact::info::ConstExpr| {
        e.0.iter().all(|op| match op {
            kiln_artifact::info::ConstOp::GlobalGet(g) => g.index() < info.globals.len(),
            kiln_artifact::info::ConstOp::RefFunc(f) => info.func_ref_index(*f).is_some(),
            _ => true,
        })
    };
    if !info.global_inits.iter().chain(&info.table_inits).all(check_expr) {
        return bad("a constant expression refers to nothing".into());
    }
    for seg in &info.elements {
        if let kiln_artifact::info::ElementMode::Active { table, offset } = &seg.mode {
            if table.index() >= info.tables.len() || !check_expr(offset) {
                return bad("an element segment refers to nothing".into());
            }
        }
        let items_ok = match &seg.items {
            kiln_artifact::info::ElementItems::Functions(fs) => fs.iter().all(|&f| info.func_ref_index(f).is_some()),
            kiln_artifact::info::ElementItems::Expressions(es) => es.iter().all(check_expr),
        };
        if !items_ok {
            return bad("an element segment item refers to nothing".into());
        }
    }
    for seg in &info.data {
        if seg.bytes.end() > s.data.len() as u64 {
            return bad("a data segment lies outside .rodata.wasm".into());
        }
        if let kiln_artifact::info::DataMode::Active { memory, offset } = &seg.mode {
            if memory.index() >= info.memories.len() || !check_expr(offset) {
                return bad("a data segment refers to nothing".into());
            }
        }
    }
    // The trap table is not walked here (only its framing is checked, by
    // `TrapTable::parse`): loading stays O(1) in the code size, and a site
    // outside .text can simply never match a faulting PC.
    kiln_artifact::addrmap::AddrMap::parse(s.addrmap).map_err(|e| Error::load(names::ADDRMAP, e.reason))?;
    kiln_artifact::exceptions::ExceptionTable::parse(s.exceptions)
        .map_err(|e| Error::load(names::EXCEPTIONS, e.reason))?;
    kiln_artifact::srclocs::SrcLocs::parse(s.srclocs).map_err(|e| Error::load(names::SRCLOCS, e.reason))?;
    Ok(())
}
