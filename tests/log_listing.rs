//! A log a memtable switch creates is listed in the MANIFEST (after a sync
//! of the directory) before the first sync of it is acknowledged, not when
//! it is created. These tests hold what that must keep: a power cut before
//! that first sync may lose the log whole and the database still opens in
//! every mode; once a sync was acknowledged, the log survives a power cut
//! and its loss is detected; and recovery never gives a file a number that
//! an unlisted log on disk already has.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use strata::fs::{CrashOptions, FileSystem, SimFs};
use strata::{
    Db, DropReason, Error, ManifestDump, Options, RecoveryMode, RefusalReason, WriteOptions,
};
use strata_wal::batch::BatchBuilder;
use strata_wal::{Writer, WriterOptions};

const DIRECTORY: &str = "/db";

/// Small memtables, so that a few dozen writes switch logs.
fn options(mode: RecoveryMode) -> Options {
    Options {
        recovery_mode: mode,
        write_buffer_size: 4_096,
        ..Options::default()
    }
}

fn open(fs: &SimFs, mode: RecoveryMode) -> strata::Result<Db> {
    Db::open_with_fs(Arc::new(fs.clone()), Path::new(DIRECTORY), options(mode))
}

/// The numbers of the logs in `names`, ascending.
fn log_numbers(names: impl IntoIterator<Item = String>) -> Vec<u64> {
    let mut numbers: Vec<u64> = names
        .into_iter()
        .filter_map(|name| name.strip_suffix(".log")?.parse().ok())
        .collect();
    numbers.sort_unstable();
    numbers
}

fn sim_logs(fs: &SimFs) -> Vec<u64> {
    log_numbers(fs.list(Path::new(DIRECTORY)).unwrap())
}

fn key(index: u32) -> String {
    format!("key{index:05}")
}

/// Unsynced 100-byte puts from `first` on until the newest log is a new
/// one; returns the index after the last put.
fn put_until_switch(db: &Db, fs: &SimFs, first: u32) -> u32 {
    let before = *sim_logs(fs).last().unwrap();
    let mut index = first;
    while *sim_logs(fs).last().unwrap() == before {
        db.put(key(index), [b'v'; 100]).unwrap();
        index += 1;
        assert!(index < first + 10_000, "no memtable switch happened");
    }
    index
}

#[test]
fn a_power_cut_before_a_new_logs_first_sync_opens_in_every_mode_with_every_synced_write() {
    let fs = SimFs::new();
    let db = open(&fs, RecoveryMode::AbsoluteConsistency).unwrap();
    db.write(
        {
            let mut batch = strata::WriteBatch::new();
            batch.put("synced", "yes");
            batch
        },
        &WriteOptions::SYNC,
    )
    .unwrap();
    let end = put_until_switch(&db, &fs, 0);
    // A few more writes into the new, unlisted log.
    for index in end..end + 5 {
        db.put(key(index), [b'w'; 100]).unwrap();
    }
    let crashed = fs.fork();
    crashed.crash(CrashOptions::default());
    drop(db);
    for mode in RecoveryMode::ALL {
        let image = crashed.fork();
        let db = open(&image, mode).unwrap_or_else(|error| panic!("{mode}: {error}"));
        assert_eq!(db.get("synced").unwrap(), Some(b"yes".to_vec()), "{mode}");
        // Whatever survived is a prefix of the writes: a key is present
        // only if every earlier one is.
        let present: Vec<bool> = (0..end + 5)
            .map(|index| db.get(key(index)).unwrap().is_some())
            .collect();
        let kept = present.iter().take_while(|&&present| present).count();
        assert!(
            present[kept..].iter().all(|&present| !present),
            "{mode}: not a prefix: {present:?}"
        );
    }
}

#[test]
fn a_synced_write_to_a_new_log_survives_a_power_cut_and_the_logs_loss_is_reported() {
    let fs = SimFs::new();
    let db = open(&fs, RecoveryMode::AbsoluteConsistency).unwrap();
    let end = put_until_switch(&db, &fs, 0);
    let mut batch = strata::WriteBatch::new();
    batch.put(key(end), "synced");
    db.write(batch, &WriteOptions::SYNC).unwrap();
    let live = *sim_logs(&fs).last().unwrap();

    // The power cut keeps the synced write, so its log's name was durable.
    let crashed = fs.fork();
    crashed.crash(CrashOptions::default());
    drop(db);
    {
        let image = crashed.fork();
        let db = open(&image, RecoveryMode::AbsoluteConsistency).unwrap();
        assert_eq!(db.get(key(end)).unwrap(), Some(b"synced".to_vec()));
        for index in 0..end {
            assert!(db.get(key(index)).unwrap().is_some(), "{} lost", key(index));
        }
    }

    // The log was listed too: with it gone, recovery reports a missing log
    // and AbsoluteConsistency refuses to open.
    let log = PathBuf::from(DIRECTORY).join(format!("{live:06}.log"));
    crashed.remove(&log).unwrap();
    crashed.sync_dir(Path::new(DIRECTORY)).unwrap();
    match open(&crashed, RecoveryMode::AbsoluteConsistency) {
        Err(Error::Refused {
            file,
            reason: RefusalReason::Dropped(DropReason::MissingLog),
            ..
        }) => assert_eq!(file, log),
        Err(other) => panic!("expected a refusal naming the missing log, got {other}"),
        Ok(_) => panic!("the listed log's loss went unnoticed"),
    }
}

#[test]
fn a_new_log_is_listed_at_its_first_synced_write_not_at_its_creation() {
    let directory = tempfile::tempdir().unwrap();
    let db = Db::open(directory.path(), options(RecoveryMode::default())).unwrap();
    let logs = || {
        log_numbers(
            std::fs::read_dir(directory.path())
                .unwrap()
                .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned()),
        )
    };
    let first = *logs().last().unwrap();
    let mut index = 0;
    while *logs().last().unwrap() == first {
        db.put(key(index), [b'v'; 100]).unwrap();
        index += 1;
        assert!(index < 10_000, "no memtable switch happened");
    }
    let live = *logs().last().unwrap();
    let listed = || ManifestDump::read_current(directory.path()).unwrap().logs;
    assert!(!listed().contains(&live), "listed before any sync");
    let mut batch = strata::WriteBatch::new();
    batch.put("synced", "yes");
    db.write(batch, &WriteOptions::SYNC).unwrap();
    assert!(
        listed().contains(&live),
        "not listed at its first synced write"
    );
}

#[test]
fn recovery_numbers_its_files_past_an_unlisted_log_at_every_crash_point() {
    // A database with one synced write, closed cleanly.
    let fs = SimFs::new();
    let db = open(&fs, RecoveryMode::PointInTimeRecovery).unwrap();
    let mut batch = strata::WriteBatch::new();
    batch.put("first", "1");
    db.write(batch, &WriteOptions::SYNC).unwrap();
    db.close().unwrap();
    let sequence = Db::inspect_recovery_with_fs(
        &fs,
        Path::new(DIRECTORY),
        &options(RecoveryMode::PointInTimeRecovery),
    )
    .unwrap()
    .last_sequence;

    // A log a switch created and a crash left unlisted, one number past
    // the next file number the MANIFEST holds (the highest file is the
    // MANIFEST, numbered just before it): the recovery's own log would take
    // that number if it did not look.
    let highest = fs
        .list(Path::new(DIRECTORY))
        .unwrap()
        .iter()
        .filter_map(|name| {
            let digits = name.strip_prefix("MANIFEST-").unwrap_or(name);
            digits.split('.').next()?.parse::<u64>().ok()
        })
        .max()
        .unwrap();
    let unlisted = PathBuf::from(DIRECTORY).join(format!("{:06}.log", highest + 2));
    let mut log = Writer::new(Vec::new(), WriterOptions::default());
    let mut payload = BatchBuilder::new();
    payload.put(b"second", b"2");
    log.add_record(&payload.finish(sequence + 1)).unwrap();
    fs.write_file_durably(&unlisted, &log.into_inner()).unwrap();

    // Count the operations of an undisturbed open.
    let counting = fs.fork();
    let operations_before = counting.operation_count();
    open(&counting, RecoveryMode::PointInTimeRecovery)
        .unwrap()
        .close()
        .unwrap();
    let operations = counting.operation_count() - operations_before;
    assert!(operations > 5, "an open should write files: {operations}");

    // A crash after each of them in turn, unsynced bytes dropped: the next
    // open still has both writes.
    for crash_after in 0..operations {
        let image = fs.fork();
        image.fail_after(crash_after);
        let _ = open(&image, RecoveryMode::PointInTimeRecovery);
        image.crash(CrashOptions::default());
        image.clear_faults();
        let db = open(&image, RecoveryMode::PointInTimeRecovery)
            .unwrap_or_else(|error| panic!("crash after {crash_after}: {error}"));
        assert_eq!(
            db.get("first").unwrap(),
            Some(b"1".to_vec()),
            "crash after {crash_after}"
        );
        assert_eq!(
            db.get("second").unwrap(),
            Some(b"2".to_vec()),
            "crash after {crash_after}"
        );
    }
}

#[test]
fn a_file_numbered_past_what_a_database_uses_is_a_corruption_naming_it_not_a_panic() {
    let fs = SimFs::new();
    open(&fs, RecoveryMode::PointInTimeRecovery)
        .unwrap()
        .close()
        .unwrap();
    let stray = PathBuf::from(DIRECTORY).join(format!("{}.log", u64::MAX));
    fs.write_file_durably(&stray, b"").unwrap();
    let before = fs.durable_snapshot();
    match open(&fs, RecoveryMode::PointInTimeRecovery) {
        Err(Error::Corruption { path, .. }) => assert_eq!(path, stray),
        Err(other) => panic!(
            "expected a corruption naming {}, got {other}",
            stray.display()
        ),
        Ok(_) => panic!("opened with a file number no MANIFEST can record"),
    }
    let after = fs.durable_snapshot();
    assert!(before == after, "the failed open changed the directory");
}
