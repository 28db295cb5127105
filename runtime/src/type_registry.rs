//! Process-wide canonical ids of function types, so `call_indirect` through
//! a table shared between modules compares types with one integer compare.
//!
//! Ids are never reused: a type registered once keeps its id for the life of
//! the process (a few bytes per distinct signature).

use kiln_artifact::types::FuncType;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Mutex, OnceLock};

#[derive(Default)]
struct Registry {
    ids: HashMap<FuncType, u32, BuildHasherDefault<TypeHasher>>,
    types: Vec<FuncType>,
}

/// A multiply-rotate hasher (FxHash's scheme). Every module load hashes
/// each of its types, and the keys are signatures from artifacts, whose
/// native code the process is about to run anyway: SipHash's resistance to
/// chosen colliding keys buys nothing here, and it cost a large share of
/// loading a small module.
#[derive(Default)]
struct TypeHasher(u64);

impl Hasher for TypeHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(b as u64);
        }
    }
    fn write_u8(&mut self, n: u8) {
        self.write_u64(n as u64);
    }
    fn write_u32(&mut self, n: u32) {
        self.write_u64(n as u64);
    }
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn finish(&self) -> u64 {
        self.0
    }
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
