//! The database's contract outside recovery proper: the lock, existence
//! options, reopening, poisoning after a failed write or sync, running out
//! of space, and writes from many threads.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;

mod support;

use strata::fs::{FileSystem, SimFs};
use strata::{Compression, Db, Error, Options, WriteBatch, WriteOptions};

fn sim_db(fs: &SimFs, options: Options) -> Result<Db, Error> {
    Db::open_with_fs(Arc::new(fs.clone()), Path::new("/db"), options)
}

#[test]
fn a_second_open_of_the_same_directory_is_refused_with_a_clear_error() {
    let directory = tempfile::tempdir().unwrap();
    let first = Db::open(directory.path(), Options::default()).unwrap();
    let error = Db::open(directory.path(), Options::default()).unwrap_err();
    assert!(matches!(error, Error::Locked { .. }), "{error}");
    assert!(error.to_string().contains("LOCK"), "{error}");
    drop(first);
    Db::open(directory.path(), Options::default()).unwrap();
}

#[test]
fn missing_database_without_create_if_missing_is_not_found() {
    let directory = tempfile::tempdir().unwrap();
    let options = Options {
        create_if_missing: false,
        ..Options::default()
    };
    let error = Db::open(directory.path().join("absent"), options.clone()).unwrap_err();
    assert!(matches!(error, Error::NotFound { .. }), "{error}");
    let error = Db::open(directory.path(), options).unwrap_err();
    assert!(matches!(error, Error::NotFound { .. }), "{error}");
}

#[test]
fn existing_database_with_error_if_exists_is_refused() {
    let directory = tempfile::tempdir().unwrap();
    drop(Db::open(directory.path(), Options::default()).unwrap());
    let options = Options {
        error_if_exists: true,
        ..Options::default()
    };
    let error = Db::open(directory.path(), options).unwrap_err();
    assert!(matches!(error, Error::AlreadyExists { .. }), "{error}");
}

#[test]
fn data_survives_close_and_reopen_including_flushed_tables() {
    let directory = tempfile::tempdir().unwrap();
    let options = Options {
        write_buffer_size: 4 << 10,
        ..Options::default()
    };
    {
        let db = Db::open(directory.path(), options.clone()).unwrap();
        for index in 0..2_000u32 {
            db.put(format!("key{index:05}").as_bytes(), index.to_le_bytes())
                .unwrap();
        }
        db.delete(b"key00007").unwrap();
        db.flush().unwrap();
        db.put(b"after-flush", b"yes").unwrap();
    }
    let db = Db::open(directory.path(), options).unwrap();
    assert_eq!(
        db.get(b"key01999").unwrap(),
        Some(1999u32.to_le_bytes().to_vec())
    );
    assert_eq!(db.get(b"key00007").unwrap(), None);
    assert_eq!(db.get(b"after-flush").unwrap(), Some(b"yes".to_vec()));
    assert_eq!(db.iter().count(), 2_000);
    let report = db.recovery_report();
    assert!(!report.dropped_anything(), "{report}");
}

#[test]
fn a_failed_log_write_poisons_the_database_until_reopen() {
    let fs = SimFs::new();
    let db = sim_db(&fs, Options::default()).unwrap();
    db.put(b"before", b"1").unwrap();
    fs.fail_after(0);
    let error = db.write(
        {
            let mut batch = WriteBatch::new();
            batch.put(b"during", b"2");
            batch
        },
        &WriteOptions::SYNC,
    );
    assert!(error.is_err());
    fs.clear_faults();
    let later = db.put(b"after", b"3").unwrap_err();
    assert!(matches!(later, Error::Poisoned { .. }), "{later}");
    assert!(later.to_string().contains("reopen"), "{later}");
    drop(db);
    let db = sim_db(&fs, Options::default()).unwrap();
    assert_eq!(db.get(b"before").unwrap(), Some(b"1".to_vec()));
    db.put(b"after", b"3").unwrap();
}

#[test]
fn a_failed_sync_poisons_the_database() {
    let fs = SimFs::new();
    let db = sim_db(&fs, Options::default()).unwrap();
    // The log's prefill and the append succeed, the sync fails.
    let before = fs.operation_count();
    fs.fail_after(2);
    let mut batch = WriteBatch::new();
    batch.put(b"k", b"v");
    assert!(db.write(batch, &WriteOptions::SYNC).is_err());
    assert_eq!(fs.operation_count() - before, 3, "prefill, append, sync");
    fs.clear_faults();
    assert!(matches!(db.put(b"x", b"y"), Err(Error::Poisoned { .. })));
}

#[test]
fn running_out_of_space_is_an_error_not_a_panic_and_loses_no_acknowledged_write() {
    let fs = SimFs::new();
    let db = sim_db(&fs, Options::default()).unwrap();
    let used: u64 = fs
        .durable_snapshot()
        .values()
        .map(|bytes| bytes.len() as u64)
        .sum();
    fs.set_space_limit(Some(used + 2_000));
    let mut acknowledged = 0;
    for index in 0..100u32 {
        let mut batch = WriteBatch::new();
        batch.put(index.to_be_bytes(), [9; 100]);
        match db.write(batch, &WriteOptions::SYNC) {
            Ok(()) => acknowledged += 1,
            Err(error) => {
                assert!(error.to_string().contains("could not"), "{error}");
                break;
            }
        }
    }
    assert!(acknowledged > 0 && acknowledged < 100);
    drop(db);
    fs.clear_faults();
    let db = sim_db(&fs, Options::default()).unwrap();
    for index in 0..acknowledged {
        assert!(
            db.get((index as u32).to_be_bytes()).unwrap().is_some(),
            "lost {index}"
        );
    }
    let _ = fs.list(Path::new("/db"));
}

#[test]
fn concurrent_writers_all_land_with_distinct_sequences() {
    let directory = tempfile::tempdir().unwrap();
    let options = Options {
        write_buffer_size: 16 << 10,
        ..Options::default()
    };
    let db = Arc::new(Db::open(directory.path(), options.clone()).unwrap());
    std::thread::scope(|scope| {
        for thread in 0..8u32 {
            let db = Arc::clone(&db);
            scope.spawn(move || {
                for index in 0..300u32 {
                    let mut batch = WriteBatch::new();
                    batch.put(
                        format!("t{thread}-{index:04}").as_bytes(),
                        [thread as u8; 50],
                    );
                    db.write(
                        batch,
                        &WriteOptions {
                            sync: index % 10 == 0,
                        },
                    )
                    .unwrap();
                }
            });
        }
    });
    assert_eq!(db.iter().count(), 8 * 300);
    assert_eq!(db.snapshot().sequence(), 8 * 300);
    drop(db);
    let db = Db::open(directory.path(), options).unwrap();
    assert_eq!(db.iter().count(), 8 * 300);
}

#[test]
fn compaction_merges_level0_tables_and_keeps_what_snapshots_see() {
    let fs = SimFs::new();
    let options = Options {
        level0_compaction_trigger: 3,
        ..Options::default()
    };
    let db = sim_db(&fs, options.clone()).unwrap();
    let mut snapshots = Vec::new();
    for round in 0..7u8 {
        for key in 0..50u8 {
            db.put([b'k', key], [round; 20]).unwrap();
        }
        db.delete([b'k', round]).unwrap();
        snapshots.push((round, db.snapshot()));
        db.flush().unwrap();
    }
    let tables = |fs: &SimFs| {
        fs.file_names(Path::new("/db"))
            .unwrap()
            .into_iter()
            .filter(|name| name.ends_with(".sst"))
            .count()
    };
    assert!(tables(&fs) < 3, "tables were not merged: {}", tables(&fs));
    for (round, snapshot) in &snapshots {
        assert_eq!(
            db.get_at([b'k', 20], snapshot).unwrap(),
            Some(vec![*round; 20])
        );
        assert_eq!(db.get_at([b'k', *round], snapshot).unwrap(), None);
    }
    drop(db);
    let db = sim_db(&fs, options).unwrap();
    // The last round rewrote every key and deleted only its own.
    assert_eq!(db.iter().count(), 49);
    assert_eq!(db.get([b'k', 6]).unwrap(), None);
    assert_eq!(db.get([b'k', 40]).unwrap(), Some(vec![6; 20]));
}

#[test]
fn compaction_reclaims_overwritten_and_deleted_versions_no_snapshot_needs() {
    let fs = SimFs::new();
    let options = Options {
        level0_compaction_trigger: 3,
        ..Options::default()
    };
    let db = sim_db(&fs, options).unwrap();
    let table_bytes = |fs: &SimFs| -> u64 {
        fs.durable_snapshot()
            .iter()
            .filter(|(path, _)| path.extension().is_some_and(|e| e == "sst"))
            .map(|(_, bytes)| bytes.len() as u64)
            .sum()
    };
    let mut held = None;
    for round in 0..6u8 {
        for key in 0..40u8 {
            db.put([b'k', key], [round; 1000]).unwrap();
        }
        db.delete(b"gone").unwrap();
        db.flush().unwrap();
        held.get_or_insert_with(|| db.snapshot());
    }
    let held = held.unwrap();
    // Compactions ran, and the snapshot after the first round still sees it.
    assert_eq!(db.get_at([b'k', 1], &held).unwrap(), Some(vec![0; 1000]));
    let with_snapshot = table_bytes(&fs);
    drop(held);
    for key in 0..40u8 {
        db.put([b'k', key], [9; 1000]).unwrap();
    }
    db.flush().unwrap();
    db.flush().unwrap();
    for _ in 0..2 {
        db.put(b"x", b"y").unwrap();
        db.flush().unwrap();
    }
    let after = table_bytes(&fs);
    // Only the newest version of each key is left: about 40 KiB.
    assert!(
        after < 60_000,
        "tables hold {after} bytes (were {with_snapshot} with the snapshot)"
    );
    assert_eq!(db.get([b'k', 3]).unwrap(), Some(vec![9; 1000]));
    assert_eq!(db.get(b"gone").unwrap(), None);
}

/// Found in review: a failure inside `Db::flush` (a directory sync, the
/// MANIFEST append or the old log's sync) did not poison the database, so a
/// later synced write could be acknowledged after a failed fsync.
#[test]
fn a_failure_during_flush_poisons_the_database() {
    for fail_after in 0..6 {
        let fs = SimFs::new();
        let db = sim_db(&fs, Options::default()).unwrap();
        db.put(b"k", b"v").unwrap();
        fs.fail_after(fail_after);
        let flushed = db.flush();
        fs.clear_faults();
        if flushed.is_ok() {
            continue; // the failure hit the background flush instead
        }
        let mut batch = WriteBatch::new();
        batch.put(b"after", b"x");
        let error = db.write(batch, &WriteOptions::SYNC).unwrap_err();
        assert!(
            matches!(error, Error::Poisoned { .. }),
            "fail_after {fail_after}: {error}"
        );
    }
}

#[test]
fn stats_count_writes_syncs_flushes_and_block_cache_hits_and_misses() {
    let fs = SimFs::new();
    let db = sim_db(&fs, Options::default()).unwrap();
    for index in 0..100u32 {
        db.put(format!("key{index:03}"), [7u8; 100]).unwrap();
    }
    let mut batch = WriteBatch::new();
    batch.put("synced", "yes");
    db.write(batch, &WriteOptions::SYNC).unwrap();
    db.flush().unwrap();
    let before = db.stats();
    assert_eq!(before.writes, 101);
    assert!(before.wal_syncs >= 1, "{before:?}");
    assert_eq!(before.flushes, 1);
    assert!(before.flush_bytes > 0, "{before:?}");
    // The memtable is empty now: the first read loads a table block, the
    // second finds it in the cache.
    assert!(db.get("key050").unwrap().is_some());
    let first = db.stats();
    assert_eq!(first.block_cache_misses, before.block_cache_misses + 1);
    assert_eq!(first.block_cache_hits, before.block_cache_hits);
    assert!(db.get("key050").unwrap().is_some());
    let second = db.stats();
    assert_eq!(second.block_cache_hits, first.block_cache_hits + 1);
    assert_eq!(second.block_cache_misses, first.block_cache_misses);
}

/// Memtable switches (three syncs each on a real file system) are timed,
/// and waits for a flush are counted within the stall time.
#[test]
fn memtable_switches_and_waits_for_flushes_are_timed() {
    let directory = tempfile::tempdir().unwrap();
    let options = Options {
        write_buffer_size: 64 << 10,
        max_immutable_memtables: 1,
        ..Options::default()
    };
    let db = Db::open(directory.path(), options).unwrap();
    for index in 0..20_000u32 {
        db.put(format!("key{index:06}"), [7u8; 100]).unwrap();
    }
    db.wait_for_background_idle().unwrap();
    let stats = db.stats();
    assert!(stats.flushes >= 20, "{stats:?}");
    assert!(stats.memtable_switch_micros > 0, "{stats:?}");
    assert!(
        stats.memtable_stall_micros <= stats.stall_micros,
        "{stats:?}"
    );
}

/// LZ4 tables: a database written with compression is smaller on disk,
/// reads back every value, and opens without the option (each block's
/// trailer names its codec), mixing plain and compressed tables, through a
/// compaction that rewrites both.
#[test]
fn lz4_tables_read_back_mix_with_plain_ones_and_are_smaller() {
    let fill = |directory: &Path, compression: Compression, offset: u32| {
        let options = Options {
            compression,
            ..Options::default()
        };
        let db = Db::open(directory, options).unwrap();
        for index in 0..5_000u32 {
            let key = format!("key{:05}", index + offset);
            db.put(&key, format!("value of {key}, value of {key}"))
                .unwrap();
        }
        db.flush().unwrap();
        db.close().unwrap();
    };
    let plain = tempfile::tempdir().unwrap();
    let compressed = tempfile::tempdir().unwrap();
    fill(plain.path(), Compression::None, 0);
    fill(compressed.path(), Compression::Lz4, 0);
    let (plain_bytes, compressed_bytes) = (
        support::table_bytes(plain.path()),
        support::table_bytes(compressed.path()),
    );
    assert!(
        compressed_bytes * 2 < plain_bytes,
        "{compressed_bytes} bytes with LZ4, {plain_bytes} without"
    );
    // Plain tables on top of the compressed ones, then one compaction of all.
    fill(compressed.path(), Compression::None, 2_500);
    let db = Db::open(compressed.path(), Options::default()).unwrap();
    db.compact_range(..).unwrap();
    let expected: Vec<(Vec<u8>, Vec<u8>)> = (0..7_500u32)
        .map(|index| {
            let key = format!("key{index:05}");
            let value = format!("value of {key}, value of {key}");
            (key.into_bytes(), value.into_bytes())
        })
        .collect();
    let read: Vec<(Vec<u8>, Vec<u8>)> = db.iter().map(|entry| entry.unwrap()).collect();
    assert_eq!(read, expected);
}
