//! The `spectest` module that spec scripts import from: defined with the
//! public kiln API in each store, as any embedder would define imports.
//!
//! | name | definition |
//! |---|---|
//! | `print`, `print_i32`, `print_i64`, `print_f32`, `print_f64`, `print_i32_f32`, `print_f64_f64` | host functions that do nothing (the scripts only check that they link and can be called) |
//! | `global_i32`, `global_i64` | immutable globals holding 666 |
//! | `global_f32`, `global_f64` | immutable globals holding 666.6 |
//! | `table` | a funcref table with limits 10..20, all null |
//! | `memory` | a memory with limits 1..2 pages |
//! | `shared_memory` | a shared memory with limits 1..2 pages (threads) |

use kiln::{Global, Memory, SharedMemory, Table};
use kiln::{GlobalType, Limits, Linker, MemoryType, RefType, Store, TableType, Val, ValType};

/// Define every `spectest` item of `store` in `linker`.
pub(crate) fn define(linker: &mut Linker<()>, store: &mut Store<()>) -> kiln::Result<()> {
    linker.func_wrap("spectest", "print", || {})?;
    linker.func_wrap("spectest", "print_i32", |_: i32| {})?;
    linker.func_wrap("spectest", "print_i64", |_: i64| {})?;
    linker.func_wrap("spectest", "print_f32", |_: f32| {})?;
    linker.func_wrap("spectest", "print_f64", |_: f64| {})?;
    linker.func_wrap("spectest", "print_i32_f32", |_: i32, _: f32| {})?;
    linker.func_wrap("spectest", "print_f64_f64", |_: f64, _: f64| {})?;

    let globals = [
        ("global_i32", Val::I32(666)),
        ("global_i64", Val::I64(666)),
        ("global_f32", Val::from(666.6f32)),
        ("global_f64", Val::from(666.6f64)),
    ];
    for (name, value) in globals {
        let global = Global::new(&mut *store, GlobalType { content: value.ty(), mutable: false }, value)?;
        linker.define("spectest", name, global)?;
    }

    let table_ty = TableType { element: RefType::FUNCREF, limits: Limits { min: 10, max: Some(20) }, table64: false };
    let table = Table::new(&mut *store, table_ty, Val::default_for(ValType::FUNCREF))?;
    linker.define("spectest", "table", table)?;

    let memory_ty =
        MemoryType { limits: Limits { min: 1, max: Some(2) }, memory64: false, shared: false, page_size_log2: 16 };
    let memory = Memory::new(&mut *store, memory_ty)?;
    linker.define("spectest", "memory", memory)?;
    linker.define("spectest", "shared_memory", SharedMemory::new(MemoryType::shared(1, 2))?)?;
    Ok(())
}
