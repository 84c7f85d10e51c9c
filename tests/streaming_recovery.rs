//! Recovery streams the logs into a memtable bounded by the write buffer
//! and writes a level-0 table each time it fills (DESIGN.md §5, "Memory
//! during recovery is bounded by the write buffer"): a log of a few MiB
//! recovered with a 64 KiB write buffer gives many tables and exactly the
//! state a recovery into one table gives.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use strata::fs::SimFs;
use strata::{Db, Options, WriteBatch, WriteOptions};

const DIRECTORY: &str = "/db";

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

fn tables(fs: &SimFs) -> usize {
    fs.file_names(Path::new(DIRECTORY))
        .unwrap()
        .iter()
        .filter(|name| name.ends_with(".sst"))
        .count()
}

fn contents(db: &Db) -> Model {
    db.iter().collect::<Result<_, _>>().unwrap()
}

/// A database whose only log holds about `bytes` of puts and deletions,
/// none flushed, and what it must hold.
fn unflushed(bytes: usize) -> (SimFs, Model) {
    let fs = SimFs::new();
    let mut model = Model::new();
    let options = Options {
        write_buffer_size: 256 << 20,
        ..Options::default()
    };
    let db = Db::open_with_fs(Arc::new(fs.clone()), DIRECTORY, options).unwrap();
    let mut written = 0;
    let mut index = 0u64;
    while written < bytes {
        let mut batch = WriteBatch::new();
        for _ in 0..8 {
            // Keys repeat, so later tables overwrite earlier ones.
            let key = format!("key{:05}", (index * 7919) % 3000).into_bytes();
            if index % 11 == 10 {
                batch.delete(&key);
                model.remove(&key);
            } else {
                let value = vec![b'a' + (index % 26) as u8; 300 + (index % 500) as usize];
                written += key.len() + value.len();
                batch.put(&key, &value);
                model.insert(key, value);
            }
            index += 1;
        }
        db.write(batch, &WriteOptions::default()).unwrap();
    }
    drop(db);
    assert_eq!(tables(&fs), 0, "nothing may be flushed before the reopen");
    (fs, model)
}

#[test]
fn a_log_of_a_few_mib_recovered_with_a_64_kib_write_buffer_gives_many_tables_and_the_same_state() {
    let (image, model) = unflushed(3 << 20);

    // One table when the write buffer holds the whole log.
    let whole = image.fork();
    let options = Options {
        write_buffer_size: 256 << 20,
        ..Options::default()
    };
    let db = Db::open_with_fs(Arc::new(whole.clone()), DIRECTORY, options).unwrap();
    assert_eq!(tables(&whole), 1);
    assert!(contents(&db) == model, "one-table recovery differs");
    let one_table_report = db.recovery_report().clone();
    drop(db);

    // Many with a 64 KiB write buffer, and the same state and report.
    let streamed = image.fork();
    let options = Options {
        write_buffer_size: 64 << 10,
        // Leave the recovered tables as recovery wrote them.
        level0_compaction_trigger: 64,
        level0_slowdown_writes_trigger: 1_000,
        level0_stop_writes_trigger: 1_000,
        ..Options::default()
    };
    let db = Db::open_with_fs(Arc::new(streamed.clone()), DIRECTORY, options.clone()).unwrap();
    let written = tables(&streamed);
    assert!(written >= 20, "only {written} level-0 tables");
    assert!(contents(&db) == model, "streamed recovery differs");
    let report = db.recovery_report();
    assert_eq!(report.batches_applied, one_table_report.batches_applied);
    assert_eq!(report.updates_applied, one_table_report.updates_applied);
    assert_eq!(report.sequence_range, one_table_report.sequence_range);
    assert_eq!(report.last_sequence, one_table_report.last_sequence);
    // Point reads agree with the iterator, key by key.
    for (key, value) in model.iter().step_by(37) {
        assert_eq!(db.get(key).unwrap().as_ref(), Some(value));
    }
    drop(db);

    // Idempotent: the tables are the database now; nothing is replayed.
    let db = Db::open_with_fs(Arc::new(streamed.clone()), DIRECTORY, options).unwrap();
    // Only the empty marker batch was replayed, and it is not a user batch.
    assert_eq!(
        db.recovery_report().batches_applied,
        0,
        "the marker counted"
    );
    assert_eq!(tables(&streamed), written);
    assert!(contents(&db) == model);
}
