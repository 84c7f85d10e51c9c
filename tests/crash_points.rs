//! Whitebox crash harness: every mutating file-system operation of a small
//! workload — each append, sync, create, rename, remove and directory sync,
//! in writes, memtable switches, flushes, MANIFEST edits and a reopen's
//! recovery — is made the last one before a crash, in turn. Each crash image
//! (with unsynced bytes dropped, and again with a torn prefix kept) is
//! recovered under every mode and held to the same contract as the random
//! crash simulation (see `crash/mod.rs`).
#![allow(clippy::unwrap_used)]

mod crash;

use std::path::Path;
use std::sync::Arc;

use crash::{Batch, Coverage, History, check_image, options};
use strata::fs::{CrashOptions, SimFs};
use strata::{Db, RecoveryMode, WriteBatch, WriteOptions};

const DIRECTORY: &str = "/db";

/// A fixed workload: 30 batches (every third synced) with a flush after the
/// 10th and a close-and-reopen after the 20th; small memtables so that logs
/// switch and tables are written along the way. Stops at the first error,
/// as an application would once the database refuses writes.
fn workload(fs: &SimFs) -> History {
    let mut history = History {
        batches: Vec::new(),
        synced: 0,
    };
    let directory = Path::new(DIRECTORY);
    let open = || {
        Db::open_with_fs(
            Arc::new(fs.clone()),
            directory,
            options(RecoveryMode::PointInTimeRecovery),
        )
    };
    let Ok(mut db) = open() else {
        return history;
    };
    for index in 0..30u8 {
        if index == 10 && db.flush().is_err() {
            return history;
        }
        if index == 20 {
            drop(db);
            match open() {
                Ok(reopened) => db = reopened,
                Err(_) => return history,
            }
        }
        let key = format!("key{:02}", index % 7).into_bytes();
        let value = vec![b'a' + index % 26; 60 + usize::from(index) * 5];
        let mut batch = WriteBatch::new();
        batch.put(&key, &value);
        let mut record: Batch = vec![(key.clone(), Some(value))];
        if index % 5 == 4 {
            batch.delete(b"key03");
            record.push((b"key03".to_vec(), None));
        }
        let sync = index % 3 == 2;
        history.batches.push(record);
        match db.write(batch, &WriteOptions { sync }) {
            Ok(()) if sync => history.synced = history.batches.len(),
            Ok(()) => {}
            Err(_) => return history,
        }
    }
    history
}

#[test]
fn a_crash_after_any_file_operation_recovers_to_a_prefix_holding_every_synced_write() {
    // Count the operations of an undisturbed run.
    let counting = SimFs::new();
    let full = workload(&counting);
    assert_eq!(full.batches.len(), 30);
    let operations = counting.operation_count();
    assert!(
        operations > 100,
        "the workload should touch many files: {operations}"
    );

    let mut coverage = Coverage::default();
    for crash_after in 0..=operations {
        let fs = SimFs::new();
        fs.fail_after(crash_after);
        let history = workload(&fs);
        let image = fs.fork();
        image.clear_faults();
        for keep_torn_prefix in [false, true] {
            let crashed = image.fork();
            crashed.crash(CrashOptions {
                seed: crash_after,
                keep_torn_prefix,
                ..CrashOptions::default()
            });
            let label = format!(
                "crash after operation {crash_after} of {operations} (torn: {keep_torn_prefix})"
            );
            check_image(
                &crashed,
                Path::new(DIRECTORY),
                &history,
                &label,
                &mut coverage,
            );
            coverage.seeds += 1;
        }
    }
    println!("{operations} crash points, {coverage:?}");
    assert!(coverage.point_in_time_dropped > 0, "{coverage:?}");
    assert!(coverage.unsynced_lost > 0, "{coverage:?}");
}
