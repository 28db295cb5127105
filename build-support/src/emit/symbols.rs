//! One ELF symbol per function and trampoline, so `objdump -d`, `nm` and
//! profilers show names: `wasm[0]::function[N]::<name>`.

use super::text::Layout;
use kiln_artifact::info::ModuleInfo;
use object::write::{Object, SectionId, Symbol, SymbolSection};
use object::{SymbolFlags, SymbolKind, SymbolScope};

pub(crate) fn write(
    obj: &mut Object<'static>,
    text: SectionId,
    info: &ModuleInfo,
    layout: &Layout,
    func_names: &[Option<&str>],
) {
    let mut add = |name: String, start: u32, len: u32| {
        obj.add_symbol(Symbol {
            name: name.into_bytes(),
            value: start as u64,
            size: len as u64,
            kind: SymbolKind::Text,
            scope: SymbolScope::Compilation,
            weak: false,
            section: SymbolSection::Section(text),
            flags: SymbolFlags::None,
        });
    };
    for (i, r) in layout.funcs.iter().enumerate() {
        let index = info.num_imported_funcs as usize + i;
        let name = match func_names.get(index).copied().flatten() {
            Some(n) => format!("wasm[0]::function[{index}]::{n}"),
            None => format!("wasm[0]::function[{index}]"),
        };
        add(name, r.start, r.len);
    }
    for (f, r) in &layout.array_trampolines {
        add(format!("wasm[0]::array_to_wasm_trampoline[{f}]"), r.start, r.len);
    }
    for (t, r) in &layout.host_trampolines {
        add(format!("wasm[0]::wasm_to_array_trampoline[type {t}]"), r.start, r.len);
    }
    if let Some(r) = layout.throw_stub {
        add("wasm[0]::throw_stub".to_string(), r.start, r.len);
    }
}
