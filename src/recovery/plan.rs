//! The read-only pass of recovery (DESIGN.md §5): read the MANIFEST's state
//! and every live log, and decide under the mode what to apply and what to
//! drop, or refuse before anything on disk changes. Every decision is
//! `strata_wal::policy`'s; this file only walks the logs.

use std::path::Path;

use strata_wal::policy::{self, Decision};
use strata_wal::{Checksum, LogEnd, ReaderOptions, RecoveryMode, ReplayedBatch};

use super::report::{DropReason, DroppedRegion, RecoveryReport};
use crate::error::{Error, RefusalReason, Result};
use crate::fs::FileSystem;
use crate::options::Options;
use crate::version::VersionState;
use crate::version::filename::{self, FileKind};
use crate::version::manifest;

/// The recovery plan for a directory: its MANIFEST's state and the
/// read-only pass over its logs, with a torn MANIFEST tail (if any) listed
/// first among the dropped regions so that it is quarantined too. A
/// directory without a database is a fresh state if `create_if_missing`.
pub(crate) fn plan_directory(
    fs: &dyn FileSystem,
    directory: &Path,
    options: &Options,
) -> Result<(VersionState, Plan)> {
    let (state, torn_manifest) = match manifest::read_current(fs, directory)? {
        None if !options.create_if_missing => {
            return Err(Error::NotFound {
                path: directory.to_path_buf(),
            });
        }
        None => {
            let fresh = VersionState {
                next_file_number: 1,
                ..VersionState::default()
            };
            (fresh, None)
        }
        Some(_) if options.error_if_exists => {
            return Err(Error::AlreadyExists {
                path: directory.to_path_buf(),
            });
        }
        Some(found) => found,
    };
    let mut plan = plan(
        fs,
        directory,
        &state,
        options.recovery_mode,
        Checksum::Crc32,
    )?;
    if let Some(region) = torn_manifest {
        plan.report.dropped.insert(0, region);
    }
    Ok((state, plan))
}

/// The outcome of the read-only pass.
#[derive(Debug)]
pub(crate) struct Plan {
    pub(crate) batches: Vec<ReplayedBatch>,
    pub(crate) report: RecoveryReport,
}

/// A refusal naming the region the mode would not drop.
fn refusal(mode: RecoveryMode, region: DroppedRegion) -> Error {
    Error::Refused {
        mode,
        file: region.file,
        offset: region.offset,
        reason: RefusalReason::Dropped(region.reason),
    }
}

/// Reads every live log and decides, under `mode`, what to apply.
pub(crate) fn plan(
    fs: &dyn FileSystem,
    directory: &Path,
    state: &VersionState,
    mode: RecoveryMode,
    checksum: Checksum,
) -> Result<Plan> {
    let listed = fs
        .list(directory)
        .map_err(|source| Error::io(directory, "list", source))?;
    let mut numbers: Vec<u64> = listed
        .iter()
        .filter_map(|name| match filename::parse(name) {
            Some(FileKind::Log(number)) if number >= state.log_number => Some(number),
            _ => None,
        })
        .collect();
    // Numeric order: a directory listing sorts names as strings, and
    // "1000000.log" < "999999.log" as strings.
    let mut on_disk = numbers.clone();
    on_disk.sort_unstable();
    numbers.extend(state.logs.iter().copied());
    numbers.sort_unstable();
    numbers.dedup();

    let mut expected = state.flushed_sequence + 1;
    let mut stopped = false; // PointInTimeRecovery stopped at a problem
    let mut batches = Vec::new();
    let mut logs = Vec::new();
    let mut dropped = Vec::new();

    for number in numbers {
        let path = directory.join(filename::log(number));
        if on_disk.binary_search(&number).is_err() {
            let region = DroppedRegion {
                file: path,
                offset: 0,
                length: 0,
                reason: DropReason::MissingLog,
                truncation: false,
            };
            match policy::on_discontinuity(mode) {
                Decision::Refuse => return Err(refusal(mode, region)),
                Decision::Stop => stopped = true,
                Decision::DropAndContinue => {}
            }
            dropped.push(region);
            continue;
        }
        let file = fs
            .open_read(&path)
            .map_err(|source| Error::io(&path, "open", source))?;
        let bytes = file
            .read_all()
            .map_err(|source| Error::io(&path, "read", source))?;
        let options = ReaderOptions {
            log_number: Some(number),
            checksum,
            ..ReaderOptions::default()
        };
        let replayed =
            strata_wal::replay(strata_wal::Reader::new(&bytes[..], options), mode, &path)
                .map_err(Error::from_replay)?;
        let mut report = replayed.report;
        let length = report.length;

        if stopped {
            // PointInTimeRecovery after a stop: a newer log is replayed only
            // if it continues the sequence exactly (RocksDB's rule).
            let continues = replayed
                .batches
                .first()
                .is_some_and(|batch| batch.sequence == expected);
            if !continues {
                if length > 0 {
                    dropped.push(DroppedRegion {
                        file: path.clone(),
                        offset: 0,
                        length,
                        reason: DropReason::DoesNotContinue { expected },
                        truncation: false,
                    });
                }
                logs.push(report);
                continue;
            }
            stopped = false;
        }

        for region in &report.dropped {
            dropped.push(DroppedRegion {
                file: path.clone(),
                offset: region.offset,
                length: region.length,
                reason: DropReason::Problem(region.kind.clone()),
                truncation: region.is_truncation(),
            });
        }
        // Decided here, in the read-only pass, so that an open that cannot
        // apply a batch fails before anything on disk changes.
        if let Some((offset, reason)) = replayed.batches.iter().find_map(|batch| {
            crate::write::batch::unsupported(&batch.payload).map(|reason| (batch.offset, reason))
        }) {
            return Err(Error::Unsupported {
                path,
                offset,
                reason,
            });
        }
        let mut kept = 0;
        for batch in &replayed.batches {
            if batch.sequence != expected {
                let reason = DropReason::SequenceGap {
                    expected,
                    found: batch.sequence,
                };
                match policy::on_discontinuity(mode) {
                    Decision::Refuse => {
                        return Err(Error::Refused {
                            mode,
                            file: path,
                            offset: batch.offset,
                            reason: RefusalReason::Dropped(reason),
                        });
                    }
                    Decision::Stop => {
                        // Stop at the gap: drop the rest of this log.
                        dropped
                            .retain(|region| region.file != path || region.offset < batch.offset);
                        dropped.push(DroppedRegion {
                            file: path.clone(),
                            offset: batch.offset,
                            length: length - batch.offset,
                            reason,
                            truncation: false,
                        });
                        stopped = true;
                        break;
                    }
                    Decision::DropAndContinue => dropped.push(DroppedRegion {
                        file: path.clone(),
                        offset: batch.offset,
                        length: 0,
                        reason,
                        truncation: false,
                    }),
                }
            }
            // Never backwards: under SkipAnyCorruptedRecords a batch older
            // than one already applied (a stale marker, a replayed batch)
            // must not lower the recovered sequence below what was applied.
            expected = expected.max(batch.next_sequence());
            kept += 1;
        }
        batches.extend(replayed.batches.into_iter().take(kept));
        if report.end == LogEnd::Stopped && policy::stops_replay(mode) {
            stopped = true;
        }
        report.batches = kept as u64;
        logs.push(report);
    }

    let last_sequence = expected - 1;
    if stopped
        && let Some(table) = state
            .tables
            .iter()
            .find(|table| table.largest_sequence > last_sequence)
    {
        return Err(Error::Refused {
            mode,
            file: directory.join(filename::table(table.number)),
            offset: 0,
            reason: RefusalReason::TablesAhead {
                recovered_sequence: last_sequence,
                table_sequence: table.largest_sequence,
            },
        });
    }
    let updates_applied = batches.iter().map(|batch| u64::from(batch.count)).sum();
    let sequence_range = match (batches.first(), batches.last()) {
        (Some(first), Some(last)) if last.next_sequence() > first.sequence => {
            Some((first.sequence, last.next_sequence() - 1))
        }
        _ => None,
    };
    let report = RecoveryReport {
        mode,
        dry_run: true,
        logs,
        batches_applied: batches.len() as u64,
        updates_applied,
        sequence_range,
        last_sequence,
        dropped,
        quarantined: Vec::new(),
    };
    Ok(Plan { batches, report })
}

#[cfg(test)]
mod tests {
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
}
