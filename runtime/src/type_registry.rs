//! Process-wide canonical ids of function types, so `call_indirect` through
//! a table shared between modules compares types with one integer compare.
//!
//! Ids are never reused: a type registered once keeps its id for the life of
//! the process (a few bytes per distinct signature).

use kiln_artifact::types::FuncType;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

#[derive(Default)]
struct Registry {
    ids: HashMap<FuncType, u32>,
    types: Vec<FuncType>,
}

fn registry() -> &'static Mutex<Registry> {
    static R: OnceLock<Mutex<Registry>> = OnceLock::new();
    R.get_or_init(Default::default)
}

fn lock() -> std::sync::MutexGuard<'static, Registry> {
    // A panic while holding the lock cannot leave the maps inconsistent
    // (each insert is one push and one insert), so poisoning is ignored.
    registry().lock().unwrap_or_else(|e| e.into_inner())
}

/// The canonical id of each type, registering new ones.
pub(crate) fn canonicalize(types: &[FuncType]) -> Box<[u32]> {
    let mut r = lock();
    types
        .iter()
        .map(|t| {
            if let Some(&id) = r.ids.get(t) {
                return id;
            }
            let id = r.types.len() as u32;
            r.types.push(t.clone());
            r.ids.insert(t.clone(), id);
            id
        })
        .collect()
}

/// The canonical id of one type.
pub(crate) fn id_of(ty: &FuncType) -> u32 {
    canonicalize(std::slice::from_ref(ty))[0]
}

/// The type with canonical id `id`.
pub(crate) fn type_of(id: u32) -> Option<FuncType> {
    lock().types.get(id as usize).cloned()
}
