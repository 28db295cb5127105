//! A database: redb (an embedded B-tree key-value store with transactions)
//! on its in-memory backend: insert 20,000 rows, read them back, range
//! scans, updates and deletes, each in transactions.
use common::{check, Digest, Rng};
use redb::backends::InMemoryBackend;
use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};

const TABLE: TableDefinition<u64, &[u8]> = TableDefinition::new("rows");

common::program!((), || (), |_: &()| {
    let db = Database::builder().create_with_backend(InMemoryBackend::new()).unwrap();
    let mut rng = Rng::new(18);
    let keys: Vec<u64> = (0..20_000).map(|_| rng.next_u64() >> 16).collect();
    let mut value = [0u8; 48];
    for chunk in keys.chunks(2000) {
        let tx = db.begin_write().unwrap();
        {
            let mut t = tx.open_table(TABLE).unwrap();
            for &k in chunk {
                value[..8].copy_from_slice(&k.to_le_bytes());
                t.insert(k, &value[..]).unwrap();
            }
        }
        tx.commit().unwrap();
    }
    let mut d = Digest::default();
    {
        let tx = db.begin_read().unwrap();
        let t = tx.open_table(TABLE).unwrap();
        for &k in &keys {
            let v = t.get(k).unwrap().unwrap();
            check(v.value()[..8] == k.to_le_bytes(), "a row reads back");
        }
        let mut n = 0u64;
        for row in t.range(1u64 << 40..1u64 << 46).unwrap() {
            let (k, _) = row.unwrap();
            d = d.u64(k.value());
            n += 1;
        }
        d = d.u64(n);
    }
    let tx = db.begin_write().unwrap();
    {
        let mut t = tx.open_table(TABLE).unwrap();
        for &k in keys.iter().step_by(3) {
            t.remove(k).unwrap();
        }
    }
    tx.commit().unwrap();
    let tx = db.begin_read().unwrap();
    let t = tx.open_table(TABLE).unwrap();
    let left = t.len().unwrap();
    let mut distinct = keys.clone();
    distinct.sort_unstable();
    distinct.dedup();
    let removed: std::collections::BTreeSet<u64> = keys.iter().step_by(3).copied().collect();
    check(left as usize == distinct.len() - removed.len(), "deletes are counted");
    d.u64(left).finish()
});
