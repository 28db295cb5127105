//! An interpreter: the Rhai scripting language running a script (recursion,
//! loops, arrays, maps, strings, closures), compiled once.
use common::check;
use rhai::{Engine, AST};

const SCRIPT: &str = r#"
fn fib(n) { if n < 2 { n } else { fib(n - 1) + fib(n - 2) } }
let total = fib(20);
let primes = [];
for n in 2..3000 {
    let is_prime = true;
    for p in primes {
        if p * p > n { break; }
        if n % p == 0 { is_prime = false; break; }
    }
    if is_prime { primes.push(n); }
}
let words = #{};
let text = "the quick brown fox jumps over the lazy dog the end";
for round in 0..40 {
    for w in text.split(" ") {
        let k = w + round % 3;
        words[k] = (words[k] ?? 0) + 1;
    }
}
let sq = |x| x * x;
let sum = 0;
for i in 0..5000 { sum += sq.call(i % 97); }
let s = "";
for i in 0..300 { s += `${i},`; }
total * 1000003 + primes.len() * 1009 + words.len() * 31 + sum + s.len()
"#;

common::program!(
    (Engine, AST),
    || {
        let mut engine = Engine::new();
        engine.set_max_expr_depths(256, 256);
        let ast = engine.compile(SCRIPT).unwrap();
        (engine, ast)
    },
    |(engine, ast): &(Engine, AST)| {
        let v: i64 = engine.eval_ast(ast).unwrap();
        // fib(20) = 6765; 430 primes below 3000; 27 distinct keys (9 words × 3 suffixes); the sum
        // of squares; the string's length.
        let sum: i64 = (0..5000).map(|i: i64| (i % 97) * (i % 97)).sum();
        let len: i64 = (0..300).map(|i: i64| i.to_string().len() as i64 + 1).sum();
        check(v == 6765 * 1000003 + 430 * 1009 + 27 * 31 + sum + len, "the script's answer");
        v as u64
    }
);
