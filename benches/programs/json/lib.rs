//! Parsing: serde_json, a 1 MiB document of typed records, parsed and
//! written back.
use common::{check, digest, Rng};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, PartialEq)]
struct Order {
    id: u64,
    customer: String,
    lines: Vec<Line>,
    paid: bool,
    note: Option<String>,
}

#[derive(Serialize, Deserialize, PartialEq)]
struct Line {
    sku: String,
    qty: u32,
    price: f64,
}

fn orders() -> Vec<Order> {
    let mut rng = Rng::new(13);
    (0..3000)
        .map(|id| Order {
            id,
            customer: common::text(20, id),
            lines: (0..rng.below(8))
                .map(|_| Line {
                    sku: format!("SKU-{:06}", rng.below(1_000_000)),
                    qty: rng.below(50) as u32,
                    price: rng.below(1_000_000) as f64 / 100.0,
                })
                .collect(),
            paid: rng.below(2) == 0,
            note: (rng.below(3) == 0).then(|| common::text(60, id + 7)),
        })
        .collect()
}

common::program!(String, || serde_json::to_string_pretty(&orders()).unwrap(), |doc: &String| {
    let parsed: Vec<Order> = serde_json::from_str(doc).unwrap();
    check(parsed.len() == 3000, "every record parsed");
    let compact = serde_json::to_string(&parsed).unwrap();
    let value: serde_json::Value = serde_json::from_str(&compact).unwrap();
    check(value.as_array().map(|a| a.len()) == Some(3000), "the untyped parse agrees");
    digest(compact.as_bytes())
});
