//! The expansion of `include_wasm!(mod name = "path")`: typed bindings
//! generated from the imports and exports of the compiled module, so that a
//! mismatch between plugin and host is a Rust compile error.
//!
//! For a module importing `host`::`log (param i32 i32)` and exporting
//! `greet (param i32 i32) (result i32)` and a memory `memory`:
//!
//! ```ignore
//! mod greeter {
//!     pub static ARTIFACT: kiln::Artifact = { /* kiln_build::embed: in place */ };
//!     pub fn module() -> kiln::Result<kiln::Module>;          // loaded once (OnceLock)
//!
//!     pub trait Imports: Sized + 'static {                    // implemented by the store's data
//!         fn log(caller: kiln::Caller<'_, Self>, ptr: i32, len: i32) -> kiln::Result<()>;
//!     }
//!
//!     #[derive(Clone, Copy)]
//!     pub struct Greeter { /* Instance, TypedFunc and Memory handles */ }
//!     impl Greeter {
//!         pub fn add_to_linker<T: Imports>(linker: &mut kiln::Linker<T>) -> kiln::Result<()>;
//!         pub fn instantiate<T: Imports>(store: impl AsContextMut<Data = T>) -> kiln::Result<Greeter>;
//!         pub fn instantiate_with<T>(store: impl AsContextMut<Data = T>, linker: &kiln::Linker<T>) -> kiln::Result<Greeter>;
//!         pub fn from_instance(store: impl AsContextMut, instance: kiln::Instance) -> kiln::Result<Greeter>;
//!         pub fn instance(&self) -> kiln::Instance;
//!         pub fn greet(&self, store: impl AsContextMut, name: i32, len: i32) -> kiln::Result<i32>;
//!         pub fn memory(&self) -> kiln::Memory;
//!     }
//! }
//! ```
//!
//! Imports of WASI preview 1 (`wasi_snapshot_preview1`, `wasi_unstable`)
//! and imports that are not functions are not in the trait: they come from
//! a `Linker` (`kiln::wasi::add_to_linker`, `Linker::define`), and such a
//! module is instantiated with `add_to_linker` + `instantiate_with`.
//!
//! Exports are looked up by name once, in `from_instance`; calls go through
//! the resolved `TypedFunc`s. Identifiers come from wasm names by the rule
//! in [`crate::names`]; parameters are named from the module's name section
//! (`(param $ptr i32)` → `ptr`), or `p0`, `p1`… where it has none.

use crate::args::Bindings;
use crate::diagnostics;
use crate::expand::compile_and_embed;
use crate::names::{snake_case, upper_camel_case, Namer};
use kiln_artifact::types::{FuncType, HeapType, ValType};
use kiln_build::{ExternType, ModuleInterface};
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::Ident;

/// Methods and associated functions of the generated struct, which exports
/// must not shadow.
const RESERVED: &[&str] = &["add_to_linker", "instantiate", "instantiate_with", "from_instance", "instance"];

/// Import modules of WASI preview 1, which `kiln::wasi::add_to_linker`
/// defines: they are left out of the `Imports` trait (a host does not
/// implement WASI by hand) and come from the linker.
const WASI_MODULES: &[&str] = &["wasi_snapshot_preview1", "wasi_unstable"];

/// Most parameters / results a host function can have through
/// `Linker::func_wrap` (`kiln::IntoFunc`, `kiln::WasmRet`).
const MAX_HOST_PARAMS: usize = 8;
const MAX_HOST_RESULTS: usize = 6;
/// Most parameters / results of a `kiln::TypedFunc` (`kiln::WasmParams`).
const MAX_TYPED: usize = 12;

pub(crate) fn expand(args: &Bindings) -> syn::Result<TokenStream> {
    let lit = &args.path;
    let embedded = compile_and_embed(lit)?;
    let mut iface = kiln_build::module_interface(&embedded.artifact).map_err(|e| diagnostics::other(lit, e))?;
    iface.name_params(&embedded.wasm);
    generate(args, &iface, embedded.expr)
}

fn ident(text: &str, span: Span) -> Ident {
    let mut id: Ident = syn::parse_str(text).unwrap_or_else(|_| format_ident!("unnamed"));
    id.set_span(span);
    id
}

/// The Rust type of a wasm value.
fn rust_type(ty: ValType) -> TokenStream {
    match ty {
        ValType::I32 => quote!(i32),
        ValType::I64 => quote!(i64),
        ValType::F32 => quote!(f32),
        ValType::F64 => quote!(f64),
        ValType::V128 => quote!(u128),
        // Non-nullable references are `Option`s too: the runtime checks
        // every value against the exact wasm type when it crosses.
        ValType::Ref(r) => match r.heap.top() {
            HeapType::Func => quote!(::core::option::Option<::kiln::Func>),
            HeapType::Extern => quote!(::core::option::Option<::kiln::ExternRef>),
            _ => quote!(::core::compile_error!("exception references cannot cross into Rust bindings")),
        },
    }
}

/// `()`, `T` or `(T, U, …)`: the shape `kiln::WasmParams` takes.
fn tuple(types: &[ValType]) -> TokenStream {
    match types {
        [one] => rust_type(*one),
        many => {
            let ts = many.iter().map(|t| rust_type(*t));
            quote!((#(#ts),*))
        }
    }
}

/// `ptr: i32, len: i32` and the names `ptr, len`: the parameters named
/// from the name section (by the rule of [`crate::names`]), `p0`, `p1`…
/// where it has no name.
fn params(ty: &FuncType, wasm_names: &[Option<String>], span: Span) -> (Vec<TokenStream>, Vec<Ident>) {
    // `store` and `caller` are the parameters before them.
    let mut namer = Namer::new(&["store", "caller"]);
    let names: Vec<Ident> = (0..ty.params.len())
        .map(|i| {
            let snake = match wasm_names.get(i) {
                Some(Some(name)) => snake_case(name),
                _ => format!("p{i}"),
            };
            ident(&namer.fresh(&snake), span)
        })
        .collect();
    let decls = names.iter().zip(ty.params.iter()).map(|(n, t)| {
        let t = rust_type(*t);
        quote!(#n: #t)
    });
    (decls.collect(), names)
}

/// The value passed to `TypedFunc::call` for parameters `names`.
fn args_value(names: &[Ident]) -> TokenStream {
    match names {
        [one] => quote!(#one),
        many => quote!((#(#many),*)),
    }
}

fn doc(text: impl AsRef<str>) -> TokenStream {
    let text = format!(" {}", text.as_ref());
    quote!(#[doc = #text])
}

fn generate(args: &Bindings, iface: &ModuleInterface, artifact: TokenStream) -> syn::Result<TokenStream> {
    let lit = &args.path;
    let span = lit.span();
    let file = lit.value();
    let (attrs, vis, mod_name) = (&args.attrs, &args.vis, &args.name);
    let struct_name = ident(&upper_camel_case(mod_name.to_string().trim_start_matches("r#")), mod_name.span());

    // ---- host imports → one trait method each ------------------------------
    let mut trait_methods = Vec::new();
    let mut registrations = Vec::new();
    let mut import_docs = Vec::new();
    // Whether `Imports` covers every import, so `instantiate` needs nothing else.
    let mut self_contained = true;
    let mut seen: Vec<(&str, &str, &FuncType)> = Vec::new();
    let func_imports: Vec<_> = iface
        .imports
        .iter()
        .filter_map(|i| match &i.ty {
            ExternType::Func(f) => Some((i, f)),
            _ => None,
        })
        .collect();
    let mut namer = Namer::new(&[]);
    for import in &iface.imports {
        if WASI_MODULES.contains(&import.module.as_str()) {
            self_contained = false;
            import_docs.push(format!(
                "- `{}`::`{}`: `{}` — WASI: define it with `kiln::wasi::add_to_linker` and use \
                 `instantiate_with`",
                import.module, import.name, import.ty
            ));
            continue;
        }
        let ExternType::Func(ty) = &import.ty else {
            self_contained = false;
            import_docs.push(format!(
                "- `{}`::`{}`: {} — define it in a `Linker` and use `instantiate_with`",
                import.module, import.name, import.ty
            ));
            continue;
        };
        let (module, name) = (import.module.as_str(), import.name.as_str());
        if let Some((_, _, earlier)) = seen.iter().find(|(m, n, _)| *m == module && *n == name) {
            if *earlier != ty {
                return Err(diagnostics::other(
                    lit,
                    format!("import `{module}`::`{name}` is imported twice with different types ({earlier} and {ty}); one host function cannot have both"),
                ));
            }
            continue;
        }
        seen.push((module, name, ty));
        if ty.params.len() > MAX_HOST_PARAMS || ty.results.len() > MAX_HOST_RESULTS {
            return Err(diagnostics::other(
                lit,
                format!(
                    "import `{module}`::`{name}` has type {ty}; typed bindings support host functions with up to \
                     {MAX_HOST_PARAMS} parameters and {MAX_HOST_RESULTS} results (use include_wasm!(\"{file}\") with a kiln::Linker)"
                ),
            ));
        }
        let shared =
            func_imports.iter().filter(|(i, _)| i.name == import.name && i.module != import.module).count() > 0;
        let snake = if shared { snake_case(&format!("{module}_{name}")) } else { snake_case(name) };
        let method = ident(&namer.fresh(&snake), span);
        let (decls, names) = params(ty, &import.param_names, span);
        let ret = tuple(&ty.results);
        let method_doc = doc(format!("The host function `{module}`::`{name}`: `{ty}`."));
        trait_methods.push(quote_spanned! {span=>
            #method_doc
            #[allow(clippy::too_many_arguments)]
            fn #method(caller: ::kiln::Caller<'_, Self>, #(#decls),*) -> ::kiln::Result<#ret>;
        });
        registrations.push(quote_spanned! {span=>
            linker.func_wrap(#module, #name, |caller: ::kiln::Caller<'_, T>, #(#decls),*| -> ::kiln::Result<#ret> {
                <T as Imports>::#method(caller, #(#names),*)
            })?;
        });
        import_docs.push(format!("- `{module}`::`{name}`: `{ty}` → `Imports::{method}`"));
    }

    // ---- exports → fields resolved once, methods ---------------------------
    let mut namer = Namer::new(RESERVED);
    let mut fields = Vec::new();
    let mut inits = Vec::new();
    let mut methods = Vec::new();
    let mut export_docs = Vec::new();
    for export in &iface.exports {
        let name = export.name.as_str();
        let id = ident(&namer.fresh(&snake_case(name)), span);
        match &export.ty {
            ExternType::Func(ty) if ty.params.len() > MAX_TYPED || ty.results.len() > MAX_TYPED => {
                export_docs.push(format!(
                    "- `{name}`: `{ty}` — not bound (too many values for a `TypedFunc`): use `instance()`"
                ));
            }
            ExternType::Func(ty) => {
                let (p, r) = (tuple(&ty.params), tuple(&ty.results));
                let (decls, names) = params(ty, &export.param_names, span);
                let call_args = args_value(&names);
                let method_doc = doc(format!("Call the exported function `{name}`: `{ty}`."));
                fields.push(quote_spanned!(span=> #id: ::kiln::TypedFunc<#p, #r>));
                inits.push(quote_spanned!(span=> #id: instance.get_typed_func::<#p, #r>(&mut store, #name)?));
                methods.push(quote_spanned! {span=>
                    #method_doc
                    #[allow(clippy::too_many_arguments)]
                    #[inline]
                    pub fn #id(&self, store: impl ::kiln::AsContextMut, #(#decls),*) -> ::kiln::Result<#r> {
                        self.#id.call(store, #call_args)
                    }
                });
                export_docs.push(format!("- `{name}`: `{ty}` → `{struct_name}::{id}`"));
            }
            other => {
                // A shared memory's handle is an `Arc`, the others are `Copy`.
                let (handle, getter, what) = match other {
                    ExternType::Memory(m) if m.shared => {
                        (quote!(::kiln::SharedMemory), quote!(get_shared_memory), "shared memory")
                    }
                    ExternType::Memory(_) => (quote!(::kiln::Memory), quote!(get_memory), "memory"),
                    ExternType::Global(_) => (quote!(::kiln::Global), quote!(get_global), "global"),
                    _ => (quote!(::kiln::Table), quote!(get_table), "table"),
                };
                let copy = if matches!(other, ExternType::Memory(m) if m.shared) {
                    quote!(self.#id.clone())
                } else {
                    quote!(self.#id)
                };
                let method_doc = doc(format!("The exported {what} `{name}`: `{other}`."));
                let missing = format!("the instance has no exported {what} `{name}`");
                fields.push(quote_spanned!(span=> #id: #handle));
                inits.push(quote_spanned! {span=>
                    #id: instance.#getter(&mut store, #name).ok_or_else(|| ::kiln::Error::msg(#missing))?
                });
                methods.push(quote_spanned! {span=>
                    #method_doc
                    #[inline]
                    pub fn #id(&self) -> #handle {
                        #copy
                    }
                });
                export_docs.push(format!("- `{name}`: `{other}` → `{struct_name}::{id}`"));
            }
        }
    }

    // ---- the module ----------------------------------------------------------
    let list = |items: &[String]| {
        if items.is_empty() {
            "- (none)".to_string()
        } else {
            items.join("\n")
        }
    };
    let mod_doc = doc(format!(
        "Typed bindings for `{file}`, generated by `kiln::include_wasm!` from the module's imports and \
         exports.\n\n Imports (implement [`Imports`] for the store's data type):\n\n{}\n\n Exports (methods of \
         [`{struct_name}`]):\n\n{}",
        list(&import_docs).replace('\n', "\n "),
        list(&export_docs).replace('\n', "\n ")
    ));
    let struct_doc = doc(format!(
        "An instance of `{file}`, with its exports resolved: calling a method does no name lookup. A handle \
         (`Copy`), valid with the store it was instantiated in."
    ));
    let trait_doc =
        doc("The host functions the module imports, one method per import, with the module's exact types: \
         implement it for the store's data type. A method that does not match the module is a compile error.");
    let blanket = if trait_methods.is_empty() {
        quote_spanned!(span=> impl<T: 'static> Imports for T {})
    } else {
        TokenStream::new()
    };
    let instantiate = if self_contained {
        quote_spanned! {span=>
            /// Instantiate the module in `store`, with [`Imports`] as its host functions.
            pub fn instantiate<T: Imports>(mut store: impl ::kiln::AsContextMut<Data = T>) -> ::kiln::Result<Self> {
                let mut linker = ::kiln::Linker::new();
                Self::add_to_linker(&mut linker)?;
                Self::instantiate_with(&mut store, &linker)
            }
        }
    } else {
        TokenStream::new()
    };
    let struct_name_str = struct_name.to_string();

    Ok(quote_spanned! {span=>
        #mod_doc
        #(#attrs)*
        #[allow(dead_code)]
        #vis mod #mod_name {
            /// The compiled module, embedded in this binary's executable section.
            pub static ARTIFACT: ::kiln::Artifact = #artifact;

            /// The loaded module: loaded on first use, then shared by every instantiation.
            pub fn module() -> ::kiln::Result<::kiln::Module> {
                static MODULE: ::std::sync::OnceLock<::kiln::Module> = ::std::sync::OnceLock::new();
                if let ::core::option::Option::Some(module) = MODULE.get() {
                    return ::core::result::Result::Ok(module.clone());
                }
                let loaded = ::kiln::Module::new(&ARTIFACT)?;
                ::core::result::Result::Ok(MODULE.get_or_init(|| loaded).clone())
            }

            #trait_doc
            pub trait Imports: ::core::marker::Sized + 'static {
                #(#trait_methods)*
            }
            #blanket

            #struct_doc
            #[derive(Clone, Copy)]
            pub struct #struct_name {
                instance: ::kiln::Instance,
                #(#fields,)*
            }

            impl ::core::fmt::Debug for #struct_name {
                fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                    f.debug_struct(#struct_name_str).field("instance", &self.instance).finish_non_exhaustive()
                }
            }

            impl #struct_name {
                /// Define the module's imported functions in `linker` as the methods of [`Imports`].
                #[allow(unused_variables)]
                pub fn add_to_linker<T: Imports>(linker: &mut ::kiln::Linker<T>) -> ::kiln::Result<()> {
                    #(#registrations)*
                    ::core::result::Result::Ok(())
                }

                #instantiate

                /// Instantiate the module in `store` with the imports `linker` defines
                /// (e.g. [`add_to_linker`](Self::add_to_linker) plus memories or globals).
                pub fn instantiate_with<T: 'static>(
                    mut store: impl ::kiln::AsContextMut<Data = T>,
                    linker: &::kiln::Linker<T>,
                ) -> ::kiln::Result<Self> {
                    let instance = linker.instantiate(&mut store, &module()?)?;
                    Self::from_instance(store, instance)
                }

                /// Resolve the exports of `instance`, an instance of this module, once.
                #[allow(unused_mut, unused_variables)]
                pub fn from_instance(mut store: impl ::kiln::AsContextMut, instance: ::kiln::Instance) -> ::kiln::Result<Self> {
                    ::core::result::Result::Ok(Self {
                        instance,
                        #(#inits,)*
                    })
                }

                /// The instance, for anything the bindings do not cover.
                pub fn instance(&self) -> ::kiln::Instance {
                    self.instance
                }

                #(#methods)*
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bindings of `wat`, as text (the artifact expression stubbed).
    fn bindings_of(wat: &str) -> String {
        let wasm = kiln_build::wat_to_wasm(wat.as_bytes()).unwrap();
        let artifact = kiln_build::compile(&wasm, &kiln_build::Config::host()).unwrap();
        let mut iface = kiln_build::module_interface(&artifact).unwrap();
        iface.name_params(&wasm);
        let args: Bindings = syn::parse_str(r#"pub mod greeter = "plugins/greeter.wat""#).unwrap();
        generate(&args, &iface, quote!(ARTIFACT_EXPR)).unwrap().to_string()
    }

    #[test]
    fn signatures_follow_the_module() {
        let code = bindings_of(
            r#"(module
                (import "host" "log" (func (param $ptr i32) (param $len i32)))
                (import "host" "now" (func (result i64)))
                (memory (export "memory") 1)
                (func (export "greet") (param $name i32) (param $len i32) (result i32) i32.const 0)
                (func (export "pair") (param f32) (param $self f64) (param $store i32) (result i32 i64)
                    i32.const 0 i64.const 0))"#,
        );
        for expected in [
            "pub mod greeter",
            "fn log (caller : :: kiln :: Caller < '_ , Self > , ptr : i32 , len : i32) -> :: kiln :: Result < () > ;",
            "fn now (caller : :: kiln :: Caller < '_ , Self > ,) -> :: kiln :: Result < i64 > ;",
            "linker . func_wrap (\"host\" , \"log\"",
            "pub struct Greeter",
            "greet : :: kiln :: TypedFunc < (i32 , i32) , i32 >",
            "pub fn greet (& self , store : impl :: kiln :: AsContextMut , name : i32 , len : i32) -> :: kiln :: Result < i32 >",
            "pub fn pair (& self , store : impl :: kiln :: AsContextMut , p0 : f32 , self_ : f64 , store_2 : i32) -> :: kiln :: Result < (i32 , i64) >",
            "pub fn memory (& self) -> :: kiln :: Memory",
            "pub fn instantiate < T : Imports >",
        ] {
            assert!(code.contains(expected), "missing `{expected}` in\n{code}");
        }
    }

    #[test]
    fn no_imports_means_any_store_will_do() {
        let code = bindings_of(r#"(module (func (export "f")))"#);
        assert!(code.contains("impl < T : 'static > Imports for T { }"), "{code}");
    }

    #[test]
    fn wasi_imports_come_from_the_linker() {
        let code = bindings_of(
            r#"(module
                (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
                (import "host" "log" (func (param i32 i32))))"#,
        );
        assert!(!code.contains("fn fd_write"), "{code}");
        assert!(code.contains("fn log ("), "{code}");
        assert!(!code.contains("pub fn instantiate <"), "{code}");
        assert!(code.contains("kiln::wasi::add_to_linker"), "documented: {code}");
    }

    fn error_of(wat: &str) -> String {
        let wasm = kiln_build::wat_to_wasm(wat.as_bytes()).unwrap();
        let artifact = kiln_build::compile(&wasm, &kiln_build::Config::host()).unwrap();
        let iface = kiln_build::module_interface(&artifact).unwrap();
        let args: Bindings = syn::parse_str(r#"mod m = "m.wat""#).unwrap();
        generate(&args, &iface, quote!(X)).unwrap_err().to_string()
    }

    #[test]
    fn imports_bindings_cannot_express_are_errors_that_say_why() {
        let err = error_of(r#"(module (import "env" "wide" (func (param i32 i32 i32 i32 i32 i32 i32 i32 i32))))"#);
        assert!(err.starts_with("kiln: `m.wat`: import `env`::`wide` has type (func (param"), "{err}");
        assert!(err.contains("up to 8 parameters"), "{err}");
        let err = error_of(r#"(module (import "env" "f" (func (param i32))) (import "env" "f" (func (param i64))))"#);
        assert!(err.contains("imported twice with different types"), "{err}");
        // The same import twice with one type is one method.
        let code =
            bindings_of(r#"(module (import "env" "f" (func (param i32))) (import "env" "f" (func (param i32))))"#);
        assert_eq!(code.matches("fn f (").count(), 1, "{code}");
    }

    #[test]
    fn other_imports_need_a_linker() {
        let code = bindings_of(r#"(module (import "env" "memory" (memory 1)))"#);
        assert!(!code.contains("pub fn instantiate <"), "{code}");
        assert!(code.contains("pub fn instantiate_with <"), "{code}");
    }
}
