//! The live log's prefill (`Options::wal_prefill_bytes`): a synced write
//! finds zeros already durable ahead of it, replay skips them as padding,
//! and a crash that tears a write over them loses nothing acknowledged.
//! Checked on the simulated file system, whose writes after a prefill
//! overwrite the zeros and whose crash can keep a torn, damaged prefix of
//! the unsynced bytes where they were written.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use strata::fs::{CrashOptions, SimFs};
use strata::{Db, Options, RecoveryMode, WriteBatch, WriteOptions};

const STEP: u64 = 4096;

fn options(mode: RecoveryMode) -> Options {
    Options::default()
        .with_recovery_mode(mode)
        .with_wal_prefill_bytes(STEP)
}

fn open(fs: &SimFs, options: Options) -> Db {
    Db::open_with_fs(Arc::new(fs.clone()), Path::new("/db"), options).unwrap()
}

/// The database's logs with their current lengths.
fn logs(fs: &SimFs) -> Vec<(PathBuf, usize)> {
    fs.file_names(Path::new("/db"))
        .unwrap()
        .into_iter()
        .filter(|name| name.ends_with(".log"))
        .map(|name| {
            let path = Path::new("/db").join(name);
            let length = fs.read_file(&path).unwrap().len();
            (path, length)
        })
        .collect()
}

fn write(db: &Db, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>, sync: bool) {
    let mut batch = WriteBatch::new();
    batch.put(key, value);
    db.write(batch, &WriteOptions { sync }).unwrap();
}

fn key(index: u32) -> String {
    format!("key{index:04}")
}

fn value(index: u32) -> Vec<u8> {
    vec![b'a' + (index % 26) as u8; 100 + (index % 7) as usize * 30]
}

#[test]
fn a_synced_write_prefills_the_log_and_an_unsynced_one_does_not() {
    let fs = SimFs::new();
    let db = open(&fs, options(RecoveryMode::PointInTimeRecovery));
    for index in 0..10 {
        db.put(key(index), value(index)).unwrap();
    }
    let (_, unsynced_length) = logs(&fs).pop().unwrap();
    assert_eq!(db.stats().wal_prefill_bytes, 0);
    assert!(unsynced_length < STEP as usize);

    let mut written = 0;
    for index in 10..200 {
        write(&db, key(index), value(index), true);
        written += value(index).len();
        let (log, length) = logs(&fs).pop().unwrap();
        // Every record ends in a byte of its value, never zero.
        let bytes = fs.read_file(&log).unwrap();
        let data_end = bytes.iter().rposition(|&byte| byte != 0).unwrap() + 1;
        // The zeros reach to a whole step, at most two steps past the
        // records (plus the framing the bound allows for).
        assert_eq!(length as u64 % STEP, 0, "prefilled to whole steps");
        assert!(length >= data_end);
        assert!(
            length - data_end < 2 * STEP as usize + 64,
            "{length} bytes, records end at {data_end}"
        );
        // Counted: every byte past the unsynced records is a zero written.
        assert_eq!(
            db.stats().wal_prefill_bytes,
            (length - unsynced_length) as u64
        );
    }
    assert!(written > 3 * STEP as usize, "the log outgrew several steps");
}

#[test]
fn prefill_is_off_where_the_mode_would_refuse_a_torn_overwrite() {
    for (mode, prefills) in [
        (RecoveryMode::PointInTimeRecovery, true),
        (RecoveryMode::SkipAnyCorruptedRecords, true),
        (RecoveryMode::TolerateCorruptedTailRecords, false),
        (RecoveryMode::AbsoluteConsistency, false),
    ] {
        let fs = SimFs::new();
        let db = open(&fs, options(mode));
        write(&db, "k", "v", true);
        let (_, length) = logs(&fs).pop().unwrap();
        assert_eq!(length as u64 >= STEP, prefills, "{mode}");
        assert_eq!(db.stats().wal_prefill_bytes > 0, prefills, "{mode}");
    }
    // Off by option too.
    let fs = SimFs::new();
    let db = open(
        &fs,
        options(RecoveryMode::PointInTimeRecovery).with_wal_prefill_bytes(0),
    );
    write(&db, "k", "v", true);
    assert!(logs(&fs).pop().unwrap().1 < 100);
}

#[test]
fn a_prefilled_log_reopens_in_every_mode_with_its_zeros_as_padding() {
    let fs = SimFs::new();
    let db = open(&fs, options(RecoveryMode::PointInTimeRecovery));
    for index in 0..50 {
        write(&db, key(index), value(index), index % 3 == 0);
    }
    db.close().unwrap();
    for mode in [
        RecoveryMode::AbsoluteConsistency,
        RecoveryMode::TolerateCorruptedTailRecords,
        RecoveryMode::PointInTimeRecovery,
        RecoveryMode::SkipAnyCorruptedRecords,
    ] {
        let copy = fs.fork();
        let db = open(&copy, options(mode));
        let report = db.recovery_report();
        assert!(!report.dropped_anything(), "{mode}: {report}");
        assert!(
            report.logs.iter().any(|log| log.length >= STEP),
            "{mode}: the prefilled log was read: {report}"
        );
        for index in 0..50 {
            assert_eq!(db.get(key(index)).unwrap(), Some(value(index)), "{mode}");
        }
    }
}

/// Synced writes, then unsynced ones over the zeros, then a crash that
/// keeps a torn and maybe damaged prefix of the unsynced bytes where they
/// were written (over the zeros, the file's length unchanged): recovery
/// keeps every synced write and a prefix of the rest, and quarantines what
/// it drops.
#[test]
fn a_write_torn_over_the_zeros_loses_nothing_acknowledged() {
    let mut dropped = 0;
    let mut refusals = 0;
    for seed in 0..200_u64 {
        let fs = SimFs::new();
        let db = open(&fs, options(RecoveryMode::PointInTimeRecovery));
        let synced = 10 + (seed % 20) as u32;
        let total = synced + 1 + (seed % 5) as u32;
        for index in 0..total {
            write(&db, key(index), value(index), index < synced);
        }
        let (log, length_before) = logs(&fs).pop().unwrap();
        let image = fs.fork();
        drop(db);
        image.crash(CrashOptions {
            seed,
            keep_torn_prefix: true,
            zero_torn_bytes: seed % 3 == 0,
            garbage_torn_bytes: seed % 4 == 0,
        });
        // The crash kept the prefilled length: the torn bytes sit on zeros.
        assert_eq!(image.read_file(&log).unwrap().len(), length_before);
        // The caveat of `Options::wal_prefill_bytes`: a write torn over the
        // zeros is no torn tail, and TolerateCorruptedTailRecords refuses
        // it (changing nothing) where PointInTimeRecovery drops it.
        let tolerate = image.fork();
        let refused = Db::open_with_fs(
            Arc::new(tolerate.clone()),
            Path::new("/db"),
            options(RecoveryMode::TolerateCorruptedTailRecords),
        )
        .is_err();
        refusals += u32::from(refused);
        for mode in [
            RecoveryMode::PointInTimeRecovery,
            RecoveryMode::SkipAnyCorruptedRecords,
        ] {
            let copy = image.fork();
            let db = open(&copy, options(mode));
            let report = db.recovery_report().clone();
            let present: Vec<bool> = (0..total)
                .map(|index| {
                    let found = db.get(key(index)).unwrap();
                    if let Some(found) = &found {
                        assert_eq!(found, &value(index), "seed {seed}, {mode}");
                    }
                    found.is_some()
                })
                .collect();
            assert!(
                present[..synced as usize].iter().all(|&p| p),
                "seed {seed}, {mode}: a synced write is missing:\n{report}"
            );
            if refused {
                assert!(
                    report.dropped_anything(),
                    "seed {seed}: refused, {mode} drops nothing"
                );
            }
            if mode == RecoveryMode::PointInTimeRecovery {
                // A prefix: no write present after a missing one.
                let kept = present.iter().take_while(|&&p| p).count();
                assert!(
                    present[kept..].iter().all(|&p| !p),
                    "seed {seed}: not a prefix:\n{report}"
                );
            }
            for (region, file) in report
                .dropped
                .iter()
                .filter(|region| region.length > 0)
                .zip(&report.quarantined)
            {
                let original = image.read_file(&region.file).unwrap();
                let start = region.offset as usize;
                let end = start + region.length as usize;
                assert_eq!(copy.read_file(file).unwrap(), original[start..end]);
                dropped += 1;
            }
        }
    }
    assert!(dropped > 20, "torn writes were dropped in {dropped} cases");
    assert!(
        refusals > 10,
        "TolerateCorruptedTailRecords refused {refusals} times"
    );
}
