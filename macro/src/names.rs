//! Rust identifiers from WebAssembly names, for the typed bindings.
//!
//! Wasm names are any UTF-8 strings; Rust method names are not. The rule,
//! applied in a fixed order (exports sorted by name, imports in declaration
//! order) so that the result is deterministic:
//!
//! 1. **snake_case**: the name is cut into words at every character that is
//!    not an ASCII letter or digit and at case changes (`getValue` →
//!    `get_value`, `HTTPServer` → `http_server`, `log-str` → `log_str`); the
//!    words are lowercased and joined with `_`. A name with no ASCII letter
//!    or digit becomes `unnamed`.
//! 2. A leading digit gets a `_` in front (`2d` → `_2d`).
//! 3. Rust keywords become raw identifiers (`type` → `r#type`), except the
//!    four that cannot be raw (`self`, `super`, `crate`, `Self` — lowercased
//!    to `self_`), which get a `_` after them.
//! 4. **Collisions**: an identifier already taken — by an earlier name or by
//!    a method of the generated code (`instantiate`, `instance`…) — gets
//!    `_2`, or `_3`, … the first that is free.
//!
//! Host imports use the field name alone (`env`::`log` → `log`) unless two
//! imports share a field name, in which case both use module and field
//! (`env`::`log`, `debug`::`log` → `env_log`, `debug_log`); then rule 4.

use std::collections::HashSet;

/// Keywords that are raw-able (`r#kw`).
const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "dyn", "else", "enum", "extern", "false", "fn", "for", "gen",
    "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "static", "struct",
    "trait", "true", "type", "unsafe", "use", "where", "while", "abstract", "become", "box", "do", "final", "macro",
    "override", "priv", "try", "typeof", "unsized", "virtual", "yield", "union",
];

/// Keywords that cannot be raw identifiers.
const NOT_RAW: &[&str] = &["self", "super", "crate"];

/// `name` in snake_case (rule 1).
pub(crate) fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_ascii_alphanumeric() {
            if !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            continue;
        }
        if c.is_ascii_uppercase() && !word.is_empty() {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            // `aB` starts a word at B; `ABc` starts one at B too (acronym end).
            if prev.is_ascii_lowercase() || prev.is_ascii_digit() || (prev.is_ascii_uppercase() && next_lower) {
                words.push(std::mem::take(&mut word));
            }
        }
        word.push(c.to_ascii_lowercase());
    }
    if !word.is_empty() {
        words.push(word);
    }
    if words.is_empty() {
        return "unnamed".to_string();
    }
    words.join("_")
}

/// `name` in UpperCamelCase, for the struct named after the module.
pub(crate) fn upper_camel_case(name: &str) -> String {
    let camel: String = snake_case(name)
        .split('_')
        .map(|w| {
            let mut cs = w.chars();
            match cs.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + cs.as_str(),
                None => String::new(),
            }
        })
        .collect();
    if camel.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{camel}")
    } else {
        camel
    }
}

/// Hands out distinct identifiers (rules 2–4).
pub(crate) struct Namer {
    taken: HashSet<String>,
}

impl Namer {
    /// A namer for which `reserved` are already taken.
    pub(crate) fn new(reserved: &[&str]) -> Namer {
        Namer { taken: reserved.iter().map(|s| s.to_string()).collect() }
    }

    /// A free identifier for `snake` (already snake_case), as Rust source
    /// text (`r#type` for keywords).
    pub(crate) fn fresh(&mut self, snake: &str) -> String {
        let mut base = snake.to_string();
        if base.starts_with(|c: char| c.is_ascii_digit()) {
            base.insert(0, '_');
        }
        if NOT_RAW.contains(&base.as_str()) || base == "_" {
            base.push('_');
        }
        let mut candidate = base.clone();
        let mut n = 1;
        while self.taken.contains(&candidate) {
            n += 1;
            candidate = format!("{base}_{n}");
        }
        self.taken.insert(candidate.clone());
        if KEYWORDS.contains(&candidate.as_str()) {
            format!("r#{candidate}")
        } else {
            candidate
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_rule() {
        for (wasm, rust) in [
            ("greet", "greet"),
            ("getValue", "get_value"),
            ("HTTPServer", "http_server"),
            ("log-str", "log_str"),
            ("__heap_base", "heap_base"),
            ("memory.grow", "memory_grow"),
            ("v2Alpha", "v2_alpha"),
            ("ABI", "abi"),
            ("caf\u{e9}", "caf"),
            ("", "unnamed"),
            ("+", "unnamed"),
        ] {
            assert_eq!(snake_case(wasm), rust, "{wasm}");
        }
    }

    #[test]
    fn identifiers_are_valid_and_distinct() {
        let mut namer = Namer::new(&["instantiate", "instance"]);
        let names: Vec<String> = ["type", "self", "2d", "instance", "get-value", "getValue", "getValue"]
            .iter()
            .map(|n| namer.fresh(&snake_case(n)))
            .collect();
        assert_eq!(names, ["r#type", "self_", "_2d", "instance_2", "get_value", "get_value_2", "get_value_3"]);
        for n in &names {
            syn::parse_str::<syn::Ident>(n).unwrap_or_else(|e| panic!("{n}: {e}"));
        }
    }

    #[test]
    fn struct_names() {
        assert_eq!(upper_camel_case("greeter"), "Greeter");
        assert_eq!(upper_camel_case("my_plugin"), "MyPlugin");
        assert_eq!(upper_camel_case("r2d2"), "R2d2");
    }
}
