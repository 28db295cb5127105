//! The expansion of `include_wasm!("path")`: resolve the path, compile
//! through the cache, and embed the artifact with the code that
//! [`kiln_build::embed`] writes (the one place that decides the link
//! section, the alignment and the guards; its documentation shows the
//! expansion). The text is parsed into tokens spanned at the path literal,
//! so a guard that fires points at the macro call.

use crate::args::IncludeWasm;
use crate::diagnostics;
use kiln_build::cache::{cache_dir, compile_cached};
use kiln_build::embed::{artifact_expr, Embed};
use kiln_build::Config;
use proc_macro2::{Group, Span, TokenStream, TokenTree};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use syn::LitStr;

pub(crate) fn expand(args: &IncludeWasm) -> syn::Result<TokenStream> {
    Ok(compile_and_embed(&args.path)?.expr)
}

/// A module compiled and ready to embed.
pub(crate) struct Embedded {
    /// The block expression of type `kiln::Artifact`.
    pub(crate) expr: TokenStream,
    /// The artifact's bytes (for readers of its metadata).
    pub(crate) artifact: Vec<u8>,
    /// The wasm binary it was compiled from.
    pub(crate) wasm: Vec<u8>,
}

/// Compile the module `lit` names (through the cache) and return the
/// expression that embeds it.
pub(crate) fn compile_and_embed(lit: &LitStr) -> syn::Result<Embedded> {
    let source = resolve(lit)?;
    let source_str = utf8(lit, &source)?;

    let config = Config::from_build_env().map_err(|e| diagnostics::module_error(lit, source_str, &e))?;

    // The compiler is not expected to panic, but a panic here would surface
    // as an opaque "proc macro panicked" with no file name.
    let compiled = catch_unwind(AssertUnwindSafe(|| {
        let wasm = kiln_build::read_module(&source)?;
        compile_cached(&wasm, &config, &cache_dir()).map(|path| (wasm, path))
    }));
    let (wasm, artifact) = match compiled {
        Ok(Ok(compiled)) => compiled,
        Ok(Err(e)) => return Err(diagnostics::module_error(lit, source_str, &e)),
        Err(payload) => return Err(diagnostics::panicked(lit, &*payload)),
    };
    let file = lit.value();
    let code = artifact_expr(&Embed {
        artifact: &artifact,
        source: Some(&source),
        label: &file,
        triple: config.triple(),
        compiled_by: "kiln-macro",
    })
    .map_err(|e| diagnostics::other(lit, e))?;
    let expr: TokenStream = code
        .parse()
        .map_err(|e| diagnostics::other(lit, format!("kiln bug: the embedding code does not parse: {e}")))?;
    let bytes = std::fs::read(&artifact)
        .map_err(|e| diagnostics::other(lit, format!("cannot read `{}`: {e}", artifact.display())))?;
    Ok(Embedded { expr: respan(expr, lit.span()), artifact: bytes, wasm })
}

/// `tokens`, every one spanned at `span`.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tree| {
            if let TokenTree::Group(g) = &tree {
                let mut group = Group::new(g.delimiter(), respan(g.stream(), span));
                group.set_span(span);
                tree = TokenTree::Group(group);
            } else {
                tree.set_span(span);
            }
            tree
        })
        .collect()
}

/// The absolute path of the module: the literal joined to the crate's
/// directory (an absolute literal stays as it is).
fn resolve(lit: &LitStr) -> syn::Result<PathBuf> {
    let Some(manifest_dir) = std::env::var_os("CARGO_MANIFEST_DIR") else {
        return Err(diagnostics::other(
            lit,
            "CARGO_MANIFEST_DIR is not set; include_wasm! resolves paths against the crate's \
             directory, so it needs to run under cargo",
        ));
    };
    let path = Path::new(&manifest_dir).join(lit.value());
    match std::fs::metadata(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(diagnostics::not_found(lit)),
        // Other failures (permissions, a directory) are reported by the read
        // itself, with the operating system's reason.
        _ => Ok(path),
    }
}

/// `include_bytes!` takes a string literal, so the path must be text.
fn utf8<'a>(lit: &LitStr, path: &'a Path) -> syn::Result<&'a str> {
    path.to_str().ok_or_else(|| diagnostics::other(lit, format!("the path `{}` is not valid UTF-8", path.display())))
}
