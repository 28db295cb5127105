//! [`Val`]: a WebAssembly value on the host side, and its conversions to
//! the raw 16-byte slots compiled code uses.

use crate::func::Func;
use crate::store::ExternRef;
use crate::tag::ExnRef;
use crate::vm::instance::StoreOpaque;
use crate::vm::vmctx::ValRaw;
pub use kiln_artifact::types::{FuncType, GlobalType, HeapType, Limits, MemoryType, RefType, TableType, ValType};

/// A WebAssembly value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Val {
    /// `i32`
    I32(i32),
    /// `i64`
    I64(i64),
    /// `f32`, as bits so NaN payloads survive.
    F32(u32),
    /// `f64`, as bits so NaN payloads survive.
    F64(u64),
    /// `v128`
    V128(u128),
    /// `funcref` (None is null).
    FuncRef(Option<Func>),
    /// `externref` (None is null).
    ExternRef(Option<ExternRef>),
    /// `exnref` (None is null): a caught wasm exception.
    ExnRef(Option<ExnRef>),
}

impl Val {
    /// The value's type.
    pub fn ty(&self) -> ValType {
        match self {
            Val::I32(_) => ValType::I32,
            Val::I64(_) => ValType::I64,
            Val::F32(_) => ValType::F32,
            Val::F64(_) => ValType::F64,
            Val::V128(_) => ValType::V128,
            Val::FuncRef(_) => ValType::FUNCREF,
            Val::ExternRef(_) => ValType::EXTERNREF,
            Val::ExnRef(_) => ValType::Ref(RefType::EXNREF),
        }
    }

    /// The zero/null value of a type.
    pub fn default_for(ty: ValType) -> Val {
        match ty {
            ValType::I32 => Val::I32(0),
            ValType::I64 => Val::I64(0),
            ValType::F32 => Val::F32(0),
            ValType::F64 => Val::F64(0),
            ValType::V128 => Val::V128(0),
            ValType::Ref(r) => Val::null_of(r),
        }
    }

    /// The null reference of `r`'s hierarchy.
    pub(crate) fn null_of(r: RefType) -> Val {
        match r.heap.top() {
            HeapType::Extern => Val::ExternRef(None),
            HeapType::Exn => Val::ExnRef(None),
            _ => Val::FuncRef(None),
        }
    }

    /// Whether this value is one of type `ty` in canonical form (concrete
    /// references given by canonical id, as a [`Func`]'s type has them):
    /// the same number type, or a reference of the right hierarchy that is
    /// null only where `ty` is nullable and, for a function, whose type is
    /// a subtype of `ty`'s heap type.
    pub(crate) fn matches(&self, store: &StoreOpaque, ty: ValType) -> crate::Result<bool> {
        Ok(match (self, ty) {
            (Val::I32(_), ValType::I32)
            | (Val::I64(_), ValType::I64)
            | (Val::F32(_), ValType::F32)
            | (Val::F64(_), ValType::F64)
            | (Val::V128(_), ValType::V128) => true,
            (Val::FuncRef(None), ValType::Ref(r)) => r.nullable && r.is_func(),
            (Val::ExternRef(None), ValType::Ref(r)) => r.nullable && r.heap.top() == HeapType::Extern,
            (Val::ExternRef(Some(_)), ValType::Ref(r)) => r.heap == HeapType::Extern,
            (Val::ExnRef(None), ValType::Ref(r)) => r.nullable && r.heap.top() == HeapType::Exn,
            (Val::ExnRef(Some(x)), ValType::Ref(r)) => {
                // The store check.
                x.to_raw(store)?;
                r.heap == HeapType::Exn
            }
            (Val::FuncRef(Some(f)), ValType::Ref(r)) => match r.heap {
                HeapType::Func => true,
                HeapType::Concrete(id) => {
                    // The store check `type_id` relies on.
                    f.to_raw(store)?;
                    crate::type_registry::is_subtype(f.type_id(), id)
                }
                _ => false,
            },
            _ => false,
        })
    }

    /// As `i32`, if it is one.
    pub fn i32(&self) -> Option<i32> {
        if let Val::I32(v) = self {
            Some(*v)
        } else {
            None
        }
    }
    /// As `i64`, if it is one.
    pub fn i64(&self) -> Option<i64> {
        if let Val::I64(v) = self {
            Some(*v)
        } else {
            None
        }
    }
    /// As `f32`, if it is one.
    pub fn f32(&self) -> Option<f32> {
        if let Val::F32(v) = self {
            Some(f32::from_bits(*v))
        } else {
            None
        }
    }
    /// As `f64`, if it is one.
    pub fn f64(&self) -> Option<f64> {
        if let Val::F64(v) = self {
            Some(f64::from_bits(*v))
        } else {
            None
        }
    }

    /// The raw slot, checking that references belong to `store`.
    pub(crate) fn to_raw(self, store: &StoreOpaque) -> crate::Result<ValRaw> {
        Ok(match self {
            Val::I32(v) => ValRaw::i32(v),
            Val::I64(v) => ValRaw::i64(v),
            Val::F32(v) => ValRaw::f32(v),
            Val::F64(v) => ValRaw::f64(v),
            Val::V128(v) => ValRaw::u128(v),
            Val::FuncRef(None) | Val::ExternRef(None) | Val::ExnRef(None) => ValRaw::ref_(0),
            Val::ExnRef(Some(x)) => ValRaw::ref_(x.to_raw(store)?),
            Val::FuncRef(Some(f)) => ValRaw::ref_(f.to_raw(store)?),
            Val::ExternRef(Some(r)) => ValRaw::ref_(r.to_raw(store)?),
        })
    }

    /// A value of type `ty` from its raw slot.
    pub(crate) fn from_raw(store: &StoreOpaque, raw: ValRaw, ty: ValType) -> Val {
        match ty {
            ValType::I32 => Val::I32(raw.get_i32()),
            ValType::I64 => Val::I64(raw.get_i64()),
            ValType::F32 => Val::F32(raw.get_f32()),
            ValType::F64 => Val::F64(raw.get_f64()),
            ValType::V128 => Val::V128(raw.get_u128()),
            ValType::Ref(r) if r.heap.top() == HeapType::Extern => {
                Val::ExternRef(ExternRef::from_raw(store, raw.get_ref()))
            }
            ValType::Ref(r) if r.heap.top() == HeapType::Exn => Val::ExnRef(ExnRef::from_raw(store, raw.get_ref())),
            ValType::Ref(_) => Val::FuncRef(Func::from_raw(store, raw.get_ref())),
        }
    }
}

impl From<i32> for Val {
    fn from(v: i32) -> Val {
        Val::I32(v)
    }
}
impl From<i64> for Val {
    fn from(v: i64) -> Val {
        Val::I64(v)
    }
}
impl From<f32> for Val {
    fn from(v: f32) -> Val {
        Val::F32(v.to_bits())
    }
}
impl From<f64> for Val {
    fn from(v: f64) -> Val {
        Val::F64(v.to_bits())
    }
}
impl From<Func> for Val {
    fn from(f: Func) -> Val {
        Val::FuncRef(Some(f))
    }
}
