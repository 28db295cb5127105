//! Typed calls in both directions: [`TypedFunc`] (host → wasm, types checked
//! once when it is created) and [`IntoFunc`] (closures with wasm-typed
//! parameters as host functions).

use crate::error::{Error, Result};
use crate::func::Func;
use crate::store::{AsContextMut, Caller, ExternRef};
use crate::values::{FuncType, ValType};
use crate::vm::instance::{HostFunc, StoreOpaque};
use crate::vm::vmctx::ValRaw;
use std::marker::PhantomData;

/// A Rust type that is a wasm value type.
pub trait WasmTy: Sized + Send + 'static {
    /// Its wasm type.
    fn valtype() -> ValType;
    /// Into a raw slot for wasm.
    #[doc(hidden)]
    fn into_raw(self, store: &mut StoreOpaque) -> Result<ValRaw>;
    /// From a raw slot wasm wrote.
    #[doc(hidden)]
    fn from_raw(store: &StoreOpaque, raw: ValRaw) -> Self;
}

macro_rules! wasm_ty {
    ($($t:ty => $vt:ident, $to:expr, $from:expr;)*) => {$(
        impl WasmTy for $t {
            fn valtype() -> ValType { ValType::$vt }
            #[inline]
            fn into_raw(self, _: &mut StoreOpaque) -> Result<ValRaw> { Ok($to(self)) }
            #[inline]
            fn from_raw(_: &StoreOpaque, raw: ValRaw) -> Self { $from(raw) }
        }
    )*};
}

wasm_ty! {
    i32 => I32, ValRaw::i32, |r: ValRaw| r.get_i32();
    u32 => I32, |v: u32| ValRaw::i32(v as i32), |r: ValRaw| r.get_i32() as u32;
    i64 => I64, ValRaw::i64, |r: ValRaw| r.get_i64();
    u64 => I64, |v: u64| ValRaw::i64(v as i64), |r: ValRaw| r.get_i64() as u64;
    f32 => F32, |v: f32| ValRaw::f32(v.to_bits()), |r: ValRaw| f32::from_bits(r.get_f32());
    f64 => F64, |v: f64| ValRaw::f64(v.to_bits()), |r: ValRaw| f64::from_bits(r.get_f64());
    u128 => V128, ValRaw::u128, |r: ValRaw| r.get_u128();
}

impl WasmTy for Option<Func> {
    fn valtype() -> ValType {
        ValType::FUNCREF
    }
    fn into_raw(self, store: &mut StoreOpaque) -> Result<ValRaw> {
        Ok(ValRaw::ref_(match self {
            Some(f) => f.to_wasm(store)?,
            None => 0,
        }))
    }
    fn from_raw(store: &StoreOpaque, raw: ValRaw) -> Self {
        Func::from_raw(store, raw.get_ref())
    }
}

impl WasmTy for Option<ExternRef> {
    fn valtype() -> ValType {
        ValType::EXTERNREF
    }
    fn into_raw(self, store: &mut StoreOpaque) -> Result<ValRaw> {
        Ok(ValRaw::ref_(match self {
            Some(r) => r.to_raw(store)?,
            None => 0,
        }))
    }
    fn from_raw(store: &StoreOpaque, raw: ValRaw) -> Self {
        ExternRef::from_raw(store, raw.get_ref())
    }
}

/// Parameters of a typed call: `()`, a single [`WasmTy`], or a tuple.
pub trait WasmParams: Send {
    /// Number of parameters.
    const LEN: usize;
    /// Their wasm types.
    fn valtypes() -> Vec<ValType>;
    /// Write them to slots.
    #[doc(hidden)]
    fn store_raw(self, store: &mut StoreOpaque, out: &mut [ValRaw]) -> Result<()>;
    /// Read them from slots.
    #[doc(hidden)]
    fn load_raw(store: &StoreOpaque, raw: &[ValRaw]) -> Self;
}

/// Results of a typed call: the same shapes as [`WasmParams`].
pub trait WasmResults: WasmParams {}
impl<T: WasmParams> WasmResults for T {}

impl<T: WasmTy> WasmParams for T {
    const LEN: usize = 1;
    fn valtypes() -> Vec<ValType> {
        vec![T::valtype()]
    }
    #[inline]
    fn store_raw(self, store: &mut StoreOpaque, out: &mut [ValRaw]) -> Result<()> {
        out[0] = self.into_raw(store)?;
        Ok(())
    }
    #[inline]
    fn load_raw(store: &StoreOpaque, raw: &[ValRaw]) -> Self {
        T::from_raw(store, raw[0])
    }
}

macro_rules! tuples {
    ($(($($t:ident $i:tt),*);)*) => {$(
        impl<$($t: WasmTy),*> WasmParams for ($($t,)*) {
            const LEN: usize = <[&str]>::len(&[$(stringify!($t)),*]);
            fn valtypes() -> Vec<ValType> {
                vec![$($t::valtype()),*]
            }
            #[inline]
            #[allow(unused_variables)]
            fn store_raw(self, store: &mut StoreOpaque, out: &mut [ValRaw]) -> Result<()> {
                $(out[$i] = self.$i.into_raw(store)?;)*
                Ok(())
            }
            #[inline]
            #[allow(unused_variables, clippy::unused_unit)]
            fn load_raw(store: &StoreOpaque, raw: &[ValRaw]) -> Self {
                ($($t::from_raw(store, raw[$i]),)*)
            }
        }
    )*};
}

tuples! {
    ();
    (A 0);
    (A 0, B 1);
    (A 0, B 1, C 2);
    (A 0, B 1, C 2, D 3);
    (A 0, B 1, C 2, D 3, E 4);
    (A 0, B 1, C 2, D 3, E 4, F 5);
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6);
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8);
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9);
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10);
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11);
}

pub(crate) fn check_signature<P: WasmParams, R: WasmResults>(ty: &FuncType) -> Result<()> {
    let (p, r) = (P::valtypes(), R::valtypes());
    if *ty.params != *p || *ty.results != *r {
        let want = FuncType { params: p.into(), results: r.into() };
        return Err(Error::ty(format!("function has type {ty}, not {want}")));
    }
    Ok(())
}

/// A function with static parameter and result types: calls check nothing
/// and allocate nothing.
pub struct TypedFunc<P, R> {
    func: Func,
    _ty: PhantomData<fn(P) -> R>,
}

impl<P, R> Clone for TypedFunc<P, R> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<P, R> Copy for TypedFunc<P, R> {}

impl<P: WasmParams, R: WasmResults> TypedFunc<P, R> {
    pub(crate) fn new_unchecked(func: Func) -> Self {
        TypedFunc { func, _ty: PhantomData }
    }

    /// The untyped function.
    pub fn func(&self) -> Func {
        self.func
    }

    /// Call it.
    #[inline]
    pub fn call(&self, mut store: impl AsContextMut, params: P) -> Result<R> {
        let s = store.opaque_mut();
        if s.id != self.func.store_id() {
            return Err(Error::wrong_store("function"));
        }
        // Slots on the stack, sized by the (constant) arity so that only
        // the slots in use are written: most signatures are small.
        let n = P::LEN.max(R::LEN).max(1);
        let (mut two, mut eight, mut heap);
        let values: &mut [ValRaw] = if n <= 2 {
            two = [ValRaw::default(); 2];
            &mut two[..n]
        } else if n <= 8 {
            eight = [ValRaw::default(); 8];
            &mut eight[..n]
        } else {
            heap = vec![ValRaw::default(); n];
            &mut heap
        };
        params.store_raw(s, values)?;
        // SAFETY: the function's type was checked against P and R when this
        // TypedFunc was made, so `values` has a slot for every parameter and
        // result; the funcref belongs to this store (checked above).
        #[allow(unsafe_code)]
        unsafe {
            crate::vm::entry::call(s, self.func.raw(), values)?
        };
        Ok(R::load_raw(s, values))
    }
}

/// What a host closure may return: a value, a tuple, `()`, or a `Result`
/// of those with any error type convertible to a boxed error.
pub trait WasmRet {
    /// The successful results.
    type Ok: WasmResults;
    /// Into a result.
    #[doc(hidden)]
    fn into_result(self) -> Result<Self::Ok>;
}

macro_rules! wasm_ret_plain {
    ($($t:ty),*) => {$(
        impl WasmRet for $t {
            type Ok = $t;
            #[inline]
            fn into_result(self) -> Result<$t> { Ok(self) }
        }
    )*};
}
wasm_ret_plain!(i32, u32, i64, u64, f32, f64, u128, Option<Func>, Option<ExternRef>);

macro_rules! wasm_ret_tuple {
    ($(($($t:ident),*);)*) => {$(
        impl<$($t: WasmTy),*> WasmRet for ($($t,)*) {
            type Ok = ($($t,)*);
            #[inline]
            fn into_result(self) -> Result<Self::Ok> { Ok(self) }
        }
    )*};
}
wasm_ret_tuple! {
    ();
    (A, B);
    (A, B, C);
    (A, B, C, D);
    (A, B, C, D, E);
    (A, B, C, D, E, F);
}

impl<T: WasmRet<Ok = T> + WasmResults, E> WasmRet for std::result::Result<T, E>
where
    E: Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
{
    type Ok = T;
    fn into_result(self) -> Result<T> {
        self.map_err(|e| {
            let boxed: Box<dyn std::error::Error + Send + Sync + 'static> = e.into();
            match boxed.downcast::<Error>() {
                Ok(kiln_error) => *kiln_error,
                Err(other) => Error::host(other),
            }
        })
    }
}

/// A closure that can be a host function: `Fn([Caller<T>,] A1, …, An) -> R`
/// with each `Ai: WasmTy` and `R: WasmRet`.
pub trait IntoFunc<T, Params, Results>: Send + Sync + 'static {
    /// The function type, the erased body and its entry point.
    #[doc(hidden)]
    fn into_host_fn(self) -> HostFunc;
}

/// The erased host function around a typed body: load the arguments from
/// their slots, run `call`, store the results; shared by both closure shapes
/// of [`IntoFunc`].
fn erase<P: WasmParams + 'static, R: WasmRet + 'static>(
    call: impl Fn(&mut StoreOpaque, Option<usize>, P) -> Result<R> + Send + Sync + 'static,
) -> HostFunc {
    let ty = FuncType { params: P::valtypes().into(), results: R::Ok::valtypes().into() };
    HostFunc::new(ty, move |store: &mut StoreOpaque, caller: Option<usize>, vals: &mut [ValRaw]| {
        let args = P::load_raw(store, vals);
        call(store, caller, args)?.into_result()?.store_raw(store, vals)
    })
}

macro_rules! into_func {
    ($(($($a:ident $i:tt),*);)*) => {$(
        // Without a caller.
        impl<T: 'static, F, R, $($a: WasmTy,)*> IntoFunc<T, ($($a,)*), R> for F
        where
            F: Fn($($a),*) -> R + Send + Sync + 'static,
            R: WasmRet + 'static,
        {
            fn into_host_fn(self) -> HostFunc {
                #[allow(unused_variables)]
                erase(move |_: &mut StoreOpaque, _: Option<usize>, args: ($($a,)*)| Ok((self)($(args.$i),*)))
            }
        }

        // With a caller first.
        impl<T: 'static, F, R, $($a: WasmTy,)*> IntoFunc<T, (Caller<'static, T>, $($a,)*), R> for F
        where
            F: Fn(Caller<'_, T>, $($a),*) -> R + Send + Sync + 'static,
            R: WasmRet + 'static,
        {
            fn into_host_fn(self) -> HostFunc {
                #[allow(unused_variables)]
                erase(move |store: &mut StoreOpaque, caller: Option<usize>, args: ($($a,)*)| {
                    let inner = store.downcast_mut::<T>().ok_or_else(|| Error::wrong_store("host function"))?;
                    Ok((self)(Caller { inner, instance: caller }, $(args.$i),*))
                })
            }
        }
    )*};
}

into_func! {
    ();
    (A1 0);
    (A1 0, A2 1);
    (A1 0, A2 1, A3 2);
    (A1 0, A2 1, A3 2, A4 3);
    (A1 0, A2 1, A3 2, A4 3, A5 4);
    (A1 0, A2 1, A3 2, A4 3, A5 4, A6 5);
    (A1 0, A2 1, A3 2, A4 3, A5 4, A6 5, A7 6);
    (A1 0, A2 1, A3 2, A4 3, A5 4, A6 5, A7 6, A8 7);
}
