//! The read-only pass of recovery (DESIGN.md §5): read the MANIFEST's state
//! and every live log, and decide under the mode what to apply and what to
//! drop, or refuse before anything on disk changes. Every decision is
//! `strata_wal::policy`'s; this file only walks the logs.
//!
//! Logs are streamed, never held whole: the pass keeps, per log, only how
//! many of its batches to apply and where the last one ends, and the apply
//! step reads those batches again ([`for_each_kept_batch`]). Memory is a
//! read buffer and one record, whatever the logs' size.

use std::convert::Infallible;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use strata_wal::policy::{self, Decision};
use strata_wal::{Checksum, LentBatch, LogEnd, Reader, ReaderOptions, RecoveryMode};

use super::report::{DropReason, DroppedRegion, RecoveryReport};
use crate::error::{Error, RefusalReason, Result};
use crate::fs::{FileBlocks, FileSystem};
use crate::options::Options;
use crate::version::filename::{self, FileKind};
use crate::version::manifest;
use crate::version::{MAX_NUMBER, VersionState};

/// The recovery plan for a directory: its MANIFEST's state and the
/// read-only pass over its logs, with a torn MANIFEST tail (if any) listed
/// first among the dropped regions so that it is quarantined too. A
/// directory without a database is a fresh state if `create_if_missing`.
pub(crate) fn plan_directory(
    fs: &dyn FileSystem,
    directory: &Path,
    options: &Options,
) -> Result<(VersionState, Plan)> {
    let (mut state, torn_manifest) = match manifest::read_current(fs, directory)? {
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
    number_past_files(fs, directory, &mut state)?;
    manifest::check_tables(fs, directory, &state)?;
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

/// Raises `state.next_file_number` past every numbered file in
/// `directory`. A log a memtable switch created is listed in the MANIFEST
/// (with the file number past it) only before its first sync, so a crash
/// can leave logs, and tables of a flush that never finished, numbered at
/// or past the MANIFEST's next file number. Recovery replays such logs;
/// the files it creates must not reuse their names.
fn number_past_files(
    fs: &dyn FileSystem,
    directory: &Path,
    state: &mut VersionState,
) -> Result<()> {
    let names = match fs.list(directory) {
        Ok(names) => names,
        // A directory that does not exist yet holds no files.
        Err(source) if source.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => return Err(Error::io(directory, "list", source)),
    };
    for name in &names {
        let number = match filename::parse(name) {
            Some(FileKind::Log(number) | FileKind::Table(number) | FileKind::Manifest(number)) => {
                number
            }
            _ => continue,
        };
        // The MANIFEST's own bound: numbers past it could not be recorded.
        if number > MAX_NUMBER {
            return Err(Error::Corruption {
                path: directory.join(name),
                offset: 0,
                reason: format!(
                    "the file number {number} in the name is past the largest a database uses \
                     ({MAX_NUMBER})"
                ),
            });
        }
        state.next_file_number = state.next_file_number.max(number + 1);
    }
    Ok(())
}

/// The outcome of the read-only pass.
#[derive(Debug)]
pub(crate) struct Plan {
    /// The logs with batches to apply, in replay order.
    pub(crate) logs: Vec<LogPlan>,
    /// The checksum algorithm of the logs.
    pub(crate) checksum: Checksum,
    pub(crate) report: RecoveryReport,
}

/// What applying one log means: its first `batches` batches, as replay
/// under the plan's mode yields them. The payloads are not kept; they are
/// read again when the plan is applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LogPlan {
    pub(crate) path: PathBuf,
    pub(crate) number: u64,
    /// How many batches to apply, counted from the log's first (at least 1).
    pub(crate) batches: u64,
    /// File offset just past the last batch to apply.
    pub(crate) end_offset: u64,
}

fn reader_options(number: u64, checksum: Checksum) -> ReaderOptions {
    ReaderOptions {
        log_number: Some(number),
        checksum,
        ..ReaderOptions::default()
    }
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
    let mut planned = Vec::new();
    let mut logs = Vec::new();
    let mut dropped = Vec::new();
    let mut batches_applied = 0u64;
    let mut updates_applied = 0u64;
    let mut first_applied: Option<u64> = None;
    let mut next_after_applied: Option<u64> = None;

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
        let reader = Reader::with_source(FileBlocks::new(file), reader_options(number, checksum));

        // Decided batch by batch as the log streams by; only the decisions
        // are kept.
        let entering_stopped = stopped;
        let expected_at_entry = expected;
        let mut seen = 0u64;
        // PointInTimeRecovery after a stop: a newer log is replayed only if
        // it continues the sequence exactly (RocksDB's rule).
        let mut continues = !entering_stopped;
        let mut kept = 0u64;
        // Batches holding updates: the empty marker batch a new log starts
        // with is applied (it carries the sequence) but not reported.
        let mut kept_with_updates = 0u64;
        let mut kept_end = 0u64;
        let mut gaps = Vec::new();
        let mut gap_stop: Option<(u64, DropReason)> = None;
        let mut refused: Option<Error> = None;
        let mut unsupported: Option<(u64, String)> = None;
        let outcome = strata_wal::replay_each(reader, mode, &path, |batch| {
            seen += 1;
            if entering_stopped && seen == 1 {
                continues = batch.sequence == expected;
            }
            if !continues {
                // Read on only to learn the log's length.
                return ControlFlow::<Infallible>::Continue(());
            }
            // Decided here, in the read-only pass, so that an open that
            // cannot apply a batch fails before anything on disk changes.
            if unsupported.is_none()
                && let Some(reason) = crate::write::batch::unsupported(batch.payload)
            {
                unsupported = Some((batch.offset, reason));
            }
            if gap_stop.is_some() || refused.is_some() {
                return ControlFlow::Continue(());
            }
            if batch.sequence != expected {
                let reason = DropReason::SequenceGap {
                    expected,
                    found: batch.sequence,
                };
                match policy::on_discontinuity(mode) {
                    Decision::Refuse => {
                        refused = Some(Error::Refused {
                            mode,
                            file: path.clone(),
                            offset: batch.offset,
                            reason: RefusalReason::Dropped(reason),
                        });
                        return ControlFlow::Continue(());
                    }
                    Decision::Stop => {
                        // Stop at the gap: drop the rest of this log.
                        gap_stop = Some((batch.offset, reason));
                        return ControlFlow::Continue(());
                    }
                    Decision::DropAndContinue => gaps.push(DroppedRegion {
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
            if batch.count > 0 {
                kept_with_updates += 1;
            }
            kept_end = batch.end_offset;
            updates_applied += u64::from(batch.count);
            first_applied.get_or_insert(batch.sequence);
            next_after_applied = Some(batch.next_sequence());
            ControlFlow::Continue(())
        });
        let mut report = match outcome.map_err(Error::from_replay)? {
            ControlFlow::Continue(report) => report,
            ControlFlow::Break(never) => match never {},
        };
        let length = report.length;

        if !continues {
            if length > 0 {
                dropped.push(DroppedRegion {
                    file: path.clone(),
                    offset: 0,
                    length,
                    reason: DropReason::DoesNotContinue {
                        expected: expected_at_entry,
                    },
                    truncation: false,
                });
            }
            logs.push(report);
            continue;
        }
        stopped = false;

        let stop_offset = gap_stop.as_ref().map_or(u64::MAX, |(offset, _)| *offset);
        for region in report.dropped.iter().filter(|r| r.offset < stop_offset) {
            dropped.push(DroppedRegion {
                file: path.clone(),
                offset: region.offset,
                length: region.length,
                reason: DropReason::Problem(region.kind.clone()),
                truncation: region.is_truncation(),
            });
        }
        if let Some((offset, reason)) = unsupported {
            return Err(Error::Unsupported {
                path,
                offset,
                reason,
            });
        }
        if let Some(error) = refused {
            return Err(error);
        }
        dropped.extend(gaps);
        if let Some((offset, reason)) = gap_stop {
            dropped.push(DroppedRegion {
                file: path.clone(),
                offset,
                length: length - offset,
                reason,
                truncation: false,
            });
            stopped = true;
        }
        if report.end == LogEnd::Stopped && policy::stops_replay(mode) {
            stopped = true;
        }
        report.batches = kept_with_updates;
        logs.push(report);
        batches_applied += kept_with_updates;
        if kept > 0 {
            planned.push(LogPlan {
                path,
                number,
                batches: kept,
                end_offset: kept_end,
            });
        }
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
    let sequence_range = match (first_applied, next_after_applied) {
        (Some(first), Some(next)) if next > first => Some((first, next - 1)),
        _ => None,
    };
    let report = RecoveryReport {
        mode,
        dry_run: true,
        logs,
        batches_applied,
        updates_applied,
        sequence_range,
        last_sequence,
        dropped,
        quarantined: Vec::new(),
    };
    Ok(Plan {
        logs: planned,
        checksum,
        report,
    })
}

/// Streams the batches the plan keeps of `log` to `apply`, in order,
/// reading the log again under the same mode: one read buffer and one
/// record in memory at a time. The first error of `apply` ends the read
/// and is returned. The log must still hold what the read-only pass read
/// (the open holds the directory's lock); if it does not, that is an error,
/// not a different recovery.
pub(crate) fn for_each_kept_batch(
    fs: &dyn FileSystem,
    log: &LogPlan,
    mode: RecoveryMode,
    checksum: Checksum,
    mut apply: impl FnMut(LentBatch<'_>) -> Result<()>,
) -> Result<()> {
    let file = fs
        .open_read(&log.path)
        .map_err(|source| Error::io(&log.path, "open", source))?;
    let reader = Reader::with_source(FileBlocks::new(file), reader_options(log.number, checksum));
    let mut seen = 0u64;
    let outcome = strata_wal::replay_each(reader, mode, &log.path, |batch| {
        seen += 1;
        let end_offset = batch.end_offset;
        if let Err(error) = apply(batch) {
            return ControlFlow::Break(Err(error));
        }
        if seen == log.batches {
            ControlFlow::Break(Ok(end_offset))
        } else {
            ControlFlow::Continue(())
        }
    })
    .map_err(Error::from_replay)?;
    match outcome {
        ControlFlow::Break(Ok(end_offset)) if end_offset == log.end_offset => Ok(()),
        ControlFlow::Break(Err(error)) => Err(error),
        _ => Err(Error::Corruption {
            path: log.path.clone(),
            offset: log.end_offset,
            reason: format!(
                "the log no longer holds the {} batches ending here that recovery planned to apply",
                log.batches
            ),
        }),
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
