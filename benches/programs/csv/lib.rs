//! Parsing: 2 MiB of CSV (quoted fields, numbers) read into records and
//! aggregated.
use common::{check, Rng};
use serde::Deserialize;

#[derive(Deserialize)]
struct Row {
    city: String,
    year: u32,
    temp: f64,
    comment: String,
}

fn table() -> String {
    let mut rng = Rng::new(16);
    let mut s = String::from("city,year,temp,comment\n");
    while s.len() < 2 << 20 {
        let comment = common::text(40, rng.next_u64()).replace('\n', " ").replace('"', "\"\"");
        s.push_str(&format!(
            "City{},{},{}.{},\"{comment}\"\n",
            rng.below(500),
            1900 + rng.below(126),
            rng.below(40),
            rng.below(10)
        ));
    }
    s
}

common::program!(String, table, |doc: &String| {
    let mut rdr = csv::Reader::from_reader(doc.as_bytes());
    let (mut n, mut years, mut temps, mut chars) = (0u64, 0u64, 0u64, 0u64);
    for row in rdr.deserialize() {
        let row: Row = row.unwrap();
        n += 1;
        years += row.year as u64;
        temps += (row.temp * 10.0).round() as u64;
        chars += (row.city.len() + row.comment.len()) as u64;
    }
    check(n as usize == doc.lines().count() - 1, "one record per line");
    common::Digest::default().u64(n).u64(years).u64(temps).u64(chars).finish()
});
