//! [`Store`]: owns instances and everything they create, the runtime limits
//! compiled code checks, and the host's data.

use crate::error::{Error, Result};
use crate::vm::instance::{StoreInner, StoreOpaque};
pub use crate::vm::instance::{StoreLimits, UpdateDeadline};
use std::any::{Any, TypeId};
use std::sync::atomic::{AtomicU64, Ordering};

static NEXT_STORE_ID: AtomicU64 = AtomicU64::new(1);

/// A collection of instances and the state they share, with host data of
/// type `T`. Everything created in a store lives until the store is
/// dropped. A store is used by one thread at a time (`Send`, not `Sync`).
pub struct Store<T: 'static> {
    inner: Box<StoreInner<T>>,
}

impl<T: 'static> Store<T> {
    /// A new store holding `data`.
    pub fn new(data: T) -> Store<T> {
        let id = NEXT_STORE_ID.fetch_add(1, Ordering::Relaxed);
        Store { inner: Box::new(StoreInner { opaque: StoreOpaque::new(id, TypeId::of::<T>()), data }) }
    }

    /// The host data.
    pub fn data(&self) -> &T {
        &self.inner.data
    }

    /// The host data, mutably.
    pub fn data_mut(&mut self) -> &mut T {
        &mut self.inner.data
    }

    /// Take the host data out, dropping the store.
    pub fn into_data(self) -> T {
        self.inner.data
    }

    /// Give the store a fuel budget of `fuel` units (replacing what is
    /// left). Every wasm operator costs one unit (`nop`, `drop` and block
    /// markers cost nothing); a guest that runs out traps with
    /// [`TrapCode::OutOfFuel`](crate::TrapCode::OutOfFuel), and can run
    /// again once the host refuels. Modules used with a fuelled store must
    /// be compiled with fuel metering (`kiln_build::Config::consume_fuel`),
    /// and fuel-metered modules need a fuelled store.
    pub fn set_fuel(&mut self, fuel: u64) {
        let o = &mut self.inner.opaque;
        o.fuel_enabled = true;
        o.limits.fuel_consumed.set(-(fuel.min(i64::MAX as u64) as i64));
    }

    /// Fuel left, if the store uses fuel.
    pub fn get_fuel(&self) -> Option<u64> {
        let o = &self.inner.opaque;
        o.fuel_enabled.then(|| (-o.limits.fuel_consumed.get()).max(0) as u64)
    }

    /// Interrupt wasm once the store's epoch counter reaches `ticks` beyond
    /// its current value. Past the deadline a guest traps with
    /// [`TrapCode::Interrupted`](crate::TrapCode::Interrupted), unless the
    /// [callback](Store::epoch_deadline_callback) extends it. Modules used
    /// with such a store must be compiled with epoch interruption
    /// (`kiln_build::Config::epoch_interruption`), and only those.
    pub fn set_epoch_deadline(&mut self, ticks: u64) {
        let o = &mut self.inner.opaque;
        o.epoch_enabled = true;
        let now = o.epoch.load(std::sync::atomic::Ordering::Acquire);
        o.limits.epoch_deadline.set(now.saturating_add(ticks));
    }

    /// A handle on the store's epoch counter, to bump from any thread
    /// (a timer, a watchdog).
    pub fn epoch_counter(&self) -> EpochCounter {
        EpochCounter(self.inner.opaque.epoch.clone())
    }

    /// Decide what happens when the deadline passes: the callback gets the
    /// host data and returns [`UpdateDeadline::Continue`] with new ticks,
    /// or [`UpdateDeadline::Interrupt`]. Without a callback the guest traps.
    pub fn epoch_deadline_callback(&mut self, mut f: impl FnMut(&mut T) -> UpdateDeadline + Send + 'static) {
        self.inner.opaque.epoch_callback =
            Some(Box::new(move |store: &mut StoreOpaque| match store.downcast_mut::<T>() {
                Some(inner) => f(&mut inner.data),
                None => UpdateDeadline::Interrupt,
            }));
    }

    /// Cap what the guests of this store may take from the host: memory
    /// and table sizes (growth past them returns -1 to the guest) and the
    /// number of instances, memories and tables (creation past them fails).
    pub fn set_limits(&mut self, limits: StoreLimits) {
        self.inner.opaque.limits_policy = limits;
    }

    /// How much native stack wasm may use below the point where the host
    /// first calls into it (default 512 KiB). Deeper recursion traps with
    /// [`TrapCode::StackOverflow`](crate::TrapCode::StackOverflow).
    pub fn set_max_wasm_stack(&mut self, bytes: usize) {
        self.inner.opaque.max_wasm_stack = bytes;
    }
}

impl<T: Default + 'static> Default for Store<T> {
    fn default() -> Self {
        Store::new(T::default())
    }
}

impl<T: std::fmt::Debug + 'static> std::fmt::Debug for Store<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("data", &self.inner.data).finish_non_exhaustive()
    }
}

/// A shared handle on a store's epoch counter.
#[derive(Debug, Clone)]
pub struct EpochCounter(std::sync::Arc<std::sync::atomic::AtomicU64>);

impl EpochCounter {
    /// Advance the epoch by one tick. Wasm past its deadline stops at its
    /// next function entry or loop iteration.
    pub fn increment(&self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Release);
    }

    /// The current epoch.
    pub fn current(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::Acquire)
    }
}

/// Anything that gives access to a store: [`Store`] and [`Caller`].
pub trait AsContextMut {
    /// The host data type.
    type Data: 'static;
    /// The store's state.
    #[doc(hidden)]
    fn opaque(&self) -> &StoreOpaque;
    /// The store's state, mutably.
    #[doc(hidden)]
    fn opaque_mut(&mut self) -> &mut StoreOpaque;
}

impl<T: 'static> AsContextMut for Store<T> {
    type Data = T;
    fn opaque(&self) -> &StoreOpaque {
        &self.inner.opaque
    }
    fn opaque_mut(&mut self) -> &mut StoreOpaque {
        &mut self.inner.opaque
    }
}

impl<S: AsContextMut + ?Sized> AsContextMut for &mut S {
    type Data = S::Data;
    fn opaque(&self) -> &StoreOpaque {
        (**self).opaque()
    }
    fn opaque_mut(&mut self) -> &mut StoreOpaque {
        (**self).opaque_mut()
    }
}

/// The store as seen from inside a host function: the host data, and the
/// exports of the instance that called.
pub struct Caller<'a, T: 'static> {
    pub(crate) inner: &'a mut StoreInner<T>,
    pub(crate) instance: Option<usize>,
}

impl<'a, T: 'static> Caller<'a, T> {
    /// The host data.
    pub fn data(&self) -> &T {
        &self.inner.data
    }

    /// The host data, mutably.
    pub fn data_mut(&mut self) -> &mut T {
        &mut self.inner.data
    }

    /// An export of the calling instance (e.g. its `memory`), if the caller
    /// is wasm and exports `name`.
    pub fn get_export(&mut self, name: &str) -> Option<crate::Extern> {
        let index = self.instance?;
        crate::Instance::from_index(&self.inner.opaque, index).get_export(&mut *self, name)
    }
}

impl<T: 'static> AsContextMut for Caller<'_, T> {
    type Data = T;
    fn opaque(&self) -> &StoreOpaque {
        &self.inner.opaque
    }
    fn opaque_mut(&mut self) -> &mut StoreOpaque {
        &mut self.inner.opaque
    }
}

/// A reference to a host value, for `externref`. It lives as long as the
/// store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExternRef {
    store: u64,
    index: usize,
}

impl ExternRef {
    /// Wrap `value` in a new reference owned by `store`.
    pub fn new(mut store: impl AsContextMut, value: impl Any + Send + Sync) -> ExternRef {
        let s = store.opaque_mut();
        s.externrefs.push(Box::new(value));
        ExternRef { store: s.id, index: s.externrefs.len() - 1 }
    }

    /// The host value.
    pub fn data<'a>(&self, store: &'a impl AsContextMut) -> Result<&'a (dyn Any + Send + Sync)> {
        let s = store.opaque();
        if s.id != self.store {
            return Err(Error::wrong_store("externref"));
        }
        Ok(&*s.externrefs[self.index])
    }

    pub(crate) fn to_raw(self, store: &StoreOpaque) -> Result<usize> {
        if store.id != self.store {
            return Err(Error::wrong_store("externref"));
        }
        Ok(self.index + 1)
    }

    pub(crate) fn from_raw(store: &StoreOpaque, raw: usize) -> Option<ExternRef> {
        (raw != 0 && raw <= store.externrefs.len()).then(|| ExternRef { store: store.id, index: raw - 1 })
    }
}
