//! Text search: the regex crate, five patterns (literals, classes,
//! alternations, captures, Unicode) over 1 MiB of text.
use common::{check, Digest};
use regex::Regex;

common::program!(
    (String, Vec<Regex>),
    || {
        let patterns = [
            r"\b[A-Z][a-z]+ [a-z]+\b",
            r"(?i)kiln|furnace|compiler",
            r"\b(\w+) (\w+)\b",
            r"[0-9]+\.[0-9]+",
            r"\p{Han}+|\w*ß\w*|[^\x00-\x7F]\w*",
        ];
        (common::text(1 << 20, 12), patterns.iter().map(|p| Regex::new(p).unwrap()).collect())
    },
    |(text, res): &(String, Vec<Regex>)| {
        let mut d = Digest::default();
        for re in res {
            let mut n = 0u64;
            for m in re.find_iter(text) {
                n += 1;
                d = d.u64(m.start() as u64);
            }
            check(n > 0, "every pattern matches somewhere");
            d = d.u64(n);
        }
        let caps = res[2].captures_iter(text).filter(|c| c[1] == c[2]).count();
        check(caps > 0 && caps < res[2].find_iter(text).count(), "some word pairs repeat a word");
        d.u64(caps as u64).finish()
    }
);
