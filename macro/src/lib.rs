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
//! | `args` | the macro input (a path literal), parsed with syn, spans kept |
//! | `expand` | resolve, compile through the cache, emit aligned bytes in the text section |
//! | `diagnostics` | compile errors → `compile_error!` naming file, offset and reason |
//!
//! [`Artifact`]: https://docs.rs/kiln/latest/kiln/struct.Artifact.html

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod args;
mod diagnostics;
mod expand;

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
/// The `static` that holds the code carries a `#[link_section]`, which the
/// `unsafe_code` lint reports: a crate with `#![deny(unsafe_code)]` works (the
/// expansion allows it locally), one with `#![forbid(unsafe_code)]` cannot use
/// this macro.
#[proc_macro]
pub fn include_wasm(input: TokenStream) -> TokenStream {
    let args = syn::parse_macro_input!(input as args::IncludeWasm);
    expand::expand(&args)
        .unwrap_or_else(|error| error.to_compile_error())
        .into()
}
