//! The input of `include_wasm!`.
//!
//! Today the only form is a string literal path. A named-module form
//! (`include_wasm!(mod name = "path")`) may come later: it would start with
//! the `mod` keyword, so it can be told apart from the literal by its first
//! token without breaking existing callers.

use syn::parse::{Parse, ParseStream};
use syn::LitStr;

/// `include_wasm!("path")`.
pub(crate) struct IncludeWasm {
    /// The path as the user wrote it; its span is where every diagnostic about
    /// the module points.
    pub(crate) path: LitStr,
}

impl Parse for IncludeWasm {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if !input.peek(LitStr) {
            return Err(input.error(
                "kiln: include_wasm! expects a string literal: the path of a .wasm or .wat file \
                 relative to the crate's Cargo.toml, e.g. include_wasm!(\"plugins/foo.wasm\")",
            ));
        }
        let path: LitStr = input.parse()?;
        // Tolerate the trailing comma that rustfmt and habit produce.
        if input.peek(syn::Token![,]) {
            input.parse::<syn::Token![,]>()?;
        }
        if !input.is_empty() {
            return Err(input.error("kiln: include_wasm! takes a single path literal"));
        }
        Ok(IncludeWasm { path })
    }
}

#[cfg(test)]
mod tests {
    use super::IncludeWasm;

    fn parse(tokens: &str) -> syn::Result<IncludeWasm> {
        syn::parse_str(tokens)
    }

    #[test]
    fn accepts_a_literal() {
        assert_eq!(
            parse(r#""plugins/foo.wasm""#).unwrap().path.value(),
            "plugins/foo.wasm"
        );
        assert_eq!(parse(r#""a.wat","#).unwrap().path.value(), "a.wat");
    }

    #[test]
    fn rejects_everything_else() {
        for bad in [
            "",
            "PATH",
            r#"concat!("a", ".wasm")"#,
            r#""a.wasm" "b.wasm""#,
            "b\"x\"",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
