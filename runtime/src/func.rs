//! [`Func`]: a WebAssembly or host function, called dynamically with
//! [`Val`]s; host functions from closures. Typed calls live in
//! [`typed`](crate::func::typed).

pub mod typed;

use crate::error::{Error, Result};
use crate::store::{AsContextMut, Caller};
use crate::values::{FuncType, Val};
use crate::vm::instance::{ensure_wasm_callable, read_func_ref, HostFunc, StoreOpaque};
use crate::vm::vmctx::ValRaw;
pub use typed::{IntoFunc, TypedFunc, WasmParams, WasmResults, WasmRet, WasmTy};

/// A function of a store: exported by an instance or defined by the host.
/// A handle (`Copy`); the function lives as long as its store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Func {
    store: u64,
    /// Address of the function's `VMFuncRef`: the funcref value wasm sees.
    raw: usize,
}

impl Func {
    pub(crate) fn from_raw(store: &StoreOpaque, raw: usize) -> Option<Func> {
        (raw != 0).then_some(Func { store: store.id, raw })
    }

    pub(crate) fn to_raw(self, store: &StoreOpaque) -> Result<usize> {
        if self.store != store.id {
            return Err(Error::wrong_store("function"));
        }
        Ok(self.raw)
    }

    /// The funcref to hand to wasm: it must be callable from compiled code.
    pub(crate) fn to_wasm(self, store: &mut StoreOpaque) -> Result<usize> {
        let raw = self.to_raw(store)?;
        // SAFETY: `raw` is a funcref of this store (checked above).
        #[allow(unsafe_code)]
        let ok = unsafe { ensure_wasm_callable(store, raw) };
        if !ok {
            return Err(Error::ty(format!(
                "host function of type {} cannot be passed to wasm: no module in this store imports a function of that type",
                self.ty_of()
            )));
        }
        Ok(raw)
    }

    /// The canonical id of the function's type: equal ids, equal types.
    pub(crate) fn type_id(&self) -> u32 {
        // SAFETY: a Func handle always holds a non-null funcref of its
        // store; the caller checked the store (to_raw).
        #[allow(unsafe_code)]
        let fr = unsafe { read_func_ref(self.raw) };
        fr.type_id
    }

    fn ty_of(&self) -> FuncType {
        // SAFETY: a Func handle always holds a non-null funcref of its
        // store, which outlives the handle's use through the store.
        #[allow(unsafe_code)]
        let fr = unsafe { read_func_ref(self.raw) };
        crate::type_registry::type_of(fr.type_id)
            .unwrap_or_else(|| FuncType { params: Box::new([]), results: Box::new([]) })
    }

    /// A host function from a closure taking and returning [`Val`]s.
    pub fn new<T: 'static>(
        mut store: impl AsContextMut<Data = T>,
        ty: FuncType,
        f: impl Fn(Caller<'_, T>, &[Val], &mut [Val]) -> Result<()> + Send + Sync + 'static,
    ) -> Func {
        let host = dynamic_host_fn::<T>(ty, f);
        let s = store.opaque_mut();
        let raw = s.new_host_func(host);
        Func { store: s.id, raw }
    }

    /// A host function from a closure with wasm-typed parameters and
    /// results, optionally taking a [`Caller`] first.
    pub fn wrap<T: 'static, Params, Results>(
        mut store: impl AsContextMut<Data = T>,
        f: impl IntoFunc<T, Params, Results>,
    ) -> Func {
        let host = f.into_host_fn();
        let s = store.opaque_mut();
        let raw = s.new_host_func(host);
        Func { store: s.id, raw }
    }

    /// The function's type.
    ///
    /// # Panics
    /// If the function belongs to another store.
    pub fn ty(&self, store: impl AsContextMut) -> FuncType {
        assert_eq!(store.opaque().id, self.store, "function used with a store it does not belong to");
        self.ty_of()
    }

    /// Call with dynamic values; `results` must have room for every result.
    pub fn call(&self, mut store: impl AsContextMut, params: &[Val], results: &mut [Val]) -> Result<()> {
        let s = store.opaque_mut();
        let raw = self.to_raw(s)?;
        let ty = self.ty_of();
        if params.len() != ty.params.len() {
            return Err(Error::ty(format!(
                "function {ty} takes {} arguments, {} given",
                ty.params.len(),
                params.len()
            )));
        }
        if results.len() < ty.results.len() {
            return Err(Error::ty(format!(
                "function {ty} returns {} values, room for {} given",
                ty.results.len(),
                results.len()
            )));
        }
        let mut values = vec![ValRaw::default(); ty.params.len().max(ty.results.len())];
        for (i, (p, t)) in params.iter().zip(ty.params.iter()).enumerate() {
            if !p.matches(s, *t)? {
                return Err(Error::ty(format!("argument {i} of {ty} must be {t}, not {}", p.ty())));
            }
            values[i] = match p {
                Val::FuncRef(Some(f)) => ValRaw::ref_(f.to_wasm(s)?),
                other => other.to_raw(s)?,
            };
        }
        // SAFETY: `raw` is a funcref of this store and `values` has a slot
        // for every parameter and result of its type.
        #[allow(unsafe_code)]
        unsafe {
            crate::vm::entry::call(s, raw, &mut values)?
        };
        for (i, t) in ty.results.iter().enumerate() {
            results[i] = Val::from_raw(s, values[i], *t);
        }
        Ok(())
    }

    /// A typed view of the function, checked against its type once so
    /// calls need no checks.
    pub fn typed<P: WasmParams, R: WasmResults>(&self, store: impl AsContextMut) -> Result<TypedFunc<P, R>> {
        self.to_raw(store.opaque())?;
        let ty = self.ty_of();
        typed::check_signature::<P, R>(&ty)?;
        Ok(TypedFunc::new_unchecked(*self))
    }

    pub(crate) fn raw(&self) -> usize {
        self.raw
    }

    pub(crate) fn store_id(&self) -> u64 {
        self.store
    }
}

/// Wrap a dynamic closure as a host function of type `ty`.
pub(crate) fn dynamic_host_fn<T: 'static>(
    ty: FuncType,
    f: impl Fn(Caller<'_, T>, &[Val], &mut [Val]) -> Result<()> + Send + Sync + 'static,
) -> HostFunc {
    let body_ty = ty.clone();
    HostFunc::new(ty, move |opaque: &mut StoreOpaque, caller: Option<usize>, vals: &mut [ValRaw]| {
        let ty = &body_ty;
        let params: Vec<Val> = ty.params.iter().enumerate().map(|(i, &t)| Val::from_raw(opaque, vals[i], t)).collect();
        let mut results: Vec<Val> = ty.results.iter().map(|&t| Val::default_for(t)).collect();
        {
            let inner = opaque.downcast_mut::<T>().ok_or_else(|| Error::wrong_store("host function"))?;
            f(Caller { inner, instance: caller }, &params, &mut results)?;
        }
        for (i, (r, &t)) in results.iter().zip(ty.results.iter()).enumerate() {
            if !r.matches(opaque, t)? {
                return Err(Error::ty(format!("host function result {i} must be {t}, not {}", r.ty())));
            }
            vals[i] = match r {
                Val::FuncRef(Some(f)) => ValRaw::ref_(f.to_wasm(opaque)?),
                other => other.to_raw(opaque)?,
            };
        }
        Ok(())
    })
}
