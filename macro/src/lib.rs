//! `include_wasm!`: compile a WebAssembly module into a kiln artifact while
//! the crate that uses it is compiled.
//!
//! Use it through the `kiln` crate, which re-exports it and holds the
//! [`Artifact`] type it produces:
//!
//! ```ignore
//! static PLUGIN: kiln::Artifact = kiln::include_wasm!("plugins/filter.wasm");
//! ```
//!
//! This crate is deliberately thin: the compiler, the cache and the build
//! settings all live in `kiln-build`; here are only the parsing of the
//! macro input, the shape of the expansion and the wording of diagnostics.
//!
//! | module | holds |
//! |---|---|
//! | `args` | the macro input (a path literal, or `mod name = "path"`), parsed with syn, spans kept |
//! | `expand` | resolve, compile through the cache, embed with `kiln_build::embed` |
//! | `bindings` | `mod name = "path"`: typed bindings from the module's imports and exports |
//! | `names` | wasm names → Rust identifiers (the documented rule) |
//! | `diagnostics` | compile errors → `compile_error!` naming file, offset and reason |
//!
//! [`Artifact`]: https://docs.rs/kiln/latest/kiln/struct.Artifact.html

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod args;
mod bindings;
mod diagnostics;
mod expand;
mod names;

use proc_macro::TokenStream;

/// Compile a WebAssembly module at build time and embed it in the binary.
///
/// ```ignore
/// static PLUGIN: kiln::Artifact = kiln::include_wasm!("plugins/filter.wasm");
/// ```
///
/// - The path is relative to the directory of the crate's `Cargo.toml`
///   (`CARGO_MANIFEST_DIR`). `.wasm` (binary) and `.wat` (text) files are
///   accepted; the contents decide which it is.
/// - The module is compiled with `kiln-build` for the target that cargo is
///   building when the crate's build script calls `kiln_build::configure()`,
///   and for the host otherwise (the expansion then refuses to compile for
///   any other architecture or OS).
/// - Artifacts are cached under cargo's target directory by a hash of the
///   module, the settings and the kiln version, so an unchanged rebuild does
///   not recompile. The source file is tracked: editing it rebuilds the crate.
/// - The expression is a constant `kiln::Artifact` whose bytes lie in the
///   binary's executable section on ELF and Mach-O targets, so the code runs
///   in place without being copied or remapped.
/// - A missing file, invalid wasm, a `.wat` syntax error or a feature kiln
///   cannot compile is a compile error at the path literal that names the
///   file, the byte offset and the reason.
///
/// # Typed bindings: `include_wasm!(mod name = "path")`
///
/// In item position, the `mod` form reads the compiled module's imports and
/// exports and generates a Rust module around it:
///
/// ```ignore
/// kiln::include_wasm!(pub mod greeter = "plugins/greet.wat");
///
/// struct Host { lines: Vec<String> }
///
/// // One method per host import, with the module's exact types: a method
/// // that does not match the module is a compile error (E0053/E0046).
/// impl greeter::Imports for Host {
///     fn log(mut caller: kiln::Caller<'_, Self>, ptr: i32, len: i32) -> kiln::Result<()> {
///         let memory = caller.get_export("memory").and_then(|e| e.into_memory()).unwrap();
///         let mut bytes = vec![0; len as u32 as usize];
///         memory.read(&mut caller, ptr as u32 as usize, &mut bytes)?;
///         caller.data_mut().lines.push(String::from_utf8_lossy(&bytes).into_owned());
///         Ok(())
///     }
/// }
///
/// let mut store = kiln::Store::new(Host { lines: Vec::new() });
/// let plugin = greeter::Greeter::instantiate(&mut store)?;   // the Module is loaded once
/// let ptr = plugin.alloc(&mut store, 4)?;                     // exports are methods…
/// plugin.memory().write(&mut store, ptr as usize, b"kiln")?; // …memories and globals accessors
/// let len: i32 = plugin.greet(&mut store, ptr, 4)?;
/// ```
///
/// The module holds:
///
/// - `pub static ARTIFACT: kiln::Artifact` — the same embedding as the
///   expression form — and `pub fn module() -> kiln::Result<kiln::Module>`,
///   which loads it on first use and then returns the shared `Module`;
/// - `pub trait Imports: Sized + 'static`: for every imported function,
///   `fn <field>(caller: kiln::Caller<'_, Self>, <param>: …, …) -> kiln::Result<R>`
///   (`R` is `()`, the result type or a tuple; parameters are named from the
///   module's name section, `(param $ptr i32)` → `ptr`, or `p0`, `p1`…). With no imported function
///   it is implemented for every type;
/// - `pub struct <Name>` (the module name in UpperCamelCase), a `Copy`
///   handle holding the instance and every export resolved once:
///   `instantiate(store)` (when `Imports` covers every import),
///   `instantiate_with(store, &linker)` and `add_to_linker(&mut linker)` for
///   modules that also import memories, tables or globals, or WASI
///   (`wasi_snapshot_preview1` functions are not in `Imports`: define them
///   with `kiln::wasi::add_to_linker`),
///   `from_instance(store, instance)`, `instance()`; one method per exported
///   function, `fn <export>(&self, store: impl kiln::AsContextMut, <param>: …) ->
///   kiln::Result<R>`, which calls through a `kiln::TypedFunc` with no name
///   lookup; and one accessor per exported memory, global or table
///   (`fn memory(&self) -> kiln::Memory`).
///
/// Wasm types map to `i32`, `i64`, `f32`, `f64`, `u128` (v128),
/// `Option<kiln::Func>` and `Option<kiln::ExternRef>`. Wasm names become
/// snake_case identifiers: non-alphanumeric characters and case changes
/// separate words, keywords become raw identifiers (`r#type`), a leading
/// digit gets a `_`, and a name already taken (by an earlier export or a
/// method above) gets `_2`, `_3`…; exports are named in sorted order, so the
/// result is deterministic. Every export stays reachable by its wasm name
/// through `instance()`. The generated module's documentation lists each
/// import and export with the Rust name it got.
///
/// The `static` that holds the code carries a `#[link_section]`, which the
/// `unsafe_code` lint reports: a crate with `#![deny(unsafe_code)]` works (the
/// expansion allows it locally), one with `#![forbid(unsafe_code)]` cannot use
/// this macro.
#[proc_macro]
pub fn include_wasm(input: TokenStream) -> TokenStream {
    let expanded = match syn::parse_macro_input!(input as args::Input) {
        args::Input::Expr(args) => expand::expand(&args),
        args::Input::Mod(args) => bindings::expand(&args),
    };
    expanded.unwrap_or_else(|error| error.to_compile_error()).into()
}
