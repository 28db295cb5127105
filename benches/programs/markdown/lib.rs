//! Parsing: CommonMark to HTML with pulldown-cmark, 512 KiB of markdown.
use common::{check, digest, Rng};

fn document() -> String {
    let mut rng = Rng::new(14);
    let mut md = String::new();
    let mut n = 0;
    while md.len() < 512 << 10 {
        n += 1;
        md.push_str(&format!("## Section {n}\n\n"));
        for _ in 0..rng.below(4) + 1 {
            let para = common::text(300, rng.next_u64());
            let words: Vec<&str> = para.split(' ').collect();
            for (i, w) in words.iter().enumerate() {
                match rng.below(20) {
                    0 => md.push_str(&format!("**{w}**")),
                    1 => md.push_str(&format!("*{w}*")),
                    2 => md.push_str(&format!("`{w}`")),
                    3 => md.push_str(&format!("[{w}](https://example.org/{i})")),
                    _ => md.push_str(w),
                }
                md.push(' ');
            }
            md.push_str("\n\n");
        }
        match rng.below(3) {
            0 => (0..5).for_each(|i| md.push_str(&format!("- item {i} of {n}\n"))),
            1 => md.push_str("```rust\nfn main() { println!(\"<&>\"); }\n```\n"),
            _ => md.push_str("> quoted *text* & more\n"),
        }
        md.push('\n');
    }
    md
}

common::program!(String, document, |md: &String| {
    let mut html = String::with_capacity(md.len() * 2);
    pulldown_cmark::html::push_html(&mut html, pulldown_cmark::Parser::new(md));
    check(html.matches("<h2>").count() == md.matches("## Section").count(), "one heading per section");
    check(html.contains("&lt;&amp;&gt;"), "code is escaped");
    digest(html.as_bytes())
});
