//! Tests of the read-only pass: one per decision it makes across logs.

#![allow(clippy::unwrap_used)]

use super::*;
use crate::fs::SimFs;
use crate::version::TableMeta;
use strata_wal::batch::BatchBuilder;
use strata_wal::{Writer, WriterOptions};

/// A log with batches `first..=last`, then (if `damaged`) garbage that
/// stops replay.
fn write_log(fs: &SimFs, path: &Path, first: u64, last: u64, damaged: bool) {
    let mut writer = Writer::new(Vec::new(), WriterOptions::default());
    for sequence in first..=last {
        writer
            .add_record(&BatchBuilder::new().put(b"k", b"v").finish(sequence))
            .unwrap();
    }
    let mut bytes = writer.into_inner();
    if damaged {
        bytes.extend_from_slice(&[1, 2, 3, 4, 5, 0, 1, 9, 9, 9, 9, 9]);
    }
    fs.write_file_durably(path, &bytes).unwrap();
}

fn state_with_table(largest_sequence: u64) -> VersionState {
    VersionState {
        log_number: 7,
        next_file_number: 9,
        flushed_sequence: 10,
        tables: vec![TableMeta {
            number: 5,
            size: 100,
            largest_sequence,
            smallest: Vec::new(),
            largest: Vec::new(),
            level: 0,
        }],
        logs: [7].into_iter().collect(),
    }
}

/// Found in review: the directory listing sorts names as strings, and a
/// binary search over it missed `1000000.log` after `999999.log`, so a
/// log on disk was reported missing (and then deleted by the open).
#[test]
fn logs_whose_numbers_differ_in_digit_count_are_all_found() {
    let fs = SimFs::new();
    let directory = Path::new("/db");
    write_log(&fs, &directory.join("999999.log"), 11, 12, false);
    write_log(&fs, &directory.join("1000000.log"), 13, 14, false);
    let state = VersionState {
        log_number: 999_999,
        next_file_number: 1_000_001,
        flushed_sequence: 10,
        tables: Vec::new(),
        logs: [999_999, 1_000_000].into_iter().collect(),
    };
    for mode in RecoveryMode::ALL {
        let plan = plan(&fs, directory, &state, mode, Checksum::Crc32).unwrap();
        assert_eq!(plan.report.last_sequence, 14, "{mode}");
        assert!(
            plan.report.dropped.is_empty(),
            "{mode}: {:?}",
            plan.report.dropped
        );
    }
}

/// Found in review: under SkipAny a batch older than one already applied
/// (here a stale marker at sequence 4 after 400..=402) moved the
/// recovered sequence backwards, below what the table would hold.
#[test]
fn skip_any_never_moves_the_recovered_sequence_backwards() {
    let fs = SimFs::new();
    let directory = Path::new("/db");
    let mut writer = Writer::new(Vec::new(), WriterOptions::default());
    for sequence in [1, 2, 3, 400, 401, 402, 4] {
        writer
            .add_record(&BatchBuilder::new().put(b"k", b"v").finish(sequence))
            .unwrap();
    }
    fs.write_file_durably(&directory.join("000007.log"), &writer.into_inner())
        .unwrap();
    let state = VersionState {
        log_number: 7,
        next_file_number: 8,
        ..VersionState::default()
    };
    let plan = plan(
        &fs,
        directory,
        &state,
        RecoveryMode::SkipAnyCorruptedRecords,
        Checksum::Crc32,
    )
    .unwrap();
    assert_eq!(plan.report.last_sequence, 402);
}

/// Found in the final review: a log with an intact batch holding an
/// operation Strata does not apply (here a RocksDB Merge) failed only
/// while the plan was applied — after quarantine files were written, and
/// naming a log that does not exist. Now the read-only pass refuses it.
#[test]
fn an_unsupported_operation_fails_the_read_only_pass_with_file_and_offset() {
    let fs = SimFs::new();
    let directory = Path::new("/db");
    let mut merge = BatchBuilder::new().put(b"k", b"v").finish(11);
    merge[8] = 2; // count: the put and the merge
    merge.extend_from_slice(&[0x2, 1, b'k', 1, b'+']);
    let mut writer = Writer::new(Vec::new(), WriterOptions::default());
    writer
        .add_record(&BatchBuilder::new().put(b"a", b"1").finish(10))
        .unwrap();
    let offset = writer.file_offset();
    writer.add_record(&merge).unwrap();
    fs.write_file_durably(&directory.join("000007.log"), &writer.into_inner())
        .unwrap();
    let state = VersionState {
        log_number: 7,
        next_file_number: 8,
        flushed_sequence: 9,
        ..VersionState::default()
    };
    for mode in RecoveryMode::ALL {
        let error = plan(&fs, directory, &state, mode, Checksum::Crc32).unwrap_err();
        let text = error.to_string();
        assert!(matches!(error, Error::Unsupported { .. }), "{mode}: {text}");
        assert!(
            text.contains("000007.log") && text.contains(&format!("offset {offset}")),
            "{text}"
        );
        assert!(text.contains("Merge"), "{text}");
    }
}

#[test]
fn point_in_time_refuses_when_a_table_is_ahead_of_the_stop_point() {
    let fs = SimFs::new();
    let directory = Path::new("/db");
    write_log(&fs, &directory.join("000007.log"), 11, 15, true);
    let mode = RecoveryMode::PointInTimeRecovery;
    let error = plan(&fs, directory, &state_with_table(40), mode, Checksum::Crc32).unwrap_err();
    assert!(
        error.to_string().contains("tables are ahead of the log"),
        "{error}"
    );
    // A table within the recovered range is fine.
    let plan = plan(&fs, directory, &state_with_table(12), mode, Checksum::Crc32).unwrap();
    assert_eq!(plan.report.last_sequence, 15);
}

#[test]
fn a_log_the_manifest_records_but_the_directory_lacks_is_a_gap() {
    let fs = SimFs::new();
    let directory = Path::new("/db");
    let mut state = state_with_table(10);
    state.logs.insert(8);
    write_log(&fs, &directory.join("000007.log"), 11, 12, false);
    for mode in [
        RecoveryMode::AbsoluteConsistency,
        RecoveryMode::TolerateCorruptedTailRecords,
    ] {
        let error = plan(&fs, directory, &state, mode, Checksum::Crc32).unwrap_err();
        assert!(error.to_string().contains("000008.log"), "{mode}: {error}");
    }
    let skip_any = plan(
        &fs,
        directory,
        &state,
        RecoveryMode::SkipAnyCorruptedRecords,
        Checksum::Crc32,
    )
    .unwrap();
    assert!(skip_any.report.dropped.iter().any(|region| {
        region.reason == DropReason::MissingLog && region.file.ends_with("000008.log")
    }));
}

#[test]
fn the_kept_batches_are_read_again_in_order_and_a_log_that_changed_is_an_error() {
    let fs = SimFs::new();
    let directory = Path::new("/db");
    let path = directory.join("000007.log");
    write_log(&fs, &path, 11, 15, true);
    let state = state_with_table(10);
    let mode = RecoveryMode::PointInTimeRecovery;
    let plan = plan(&fs, directory, &state, mode, Checksum::Crc32).unwrap();
    assert_eq!(plan.logs.len(), 1);
    assert_eq!(plan.logs[0].batches, 5);
    let mut sequences = Vec::new();
    for_each_kept_batch(&fs, &plan.logs[0], mode, Checksum::Crc32, |batch| {
        sequences.push(batch.sequence);
        Ok(())
    })
    .unwrap();
    assert_eq!(sequences, vec![11, 12, 13, 14, 15]);

    // A log that no longer holds what the plan read is an error, not a
    // different recovery.
    write_log(&fs, &path, 11, 13, false);
    let error =
        for_each_kept_batch(&fs, &plan.logs[0], mode, Checksum::Crc32, |_| Ok(())).unwrap_err();
    assert!(matches!(error, Error::Corruption { .. }), "{error}");
    assert!(error.to_string().contains("000007.log"), "{error}");
}

/// Under SkipAny the report used to say "sequences 11..=21 came from the
/// logs" when 13..=19 were lost in between; it now names the hole. Under
/// PointInTime the same gap ends the recovered range and is no hole.
#[test]
fn the_report_names_the_sequences_skip_any_lost() {
    let fs = SimFs::new();
    let directory = Path::new("/db");
    let mut writer = Writer::new(Vec::new(), WriterOptions::default());
    for sequence in [11, 12, 20, 21] {
        writer
            .add_record(&BatchBuilder::new().put(b"k", b"v").finish(sequence))
            .unwrap();
    }
    fs.write_file_durably(&directory.join("000007.log"), &writer.into_inner())
        .unwrap();
    let state = VersionState {
        log_number: 7,
        next_file_number: 8,
        flushed_sequence: 10,
        ..VersionState::default()
    };
    let skip_any = plan(
        &fs,
        directory,
        &state,
        RecoveryMode::SkipAnyCorruptedRecords,
        Checksum::Crc32,
    )
    .unwrap()
    .report;
    assert_eq!(skip_any.missing_sequences(), vec![(13, 19)]);
    let text = skip_any.to_string();
    assert!(
        text.contains("11..=21 came from the logs except 13..=19"),
        "{text}"
    );
    let point_in_time = plan(
        &fs,
        directory,
        &state,
        RecoveryMode::PointInTimeRecovery,
        Checksum::Crc32,
    )
    .unwrap()
    .report;
    assert_eq!(point_in_time.sequence_range, Some((11, 12)));
    assert!(point_in_time.missing_sequences().is_empty());
}
