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
#[path = "plan_tests.rs"]
mod tests;
