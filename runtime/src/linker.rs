//! [`Linker`]: definitions by `module::name`, resolved against a module's
//! imports at instantiation with typed mismatch errors.

use crate::error::{Error, Result};
use crate::func::{Func, IntoFunc};
use crate::instance::{Extern, Instance};
use crate::module::Module;
use crate::store::{AsContextMut, Caller};
use crate::values::{FuncType, Val};
use crate::vm::instance::HostFunc;
use std::collections::HashMap;

#[derive(Clone)]
enum Definition {
    /// An item of a particular store.
    Extern(Extern),
    /// A host function, created in each store that instantiates with it.
    HostFunc(HostFunc),
}

/// Named definitions (host functions, and items of instances or of the
/// host) that satisfy the imports of modules. One linker can instantiate
/// many modules in many stores of data type `T`.
pub struct Linker<T: 'static> {
    /// module name → field name → definition: looked up by `&str` pairs
    /// without allocating.
    defs: HashMap<String, HashMap<String, Definition>>,
    allow_shadowing: bool,
    _data: std::marker::PhantomData<fn(T)>,
}

impl<T: 'static> Default for Linker<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: 'static> Clone for Linker<T> {
    fn clone(&self) -> Self {
        Linker { defs: self.defs.clone(), allow_shadowing: self.allow_shadowing, _data: std::marker::PhantomData }
    }
}

impl<T: 'static> Linker<T> {
    /// An empty linker.
    pub fn new() -> Linker<T> {
        Linker { defs: HashMap::new(), allow_shadowing: false, _data: std::marker::PhantomData }
    }

    /// Allow a later definition to replace an earlier one of the same name
    /// (refused by default).
    pub fn allow_shadowing(&mut self, allow: bool) -> &mut Self {
        self.allow_shadowing = allow;
        self
    }

    fn insert(&mut self, module: &str, name: &str, def: Definition) -> Result<&mut Self> {
        let fields = self.defs.entry(module.to_string()).or_default();
        if !self.allow_shadowing && fields.contains_key(name) {
            return Err(Error::new(crate::ErrorKind::Link, format!("`{module}`::`{name}` is already defined")));
        }
        fields.insert(name.to_string(), def);
        Ok(self)
    }

    /// Define a host function from a closure with wasm-typed parameters,
    /// optionally taking a [`Caller`] first.
    pub fn func_wrap<Params, Results>(
        &mut self,
        module: &str,
        name: &str,
        f: impl IntoFunc<T, Params, Results>,
    ) -> Result<&mut Self> {
        self.insert(module, name, Definition::HostFunc(f.into_host_fn()))
    }

    /// Define a host function of type `ty` from a closure over [`Val`]s.
    pub fn func_new(
        &mut self,
        module: &str,
        name: &str,
        ty: FuncType,
        f: impl Fn(Caller<'_, T>, &[Val], &mut [Val]) -> Result<()> + Send + Sync + 'static,
    ) -> Result<&mut Self> {
        self.insert(module, name, Definition::HostFunc(crate::func::dynamic_host_fn::<T>(ty, f)))
    }

    /// Define `item` (an item of `store`) as `module::name`.
    pub fn define(&mut self, module: &str, name: &str, item: impl Into<Extern>) -> Result<&mut Self> {
        self.insert(module, name, Definition::Extern(item.into()))
    }

    /// Define every export of `instance` under module name `module`.
    pub fn instance(&mut self, mut store: impl AsContextMut, module: &str, instance: Instance) -> Result<&mut Self> {
        for (name, ext) in instance.exports(&mut store) {
            self.insert(module, &name, Definition::Extern(ext))?;
        }
        Ok(self)
    }

    /// The definition of `module::name` as an item of `store`.
    pub fn get(&self, mut store: impl AsContextMut<Data = T>, module: &str, name: &str) -> Option<Extern> {
        Some(match self.defs.get(module)?.get(name)? {
            Definition::Extern(e) => e.clone(),
            Definition::HostFunc(f) => {
                // One host function per store and definition, however many
                // instances import it.
                let s = store.opaque_mut();
                let raw = s.host_func_for(f);
                Extern::Func(Func::from_raw(s, raw)?)
            }
        })
    }

    /// Resolve `module`'s imports by name and instantiate it in `store`.
    pub fn instantiate(&self, mut store: impl AsContextMut<Data = T>, module: &Module) -> Result<Instance> {
        let mut imports = Vec::with_capacity(module.imports().len());
        for import in module.imports() {
            let ext = self.get(&mut store, import.module, import.name).ok_or_else(|| {
                Error::link(
                    import.module,
                    import.name,
                    format!("unknown import: nothing of type {} is defined with this name", import.ty),
                )
            })?;
            imports.push(ext);
        }
        Instance::new(store, module, &imports)
    }
}
