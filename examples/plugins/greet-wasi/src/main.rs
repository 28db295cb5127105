//! A WASI command plugin using Rust's std: it prints, reads its arguments
//! and environment, reads a file from a preopened directory and writes one
//! back, and exits with a code the host receives as a value.

use std::io::Write;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let who = args.get(1).cloned().unwrap_or_else(|| "world".into());
    println!("hello, {who}!");
    if let Ok(mood) = std::env::var("MOOD") {
        println!("mood: {mood}");
    }
    match std::fs::read_to_string("/data/input.txt") {
        Ok(text) => {
            let words = text.split_whitespace().count();
            println!("input.txt has {words} words");
            let mut out = std::fs::File::create("/data/output.txt").expect("create output.txt");
            writeln!(out, "{}", text.to_uppercase()).expect("write output.txt");
        }
        Err(e) => eprintln!("no input: {e}"),
    }
    let code = args.get(2).and_then(|c| c.parse().ok()).unwrap_or(0);
    std::process::exit(code);
}
