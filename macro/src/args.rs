//! The input of `include_wasm!`: a path literal (an expression of type
//! `kiln::Artifact`), or `[attrs] [vis] mod name = "path"` (typed bindings).
//! The two are told apart by the first tokens, so the forms never overlap.

use syn::parse::{Parse, ParseStream};
use syn::{Attribute, Ident, LitStr, Token, Visibility};

/// `include_wasm!("path")`.
pub(crate) struct IncludeWasm {
    /// The path as the user wrote it; its span is where every diagnostic about
    /// the module points.
    pub(crate) path: LitStr,
}

/// `include_wasm!(#[attr] pub mod name = "path")`.
pub(crate) struct Bindings {
    /// Outer attributes (doc comments, `#[allow]`…), put on the module.
    pub(crate) attrs: Vec<Attribute>,
    /// The module's visibility.
    pub(crate) vis: Visibility,
    /// The module's name.
    pub(crate) name: Ident,
    /// The path, as in [`IncludeWasm`].
    pub(crate) path: LitStr,
}

/// Either form.
pub(crate) enum Input {
    Expr(IncludeWasm),
    Mod(Bindings),
}

impl Parse for Input {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.peek(LitStr) {
            return input.parse().map(Input::Expr);
        }
        let fork = input.fork();
        let _ = fork.call(Attribute::parse_outer);
        let _: Visibility = fork.parse()?;
        if fork.peek(Token![mod]) {
            return input.parse().map(Input::Mod);
        }
        input.parse().map(Input::Expr)
    }
}

impl Parse for Bindings {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        input.parse::<Token![mod]>()?;
        let name: Ident = input.parse()?;
        if !input.peek(Token![=]) {
            return Err(input.error(
                "kiln: expected `= \"path\"` after the module name, e.g. \
                 include_wasm!(mod greeter = \"plugins/greeter.wasm\")",
            ));
        }
        input.parse::<Token![=]>()?;
        if !input.peek(LitStr) {
            return Err(input.error(
                "kiln: include_wasm! expects a string literal: the path of a .wasm or .wat file \
                 relative to the crate's Cargo.toml, e.g. include_wasm!(mod greeter = \"plugins/greeter.wasm\")",
            ));
        }
        let path: LitStr = input.parse()?;
        if input.peek(Token![,]) || input.peek(Token![;]) {
            let _ = input.parse::<proc_macro2::TokenTree>()?;
        }
        if !input.is_empty() {
            return Err(input.error("kiln: include_wasm!(mod name = \"path\") takes nothing after the path"));
        }
        Ok(Bindings { attrs, vis, name, path })
    }
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
        assert_eq!(parse(r#""plugins/foo.wasm""#).unwrap().path.value(), "plugins/foo.wasm");
        assert_eq!(parse(r#""a.wat","#).unwrap().path.value(), "a.wat");
    }

    #[test]
    fn mod_form() {
        let parse = |t: &str| syn::parse_str::<super::Input>(t);
        for ok in [
            r#"mod greeter = "a.wat""#,
            r#"pub mod greeter = "a.wat","#,
            r#"/// docs
            #[allow(dead_code)] pub(crate) mod greeter = "a.wat""#,
        ] {
            match parse(ok) {
                Ok(super::Input::Mod(b)) => {
                    assert_eq!((b.name.to_string(), b.path.value()), ("greeter".into(), "a.wat".into()))
                }
                _ => panic!("{ok}"),
            }
        }
        assert!(matches!(parse(r#""a.wat""#), Ok(super::Input::Expr(_))));
        for bad in [r#"mod greeter"#, r#"mod greeter = PATH"#, r#"mod = "a.wat""#, r#"mod g = "a" "b""#, "PATH"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rejects_everything_else() {
        for bad in ["", "PATH", r#"concat!("a", ".wasm")"#, r#""a.wasm" "b.wasm""#, "b\"x\""] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
