//! Database-level corruption matrix: three logs, each kind of damage placed
//! in the newest log and in an older log while a newer one exists, opened
//! under each recovery mode, every outcome asserted as DESIGN.md §5 says —
//! including its deliberate differences from RocksDB (a gap between logs is
//! never silently replayed over).
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use strata::fs::SimFs;
use strata::{Db, Options, RecoveryMode};
use strata_wal::batch::BatchBuilder;
use strata_wal::{Writer, WriterOptions};

const PER_LOG: u64 = 10;
const DIRECTORY: &str = "/db";

/// A database whose MANIFEST points at an empty first log, plus two more
/// logs: sequences 1..=10 in the first, 11..=20 in the second, 21..=30 in
/// the third. Returns the file system and the three log paths.
fn three_logs() -> (SimFs, Vec<PathBuf>, Vec<Vec<u64>>) {
    let fs = SimFs::new();
    let directory = Path::new(DIRECTORY);
    drop(Db::open_with_fs(Arc::new(fs.clone()), directory, Options::default()).unwrap());
    let first = fs
        .file_names(directory)
        .unwrap()
        .into_iter()
        .find(|name| name.ends_with(".log"))
        .unwrap();
    let first_number: u64 = first.trim_end_matches(".log").parse().unwrap();
    let mut paths = Vec::new();
    let mut ends = Vec::new();
    for log in 0..3u64 {
        let path = directory.join(format!("{:06}.log", first_number + log * 10));
        // The first log already holds the marker batch the open wrote.
        let mut bytes = if log == 0 {
            fs.read_file(&path).unwrap()
        } else {
            Vec::new()
        };
        let offset = bytes.len() as u64;
        let mut writer = Writer::with_offset(&mut bytes, WriterOptions::default(), offset);
        let mut record_ends = vec![offset];
        for index in 0..PER_LOG {
            let sequence = log * PER_LOG + index + 1;
            let key = format!("key{sequence:03}");
            let payload = BatchBuilder::new()
                .put(key.as_bytes(), &[b'v'; 40])
                .finish(sequence);
            writer.add_record(&payload).unwrap();
            record_ends.push(writer.file_offset());
        }
        fs.write_file_durably(&path, &bytes).unwrap();
        paths.push(path);
        ends.push(record_ends);
    }
    (fs, paths, ends)
}

#[derive(Clone, Copy, Debug)]
enum Damage {
    TruncateMidRecord,
    TruncateAtRecordBoundary,
    FlipHeaderByte,
    FlipPayloadByte,
    ZeroRange,
    AppendGarbage,
}

const ALL_DAMAGE: [Damage; 6] = [
    Damage::TruncateMidRecord,
    Damage::TruncateAtRecordBoundary,
    Damage::FlipHeaderByte,
    Damage::FlipPayloadByte,
    Damage::ZeroRange,
    Damage::AppendGarbage,
];

/// Damages record 6 of 10 (index 5) of a log whose record ends are `ends`.
fn damage(bytes: &mut Vec<u8>, ends: &[u64], damage: Damage) {
    let start = ends[5] as usize;
    let end = ends[6] as usize;
    match damage {
        Damage::TruncateMidRecord => bytes.truncate(start + 20),
        Damage::TruncateAtRecordBoundary => bytes.truncate(start),
        Damage::FlipHeaderByte => bytes[start] ^= 0x20,
        Damage::FlipPayloadByte => bytes[start + 30] ^= 0x01,
        Damage::ZeroRange => bytes[start + 3..end + 10].fill(0),
        Damage::AppendGarbage => {
            // A header whose length fits the block (so it is not a torn
            // record) but whose checksum is wrong: a corruption.
            bytes.extend_from_slice(&[0xde, 0xad, 0xbe, 0xef, 12, 0, 1]);
            bytes.extend_from_slice(&[0x55; 12]);
        }
    }
}

/// What a mode must do, per DESIGN.md §5.
#[derive(Debug, PartialEq, Eq)]
enum Expect {
    Fails,
    /// Opens with exactly these sequences (keys) present.
    Opens(BTreeSet<u64>),
}

fn keys(range: impl IntoIterator<Item = u64>) -> Expect {
    Expect::Opens(range.into_iter().collect())
}

fn expected(damage: Damage, in_newest: bool, mode: RecoveryMode) -> Expect {
    use RecoveryMode::*;
    // Sequences of the damaged log: 21..=30 (newest) or 11..=20 (older).
    let base = if in_newest { 20 } else { 10 };
    let before = 1..=base + 5; // everything before the damaged record
    let all = 1..=30;
    let truncation = matches!(
        damage,
        Damage::TruncateMidRecord | Damage::TruncateAtRecordBoundary
    );
    if in_newest {
        match (damage, mode) {
            (Damage::TruncateAtRecordBoundary, _) => keys(before),
            (_, AbsoluteConsistency) => Expect::Fails,
            (_, TolerateCorruptedTailRecords) if !truncation => Expect::Fails,
            (Damage::AppendGarbage, _) => keys(all),
            _ => keys(before),
        }
    } else {
        let after = 21..=30;
        match (damage, mode) {
            (_, AbsoluteConsistency | TolerateCorruptedTailRecords) => Expect::Fails,
            // Garbage after the older log's last record: PointInTime stops
            // there, but the newer log continues the sequence exactly.
            (Damage::AppendGarbage, _) => keys(all),
            (_, PointInTimeRecovery) => keys(before),
            (
                Damage::TruncateMidRecord | Damage::TruncateAtRecordBoundary,
                SkipAnyCorruptedRecords,
            ) => keys(before.chain(after)),
            // The rest of the damaged block is skipped; these small logs fit
            // one block, so everything after the damage in that log is lost.
            (_, SkipAnyCorruptedRecords) => keys(before.chain(after)),
        }
    }
}

fn outcome(fs: &SimFs, mode: RecoveryMode) -> (Expect, Option<strata::RecoveryReport>) {
    let options = Options {
        recovery_mode: mode,
        create_if_missing: false,
        ..Options::default()
    };
    match Db::open_with_fs(Arc::new(fs.clone()), DIRECTORY, options) {
        Err(_) => (Expect::Fails, None),
        Ok(db) => {
            let present = db
                .iter()
                .map(|entry| {
                    let (key, _) = entry.unwrap();
                    String::from_utf8(key).unwrap()[3..].parse::<u64>().unwrap()
                })
                .collect();
            (Expect::Opens(present), Some(db.recovery_report().clone()))
        }
    }
}

#[test]
fn every_damage_in_the_newest_and_an_older_log_has_the_documented_outcome_in_every_mode() {
    let mut checked = 0;
    for damage_kind in ALL_DAMAGE {
        for in_newest in [true, false] {
            for mode in RecoveryMode::ALL {
                let (fs, paths, ends) = three_logs();
                let target = if in_newest { 2 } else { 1 };
                let mut bytes = fs.read_file(&paths[target]).unwrap();
                damage(&mut bytes, &ends[target], damage_kind);
                fs.set_file_bytes(&paths[target], &bytes).unwrap();
                let before: Vec<_> = fs.durable_snapshot().into_iter().collect();

                let (got, report) = outcome(&fs, mode);
                let want = expected(damage_kind, in_newest, mode);
                let context = format!(
                    "{damage_kind:?} in the {} log under {mode}",
                    if in_newest { "newest" } else { "older" }
                );
                assert_eq!(got, want, "{context}: {report:?}");
                match report {
                    None => {
                        // A failed open leaves the directory as it found it.
                        let after: Vec<_> = fs.durable_snapshot().into_iter().collect();
                        assert_eq!(after, before, "{context}: a failed open changed files");
                    }
                    Some(report) => {
                        let regions: Vec<_> =
                            report.dropped.iter().filter(|r| r.length > 0).collect();
                        assert_eq!(report.quarantined.len(), regions.len(), "{context}");
                        for (region, file) in regions.iter().zip(&report.quarantined) {
                            let original = before
                                .iter()
                                .find(|(path, _)| *path == region.file)
                                .map(|(_, bytes)| bytes)
                                .unwrap();
                            let kept = fs.read_file(file).unwrap();
                            let start = region.offset as usize;
                            assert_eq!(
                                kept,
                                original[start..start + region.length as usize],
                                "{context}"
                            );
                        }
                    }
                }
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 6 * 2 * 4);
}

#[test]
fn dry_run_reports_what_open_would_do_and_changes_nothing() {
    let (fs, paths, ends) = three_logs();
    let mut bytes = fs.read_file(&paths[1]).unwrap();
    damage(&mut bytes, &ends[1], Damage::FlipPayloadByte);
    fs.set_file_bytes(&paths[1], &bytes).unwrap();
    let before = fs.durable_snapshot();
    let options = Options::default();
    let report = Db::inspect_recovery_with_fs(&fs, DIRECTORY, &options).unwrap();
    assert!(report.dry_run);
    assert_eq!(fs.durable_snapshot(), before);
    let db = Db::open_with_fs(Arc::new(fs.clone()), DIRECTORY, options).unwrap();
    let opened = db.recovery_report();
    assert_eq!(opened.dropped, report.dropped);
    assert_eq!(opened.last_sequence, report.last_sequence);
    assert_eq!(report.last_sequence, 15);
}
