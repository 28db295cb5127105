//! Parsing: a 256 KiB TOML configuration, parsed into typed structs and
//! written back.
use common::{check, digest, Rng};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Serialize, Deserialize, PartialEq)]
struct Config {
    title: String,
    server: BTreeMap<String, Server>,
}

#[derive(Serialize, Deserialize, PartialEq)]
struct Server {
    host: String,
    port: u16,
    weight: f64,
    enabled: bool,
    tags: Vec<String>,
}

fn config() -> Config {
    let mut rng = Rng::new(15);
    let server = (0..1500)
        .map(|i| {
            let s = Server {
                host: format!("node-{i}.example.org"),
                port: 1024 + rng.below(60000) as u16,
                weight: rng.below(1000) as f64 / 8.0,
                enabled: rng.below(2) == 0,
                tags: (0..rng.below(5)).map(|t| format!("tag{t} \"quoted\" ü")).collect(),
            };
            (format!("s{i:05}"), s)
        })
        .collect();
    Config { title: "kiln corpus".into(), server }
}

common::program!(String, || toml::to_string(&config()).unwrap(), |doc: &String| {
    let parsed: Config = toml::from_str(doc).unwrap();
    check(parsed.server.len() == 1500, "every table parsed");
    let again = toml::to_string(&parsed).unwrap();
    check(again == *doc, "writing back gives the same document");
    digest(again.as_bytes())
});
