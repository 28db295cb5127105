//! Text: string similarity (Levenshtein, Damerau-Levenshtein, Jaro-Winkler)
//! between every pair of 120 sentences.
use common::{check, Digest};

common::program!(
    Vec<String>,
    || (0..120).map(|i| common::text(60 + i % 40, 20 + i as u64)).collect(),
    |lines: &Vec<String>| {
        let mut d = Digest::default();
        for a in lines {
            for b in lines {
                let lev = strsim::levenshtein(a, b);
                let osa = strsim::osa_distance(a, b);
                check(osa <= lev, "OSA distance is at most Levenshtein's");
                let jw = strsim::jaro_winkler(a, b);
                check((0.0..=1.0).contains(&jw), "Jaro-Winkler is a similarity");
                d = d.u64(lev as u64).u64(osa as u64).u64((jw * 1e9) as u64);
            }
        }
        check(strsim::levenshtein(&lines[0], &lines[0]) == 0, "a string is at distance 0 of itself");
        d.finish()
    }
);
