//! Process-wide canonical ids of function types, so `call_indirect` through
//! a table shared between modules compares types with one integer compare,
//! and subtype checks across modules compare ids.
//!
//! WebAssembly 3.0 types come in recursion groups, and two types are the
//! same when their groups are the same structurally and they sit at the
//! same place in them (iso-recursive equivalence). So a group is registered
//! as a whole: its key is its types, with every reference to a type of the
//! same group written as that type's position in the group, and every
//! reference to an earlier group written as that type's canonical id. The
//! group's types get consecutive ids. A wasm 2.0 module's types are each a
//! group of one, without references: the key is just the signature.
//!
//! Ids are never reused: a type registered once keeps its id for the life
//! of the process (a few bytes per distinct signature).

use kiln_artifact::index::TypeIndex;
use kiln_artifact::info::ModuleInfo;
use kiln_artifact::types::{FuncType, HeapType, RefType, ValType};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Mutex, OnceLock};

/// A type reference inside a group key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Ref {
    /// The type at this position of the same group.
    Own(u32),
    /// A type of an earlier group, by canonical id.
    Id(u32),
}

/// A value type inside a group key: a concrete reference is a [`Ref`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Val {
    Plain(ValType),
    Concrete { nullable: bool, to: Ref },
}

/// One type of a group key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    params: Box<[Val]>,
    results: Box<[Val]>,
    supertype: Option<Ref>,
    is_final: bool,
}

/// What the registry keeps of a canonical type.
struct Entry {
    /// The signature, with every concrete reference given by canonical id
    /// (see [`type_of`]).
    ty: FuncType,
    /// The declared supertype's canonical id.
    supertype: Option<u32>,
}

#[derive(Default)]
struct Registry {
    groups: HashMap<Box<[Key]>, u32, BuildHasherDefault<TypeHasher>>,
    types: Vec<Entry>,
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
    // (a group's entries are pushed before its key is inserted, and ids
    // are handed out only from the key), so poisoning is ignored.
    registry().lock().unwrap_or_else(|e| e.into_inner())
}

impl Registry {
    /// Register the group `types[range]` of a module whose earlier types
    /// have the canonical ids `ids` (one per type before `range.start`),
    /// and return the group's first id.
    fn register_group(&mut self, info: &ModuleInfo, range: std::ops::Range<u32>, ids: &[u32]) -> Option<u32> {
        let to_ref = |t: u32| -> Option<Ref> {
            if range.contains(&t) {
                Some(Ref::Own(t - range.start))
            } else {
                ids.get(t as usize).map(|&id| Ref::Id(id))
            }
        };
        let val = |v: ValType| -> Option<Val> {
            Some(match v {
                ValType::Ref(RefType { nullable, heap: HeapType::Concrete(t) }) => {
                    Val::Concrete { nullable, to: to_ref(t)? }
                }
                other => Val::Plain(other),
            })
        };
        let mut key = Vec::with_capacity(range.len());
        for t in range.clone() {
            let ty = info.types.get(t as usize)?;
            let (supertype, is_final) = info.subtyping(TypeIndex(t));
            key.push(Key {
                params: ty.params.iter().map(|&v| val(v)).collect::<Option<_>>()?,
                results: ty.results.iter().map(|&v| val(v)).collect::<Option<_>>()?,
                supertype: match supertype {
                    Some(s) => Some(to_ref(s.0)?),
                    None => None,
                },
                is_final,
            });
        }
        let key = key.into_boxed_slice();
        if let Some(&first) = self.groups.get(&key) {
            return Some(first);
        }
        let first = self.types.len() as u32;
        let resolve = |r: Ref| match r {
            Ref::Own(i) => first + i,
            Ref::Id(id) => id,
        };
        for k in key.iter() {
            let plain = |v: &Val| match *v {
                Val::Plain(v) => v,
                Val::Concrete { nullable, to } => {
                    ValType::Ref(RefType { nullable, heap: HeapType::Concrete(resolve(to)) })
                }
            };
            let ty = FuncType {
                params: k.params.iter().map(plain).collect(),
                results: k.results.iter().map(plain).collect(),
            };
            self.types.push(Entry { ty, supertype: k.supertype.map(resolve) });
        }
        self.groups.insert(key, first);
        Some(first)
    }
}

/// The canonical id of each type of a module, registering new ones. `None`
/// if the module's types refer to types that do not exist (the loader
/// refuses such an artifact).
pub(crate) fn canonicalize(info: &ModuleInfo) -> Option<Box<[u32]>> {
    let mut r = lock();
    let n = info.types.len() as u32;
    let mut ids: Vec<u32> = Vec::with_capacity(n as usize);
    let mut t = 0;
    while t < n {
        let group = info.rec_group_of(TypeIndex(t));
        if group.start != t || group.end <= t || group.end > n {
            return None;
        }
        let first = r.register_group(info, group.clone(), &ids)?;
        ids.extend(first..first + group.len() as u32);
        t = group.end;
    }
    Some(ids.into_boxed_slice())
}

/// The canonical id of a signature without concrete references (a host
/// function's).
pub(crate) fn id_of(ty: &FuncType) -> u32 {
    let info = ModuleInfo { types: vec![ty.clone()], ..Default::default() };
    // A lone signature without concrete references always registers.
    canonicalize(&info).and_then(|ids| ids.first().copied()).unwrap_or(u32::MAX)
}

/// The type with canonical id `id`, its concrete references given by
/// canonical id too.
pub(crate) fn type_of(id: u32) -> Option<FuncType> {
    lock().types.get(id as usize).map(|e| e.ty.clone())
}

/// Whether the type with canonical id `sub` is `sup` or declares it as an
/// ancestor.
pub(crate) fn is_subtype(sub: u32, sup: u32) -> bool {
    if sub == sup {
        return true;
    }
    let r = lock();
    let mut at = sub;
    // Each step goes to an earlier-registered type, so this ends.
    while let Some(next) = r.types.get(at as usize).and_then(|e| e.supertype) {
        if next == sup {
            return true;
        }
        if next >= at {
            return false;
        }
        at = next;
    }
    false
}

/// `ty` of a module whose types have the canonical ids `type_ids`, in
/// canonical form: a concrete reference given by canonical id. (An index
/// out of range becomes an id that matches nothing; the loader refuses
/// such artifacts before this is asked.)
pub(crate) fn canonical(ty: ValType, type_ids: &[u32]) -> ValType {
    match ty {
        ValType::Ref(RefType { nullable, heap: HeapType::Concrete(i) }) => ValType::Ref(RefType {
            nullable,
            heap: HeapType::Concrete(type_ids.get(i as usize).copied().unwrap_or(u32::MAX)),
        }),
        other => other,
    }
}

/// Whether `sub` is a subtype of `sup`, both in canonical form: equal
/// number types, or references where null is allowed only if `sup`
/// allows it and the heap types are related (a bottom type below every
/// type of its hierarchy, a concrete function type below `func` and below
/// its declared ancestors).
pub(crate) fn val_subtype(sub: ValType, sup: ValType) -> bool {
    match (sub, sup) {
        (ValType::Ref(a), ValType::Ref(b)) => (!a.nullable || b.nullable) && heap_subtype(a.heap, b.heap),
        (a, b) => a == b,
    }
}

fn heap_subtype(a: HeapType, b: HeapType) -> bool {
    match (a, b) {
        _ if a == b => true,
        (HeapType::Concrete(x), HeapType::Concrete(y)) => is_subtype(x, y),
        (HeapType::Concrete(_), HeapType::Func) => true,
        _ => a.is_bottom() && a.top() == b.top(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_artifact::info::SubtypeDecl;

    fn func(params: &[ValType], results: &[ValType]) -> FuncType {
        FuncType { params: params.into(), results: results.into() }
    }

    fn concrete(t: u32) -> ValType {
        ValType::Ref(RefType { nullable: false, heap: HeapType::Concrete(t) })
    }

    #[test]
    fn plain_signatures_are_shared_across_modules() {
        let a =
            ModuleInfo { types: vec![func(&[ValType::I32], &[]), func(&[], &[ValType::I64])], ..Default::default() };
        let b = ModuleInfo { types: vec![func(&[], &[ValType::I64])], ..Default::default() };
        let (ia, ib) = (canonicalize(&a).unwrap(), canonicalize(&b).unwrap());
        assert_eq!(ia[1], ib[0]);
        assert_ne!(ia[0], ia[1]);
        assert_eq!(id_of(&a.types[0]), ia[0]);
    }

    /// Iso-recursive equivalence: the same group shape is the same types,
    /// however the group is reached; a different position is a different
    /// type even with the same signature.
    #[test]
    fn recursion_groups_are_compared_as_wholes() {
        // rec { $a: (func (param (ref $b))), $b: (func (param (ref $a))) }
        let m1 = ModuleInfo {
            types: vec![func(&[concrete(1)], &[]), func(&[concrete(0)], &[])],
            rec_groups: vec![0],
            ..Default::default()
        };
        let mut m2 = ModuleInfo {
            types: vec![func(&[], &[]), func(&[concrete(2)], &[]), func(&[concrete(1)], &[])],
            ..Default::default()
        };
        m2.rec_groups = vec![0, 1];
        let (i1, i2) = (canonicalize(&m1).unwrap(), canonicalize(&m2).unwrap());
        assert_eq!((i1[0], i1[1]), (i2[1], i2[2]));
        assert_ne!(i1[0], i1[1]);
        // The same signatures as separate singleton groups are other types.
        let m3 = ModuleInfo { types: vec![func(&[concrete(1)], &[]), func(&[concrete(0)], &[])], ..Default::default() };
        assert!(canonicalize(&m3).is_none(), "a forward reference out of a singleton group is refused");
    }

    #[test]
    fn declared_supertypes_are_subtypes() {
        let m = ModuleInfo {
            types: vec![func(&[], &[]), func(&[], &[]), func(&[], &[])],
            subtypes: vec![
                SubtypeDecl { ty: TypeIndex(0), supertype: None, is_final: false },
                SubtypeDecl { ty: TypeIndex(1), supertype: Some(TypeIndex(0)), is_final: false },
                SubtypeDecl { ty: TypeIndex(2), supertype: Some(TypeIndex(1)), is_final: true },
            ],
            ..Default::default()
        };
        let ids = canonicalize(&m).unwrap();
        assert!(is_subtype(ids[2], ids[0]) && is_subtype(ids[1], ids[0]) && is_subtype(ids[2], ids[2]));
        assert!(!is_subtype(ids[0], ids[1]));
        // A final type without supertype of the same signature is another type.
        let plain = id_of(&func(&[], &[]));
        assert!(!ids.contains(&plain));
    }
}
