//! `Db::sync_wal` makes every earlier unsynced write durable, and
//! `Db::close` stops the background work, syncs, and reports the first
//! error instead of swallowing it as `Drop` must. Checked on the simulated
//! file system, whose default crash drops every unsynced byte.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;

use strata::fs::{CrashOptions, SimFs};
use strata::{Db, Error, Options, WriteBatch, WriteOptions};

fn open(fs: &SimFs) -> Db {
    Db::open_with_fs(Arc::new(fs.clone()), Path::new("/db"), Options::default()).unwrap()
}

/// A copy of `fs` after a power cut now, opened.
fn open_after_power_cut(fs: &SimFs) -> Db {
    let crashed = fs.fork();
    crashed.crash(CrashOptions::default());
    open(&crashed)
}

fn put_unsynced(db: &Db, keys: std::ops::Range<u32>) {
    for index in keys {
        db.put(format!("key{index:03}"), "value").unwrap();
    }
}

#[test]
fn unsynced_writes_are_lost_in_a_power_cut() {
    let fs = SimFs::new();
    let db = open(&fs);
    put_unsynced(&db, 0..50);
    let recovered = open_after_power_cut(&fs);
    assert_eq!(recovered.iter().count(), 0);
}

#[test]
fn sync_wal_makes_every_earlier_write_survive_a_power_cut() {
    let fs = SimFs::new();
    let db = open(&fs);
    put_unsynced(&db, 0..50);
    db.sync_wal().unwrap();
    put_unsynced(&db, 50..60);
    let recovered = open_after_power_cut(&fs);
    assert_eq!(recovered.iter().count(), 50);
    assert_eq!(recovered.get("key049").unwrap(), Some(b"value".to_vec()));
    assert_eq!(recovered.get("key050").unwrap(), None);
}

#[test]
fn sync_wal_from_many_threads_races_no_writer() {
    let fs = SimFs::new();
    let db = Arc::new(open(&fs));
    let threads: Vec<_> = (0..4_u32)
        .map(|thread| {
            let db = Arc::clone(&db);
            std::thread::spawn(move || {
                for index in 0..100_u32 {
                    let mut batch = WriteBatch::new();
                    batch.put(format!("t{thread}-{index:03}"), [0_u8; 64]);
                    db.write(batch, &WriteOptions::default()).unwrap();
                    if index % 10 == 9 {
                        db.sync_wal().unwrap();
                    }
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    // Each thread's last write came before its own last sync.
    let recovered = open_after_power_cut(&fs);
    assert_eq!(recovered.iter().count(), 400);
}

/// Writers, synced and not, race callers of `sync_wal` and `flush`, which
/// take the group-commit leader role between groups: every call returns
/// (the leader role is handed on, never lost), and every write is there.
#[test]
fn writers_racing_sync_wal_and_flush_all_finish() {
    let fs = SimFs::new();
    let db = Arc::new(open(&fs));
    let (done, finished) = std::sync::mpsc::channel();
    let mut threads = Vec::new();
    for thread in 0..8_u32 {
        let db = Arc::clone(&db);
        let done = done.clone();
        threads.push(std::thread::spawn(move || {
            for index in 0..200_u32 {
                let mut batch = WriteBatch::new();
                batch.put(format!("t{thread}-{index:03}"), [0_u8; 64]);
                let sync = (index + thread) % 3 == 0;
                db.write(batch, &WriteOptions { sync }).unwrap();
            }
            done.send(()).unwrap();
        }));
    }
    for thread in 0..2_u32 {
        let db = Arc::clone(&db);
        let done = done.clone();
        threads.push(std::thread::spawn(move || {
            for index in 0..40_u32 {
                if (index + thread) % 4 == 0 {
                    db.flush().unwrap();
                } else {
                    db.sync_wal().unwrap();
                }
            }
            done.send(()).unwrap();
        }));
    }
    for _ in 0..threads.len() {
        finished
            .recv_timeout(std::time::Duration::from_secs(120))
            .expect("a writer or a sync_wal caller never returned");
    }
    for thread in threads {
        thread.join().unwrap();
    }
    db.sync_wal().unwrap();
    let recovered = open_after_power_cut(&fs);
    assert_eq!(recovered.iter().count(), 8 * 200);
}

#[test]
fn a_failed_sync_wal_is_reported_and_poisons_the_database() {
    let fs = SimFs::new();
    let db = open(&fs);
    put_unsynced(&db, 0..5);
    fs.fail_after(0);
    let error = db.sync_wal().unwrap_err();
    assert!(matches!(error, Error::Io { .. }), "{error}");
    fs.clear_faults();
    let later = db.put("after", "x").unwrap_err();
    assert!(matches!(later, Error::Poisoned { .. }), "{later}");
    assert!(matches!(db.sync_wal(), Err(Error::Poisoned { .. })));
}

#[test]
fn close_syncs_unsynced_writes_and_releases_the_lock() {
    let fs = SimFs::new();
    let db = open(&fs);
    put_unsynced(&db, 0..50);
    db.close().unwrap();
    let recovered = open_after_power_cut(&fs);
    assert_eq!(recovered.iter().count(), 50);
    // The directory is not locked any more.
    let reopened = open(&fs);
    assert_eq!(reopened.iter().count(), 50);
}

#[test]
fn close_returns_the_error_that_poisoned_the_database() {
    let fs = SimFs::new();
    let db = open(&fs);
    db.put("before", "1").unwrap();
    // The log's prefill and the append succeed, the sync fails.
    let before = fs.operation_count();
    fs.fail_after(2);
    let mut batch = WriteBatch::new();
    batch.put("during", "2");
    let failed = db.write(batch, &WriteOptions::SYNC).unwrap_err();
    assert_eq!(fs.operation_count() - before, 3, "prefill, append, sync");
    fs.clear_faults();
    let error = db.close().unwrap_err();
    let Error::Poisoned { cause } = &error else {
        panic!("not the poisoning error: {error}");
    };
    assert_eq!(cause.to_string(), failed.to_string());
    assert!(cause.to_string().contains("injected failure"), "{cause}");
}

#[test]
fn close_returns_the_error_of_its_own_sync() {
    let fs = SimFs::new();
    let db = open(&fs);
    put_unsynced(&db, 0..5);
    fs.fail_after(0);
    let error = db.close().unwrap_err();
    assert!(matches!(error, Error::Io { .. }), "{error}");
    assert!(error.to_string().contains("injected failure"), "{error}");
}
