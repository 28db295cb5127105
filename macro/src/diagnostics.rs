//! Compile errors of `include_wasm!`, worded for the person reading the build
//! output: every message starts with `kiln:`, names the file as it was
//! written in the macro call, and points at the path literal.
//!
//! Paths are shown relative to the crate (as written), never absolute, so the
//! messages are the same on every machine and can be snapshot-tested.

use kiln_build::{Error, ErrorKind};
use std::any::Any;
use syn::LitStr;

/// `path` (as written) could not be compiled because of `error`. `source` is
/// the absolute path the error may carry, which the message replaces with
/// the written one.
pub(crate) fn module_error(lit: &LitStr, source: &str, error: &Error) -> syn::Error {
    let file = lit.value();
    // Display is the one place that formats the location; only drop the
    // absolute source path it starts with (a cache path is kept: it is the
    // thing the user has to look at).
    let shown = error.to_string();
    let reason = match error.path() {
        Some(p) if p == source => shown.strip_prefix(&format!("{p}: ")).unwrap_or(&shown),
        _ => &shown,
    };
    let message = match error.kind() {
        ErrorKind::Invalid => format!("kiln: `{file}` is not valid WebAssembly: {reason}"),
        ErrorKind::Text => {
            // The wat parser's snippet names the file `<anon>` (it parsed
            // bytes) or by the absolute path it was given; show it as written.
            let reason = reason.replace(source, &file).replace("<anon>", &file);
            format!("kiln: `{file}` is not valid WebAssembly text: {reason}")
        }
        ErrorKind::Io if error.path() == Some(source) => {
            format!("kiln: cannot read `{file}`: {reason}")
        }
        ErrorKind::Io => format!(
            "kiln: cannot cache the artifact compiled from `{file}`: {reason} \
             (set KILN_CACHE_DIR to a writable directory)"
        ),
        ErrorKind::Target => {
            format!("kiln: cannot compile `{file}` for the build's target: {reason}")
        }
        ErrorKind::Codegen => format!(
            "kiln: internal compiler error while compiling `{file}`: {reason} \
             (this is a kiln bug; please report it with the module)"
        ),
        // `Unsupported` messages already start with "unsupported: ".
        _ => format!("kiln: cannot compile `{file}`: {reason}"),
    };
    syn::Error::new(lit.span(), message)
}

/// The file does not exist.
pub(crate) fn not_found(lit: &LitStr) -> syn::Error {
    syn::Error::new(
        lit.span(),
        format!(
            "kiln: cannot find `{}`: paths are relative to the directory that holds the \
             crate's Cargo.toml",
            lit.value()
        ),
    )
}

/// The compiler panicked. That is a kiln bug, but the user still gets an
/// error at the macro call rather than rustc's "proc macro panicked".
pub(crate) fn panicked(lit: &LitStr, payload: &(dyn Any + Send)) -> syn::Error {
    let what = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)");
    syn::Error::new(
        lit.span(),
        format!(
            "kiln: internal compiler error while compiling `{}`: the compiler panicked: {what} \
             (this is a kiln bug; please report it with the module)",
            lit.value()
        ),
    )
}

/// Anything else that stops the expansion, e.g. a missing environment.
pub(crate) fn other(lit: &LitStr, what: impl std::fmt::Display) -> syn::Error {
    syn::Error::new(lit.span(), format!("kiln: `{}`: {what}", lit.value()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proc_macro2::Span;

    fn lit() -> LitStr {
        LitStr::new("plugins/foo.wasm", Span::call_site())
    }

    #[test]
    fn source_path_is_shown_as_written() {
        let err = Error::invalid("magic header not detected", 0).in_file("/abs/plugins/foo.wasm");
        let msg = module_error(&lit(), "/abs/plugins/foo.wasm", &err).to_string();
        assert_eq!(
            msg,
            "kiln: `plugins/foo.wasm` is not valid WebAssembly: magic header not detected \
             (at offset 0x0)"
        );
    }

    #[test]
    fn text_errors_point_into_the_file_as_written() {
        let err = Error::text("expected a i32\n     --> <anon>:3:14\n").in_file("/abs/plugins/foo.wasm");
        let msg = module_error(&lit(), "/abs/plugins/foo.wasm", &err).to_string();
        assert_eq!(
            msg,
            "kiln: `plugins/foo.wasm` is not valid WebAssembly text: expected a i32\n     \
             --> plugins/foo.wasm:3:14\n"
        );
    }

    #[test]
    fn unsupported_names_function_and_offset() {
        let err = Error::unsupported("i32x4.add", 0x2a).in_func(3);
        let msg = module_error(&lit(), "/abs/plugins/foo.wasm", &err).to_string();
        assert_eq!(
            msg,
            "kiln: cannot compile `plugins/foo.wasm`: unsupported: i32x4.add \
             (in function 3, at offset 0x2a)"
        );
    }

    #[test]
    fn cache_errors_keep_the_cache_path() {
        let io = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        let err = Error::io(std::path::Path::new("/cache/x.kiln"), io);
        let msg = module_error(&lit(), "/abs/plugins/foo.wasm", &err).to_string();
        assert!(
            msg.starts_with("kiln: cannot cache the artifact compiled from `plugins/foo.wasm`: /cache/x.kiln: "),
            "{msg}"
        );
    }

    #[test]
    fn panics_become_errors() {
        let payload: Box<dyn Any + Send> = Box::new(String::from("index out of bounds"));
        let msg = panicked(&lit(), &*payload).to_string();
        assert!(msg.contains("the compiler panicked: index out of bounds"), "{msg}");
    }
}
