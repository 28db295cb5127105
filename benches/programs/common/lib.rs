//! What every program of the corpus shares: the export glue, a seeded
//! generator for inputs, the output digest and the self-check.

/// A program's two exports. `$setup` builds the program's state (its input,
/// once); `$run` does one unit of work on it and returns a digest of the
/// result. The state lives in a thread-local so that it need not be `Sync`.
#[macro_export]
macro_rules! program {
    ($state:ty, $setup:expr, $run:expr) => {
        ::std::thread_local! {
            static STATE: ::std::cell::OnceCell<$state> = const { ::std::cell::OnceCell::new() };
        }
        #[no_mangle]
        pub extern "C" fn bench_setup() {
            STATE.with(|s| {
                s.get_or_init($setup);
            });
        }
        #[no_mangle]
        pub extern "C" fn bench_run() -> u64 {
            STATE.with(|s| ($run)(s.get_or_init($setup)))
        }
    };
}

/// Stops the program (a trap in wasm, an abort natively) when its own check
/// of its output fails: a wrong answer cannot look fast.
pub fn check(ok: bool, what: &str) {
    if !ok {
        panic!("self-check failed: {what}");
    }
}

/// xorshift64*: the same sequence on every target.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
    pub fn fill(&mut self, buf: &mut [u8]) {
        for b in buf {
            *b = self.next_u64() as u8;
        }
    }
}

const WORDS: &[&str] = &[
    "the",
    "of",
    "and",
    "to",
    "in",
    "a",
    "is",
    "that",
    "for",
    "it",
    "as",
    "was",
    "with",
    "be",
    "by",
    "on",
    "not",
    "he",
    "this",
    "are",
    "or",
    "his",
    "from",
    "at",
    "which",
    "but",
    "have",
    "an",
    "had",
    "they",
    "you",
    "were",
    "their",
    "one",
    "all",
    "we",
    "can",
    "her",
    "has",
    "there",
    "been",
    "if",
    "more",
    "when",
    "will",
    "would",
    "who",
    "so",
    "no",
    "kiln",
    "furnace",
    "module",
    "memory",
    "table",
    "function",
    "compiler",
    "runtime",
    "sandbox",
    "plugin",
    "binary",
    "artifact",
    "section",
    "symbol",
    "register",
    "instruction",
    "branch",
    "loop",
    "value",
    "stack",
    "frame",
    "trap",
    "signal",
    "thread",
    "process",
    "kernel",
    "page",
    "byte",
    "Zürich",
    "naïve",
    "café",
    "straße",
    "東京",
    "über",
    "señor",
    "2026",
    "3.14159",
    "42",
    "x86_64",
    "aarch64",
];

/// `len` bytes (or a few more, to end the last word) of prose-like text:
/// words of a fixed vocabulary with punctuation and line breaks.
pub fn text(len: usize, seed: u64) -> String {
    let mut rng = Rng::new(seed);
    let mut s = String::with_capacity(len + 32);
    let mut sentence = 0;
    while s.len() < len {
        let w = WORDS[rng.below(WORDS.len() as u64) as usize];
        if sentence == 0 {
            let mut c = w.chars();
            if let Some(first) = c.next() {
                s.extend(first.to_uppercase());
                s.push_str(c.as_str());
            }
        } else {
            s.push_str(w);
        }
        sentence += 1;
        if sentence > 4 && rng.below(8) == 0 {
            s.push_str(if rng.below(4) == 0 { ".\n" } else { ". " });
            sentence = 0;
        } else if rng.below(12) == 0 {
            s.push_str(", ");
        } else {
            s.push(' ');
        }
    }
    s
}

/// FNV-1a, 64-bit: the digest a program returns.
#[derive(Clone, Copy)]
pub struct Digest(u64);

impl Default for Digest {
    fn default() -> Self {
        Digest(0xcbf2_9ce4_8422_2325)
    }
}

impl Digest {
    pub fn bytes(mut self, bytes: &[u8]) -> Self {
        for &b in bytes {
            self.0 ^= b as u64;
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01B3);
        }
        self
    }
    pub fn u64(self, v: u64) -> Self {
        self.bytes(&v.to_le_bytes())
    }
    pub fn finish(self) -> u64 {
        self.0
    }
}

pub fn digest(bytes: &[u8]) -> u64 {
    Digest::default().bytes(bytes).finish()
}
