//! Whitebox crash harness: every mutating file-system operation of a small
//! workload — each append, sync, create, rename, remove and directory sync,
//! in writes, memtable switches, flushes, MANIFEST edits and rollovers and
//! a reopen's recovery — is made the last one before a crash, in turn. Each crash image
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
    let mut history = History::default();
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
    // Every MANIFEST some crash image holds: the workload's two opens write
    // one each, and each rollover (`options` sets a 128-byte limit) another.
    let mut manifests = std::collections::BTreeSet::new();
    for crash_after in 0..=operations {
        let fs = SimFs::new();
        fs.fail_after(crash_after);
        let history = workload(&fs);
        let image = fs.fork();
        image.clear_faults();
        if let Ok(names) = image.file_names(Path::new(DIRECTORY)) {
            manifests.extend(
                names
                    .into_iter()
                    .filter(|name| name.starts_with("MANIFEST-")),
            );
        }
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
    println!(
        "{operations} crash points, {} MANIFESTs, {coverage:?}",
        manifests.len()
    );
    assert!(
        manifests.len() >= 2 + 3,
        "the MANIFEST should roll over inside the workload: {manifests:?}"
    );
    assert!(coverage.point_in_time_dropped > 0, "{coverage:?}");
    assert!(coverage.unsynced_lost > 0, "{coverage:?}");
}

/// A log of about 60 KiB left unflushed by an orderly close (every write
/// acknowledged durable), in a database with no table yet.
fn unflushed_log(fs: &SimFs) -> History {
    let mut history = History::default();
    let options = strata::Options {
        write_buffer_size: 1 << 20,
        ..options(RecoveryMode::PointInTimeRecovery)
    };
    let db = Db::open_with_fs(Arc::new(fs.clone()), Path::new(DIRECTORY), options).unwrap();
    for index in 0..40u8 {
        let key = format!("key{:02}", index % 13).into_bytes();
        let value = vec![b'a' + index % 26; 1_400 + usize::from(index) * 3];
        let mut batch = WriteBatch::new();
        batch.put(&key, &value);
        db.write(batch, &WriteOptions::SYNC).unwrap();
        history.batches.push(vec![(key, Some(value))]);
        history.synced = history.batches.len();
    }
    history
}

/// The crash tests' options, with compaction held off so that the tables a
/// recovery writes stay countable and its file operations deterministic.
fn recovery_options() -> strata::Options {
    strata::Options {
        level0_compaction_trigger: 64,
        level0_slowdown_writes_trigger: 64,
        level0_stop_writes_trigger: 64,
        ..options(RecoveryMode::PointInTimeRecovery)
    }
}

#[test]
fn a_crash_between_the_level0_flushes_of_a_streaming_recovery_recovers_the_same_state() {
    let image = SimFs::new();
    let history = unflushed_log(&image);
    let directory = Path::new(DIRECTORY);
    let current = directory.join("CURRENT");
    let sst_count = |fs: &SimFs| {
        fs.durable_file_names(directory)
            .unwrap()
            .iter()
            .filter(|name| name.ends_with(".sst"))
            .count()
    };
    assert_eq!(sst_count(&image), 0);

    // Count the operations of an undisturbed recovery with the 2 KiB write
    // buffer of `options`: it writes many level-0 tables.
    let counting = image.fork();
    let before = counting.operation_count();
    let db = Db::open_with_fs(Arc::new(counting.clone()), directory, recovery_options()).unwrap();
    let operations = counting.operation_count() - before;
    drop(db);
    let recovered_tables = sst_count(&counting);
    assert!(
        recovered_tables >= 10,
        "recovery wrote {recovered_tables} tables"
    );

    let mut coverage = Coverage::default();
    let mut between_flushes = 0;
    for crash_after in 0..operations {
        let fs = image.fork();
        fs.fail_after(crash_after);
        let opened = Db::open_with_fs(Arc::new(fs.clone()), directory, recovery_options());
        assert!(opened.is_err(), "operation {crash_after} of {operations}");
        drop(opened);
        let crashed_image = fs.fork();
        crashed_image.clear_faults();
        for keep_torn_prefix in [false, true] {
            let crashed = crashed_image.fork();
            crashed.crash(CrashOptions {
                seed: crash_after,
                keep_torn_prefix,
                ..CrashOptions::default()
            });
            // Durable level-0 tables of the interrupted recovery, while
            // CURRENT still names the old MANIFEST: a crash between two of
            // its flushes.
            if sst_count(&crashed) >= 1
                && crashed.read_file(&current).unwrap() == image.read_file(&current).unwrap()
            {
                between_flushes += 1;
            }
            let label = format!(
                "recovery crashed after operation {crash_after} of {operations} (torn: {keep_torn_prefix})"
            );
            check_image(&crashed, directory, &history, &label, &mut coverage);
            // The next open leaves only the tables it names: orphans of the
            // interrupted recovery are removed.
            let reopened = crashed.fork();
            drop(
                Db::open_with_fs(Arc::new(reopened.clone()), directory, recovery_options())
                    .unwrap(),
            );
            assert_eq!(sst_count(&reopened), recovered_tables, "{label}");
        }
    }
    println!("{operations} crash points, {between_flushes} between flushes, {coverage:?}");
    assert!(
        between_flushes >= 2 * (recovered_tables - 1),
        "{between_flushes} crashes between level-0 flushes"
    );
}
