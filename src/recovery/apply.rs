//! Applying a recovery plan: quarantine, level-0 tables of the recovered
//! writes, a new log that starts with a synced marker batch, a new MANIFEST,
//! CURRENT, and only then removal of what became obsolete. Every step is
//! ordered so that a crash at any point recovers the same state.
//!
//! The recovered writes are streamed from the logs into a sort buffer
//! (`sort_buffer`) that is written as a level-0 table each time it reaches
//! `write_buffer_size` as a memtable counts it, so memory stays bounded by
//! the write buffer whatever the logs' size. Each
//! table is durable when written, but only the new MANIFEST names them, all
//! at once; until CURRENT names that MANIFEST the old logs stay, and a crash
//! in between leaves orphan tables that the next open removes as obsolete
//! after recovering the same writes again.

use std::path::Path;
use std::sync::Arc;

use strata_wal::batch::BatchBuilder;
use strata_wal::{Writer, WriterOptions};

use super::plan::{Plan, for_each_kept_batch};
use super::quarantine::quarantine;
use super::report::RecoveryReport;
use super::sort_buffer::SortBuffer;
use crate::directory::{remove_obsolete, sync_dir};
use crate::error::{Error, Result};
use crate::fs::FileSystem;
use crate::levels::Levels;
use crate::memtable::MemTable;
use crate::options::Options;
use crate::state::State;
use crate::table::{self, TableContext, TableHandle};
use crate::trace::event;
use crate::version::filename;
use crate::version::live_manifest::LiveManifest;
use crate::version::manifest;
use crate::version::{TableMeta, VersionEdit, VersionState};
use crate::write::batch::for_each_write;
use crate::write::live_log::LiveLog;

/// What an applied plan leaves: the live state, the new log, the report.
pub(crate) struct Opened {
    pub(crate) manifest: LiveManifest,
    pub(crate) state: State,
    pub(crate) log: LiveLog,
    pub(crate) report: RecoveryReport,
}

pub(crate) fn apply(
    fs: &dyn FileSystem,
    directory: &Path,
    options: &Options,
    tables: &Arc<TableContext>,
    mut version: VersionState,
    plan: Plan,
) -> Result<Opened> {
    let Plan {
        logs,
        checksum,
        mut report,
    } = plan;
    report.dry_run = false;
    #[cfg(feature = "tracing")]
    for region in &report.dropped {
        event!(
            warn,
            target: "strata::recovery",
            file = %region.file.display(),
            offset = region.offset,
            length = region.length,
            reason = %region.reason,
            mode = %report.mode,
            "recovery drops a region of a log"
        );
    }
    report.quarantined = quarantine(fs, directory, &report)?;

    // The recovered writes go to level-0 tables, so every old log becomes
    // obsolete (as RocksDB does unless avoid_flush_during_recovery is set).
    let mut new_tables = Vec::new();
    let mut buffer = SortBuffer::new();
    let mut progress = Progress::new(logs.iter().map(|log| log.end_offset).sum());
    for log in &logs {
        let mut batches = 0u64;
        for_each_kept_batch(fs, log, report.mode, checksum, |batch| {
            // The plan already refused batches Strata cannot apply.
            for_each_write(batch.payload, |key, sequence, kind, value| {
                buffer.insert(key, sequence, kind, value);
            })?;
            batches += 1;
            progress.at(batch.end_offset);
            if !buffer.is_empty() && buffer.approximate_bytes() >= options.write_buffer_size {
                new_tables.push(write_level0(
                    fs,
                    directory,
                    options,
                    &mut version,
                    &mut buffer,
                )?);
            }
            Ok(())
        })?;
        progress.log_done(log.end_offset);
        event!(
            info,
            target: "strata::recovery",
            file = %log.path.display(),
            batches,
            bytes = log.end_offset,
            "recovered a log"
        );
    }
    if !buffer.is_empty() {
        new_tables.push(write_level0(
            fs,
            directory,
            options,
            &mut version,
            &mut buffer,
        )?);
    }

    // A new log that starts with a synced, empty marker batch at the next
    // sequence: recovery never appends to a log whose tail it did not verify.
    let last_sequence = report.last_sequence;
    let log_number = version.next_file_number;
    version.next_file_number += 1;
    let log_path = directory.join(filename::log(log_number));
    let file = fs
        .create(&log_path)
        .map_err(|source| Error::io(&log_path, "create", source))?;
    let mut log = Writer::new(file, WriterOptions::default());
    let marker = BatchBuilder::new().finish(last_sequence + 1);
    log.add_record(&marker)
        .and_then(|()| log.sync())
        .map_err(|source| Error::io(&log_path, "write", source))?;
    sync_dir(fs, directory)?;

    // A new MANIFEST holding the whole state, then CURRENT.
    let manifest_number = version.next_file_number;
    version.next_file_number += 1;
    version.apply(&VersionEdit {
        log_number: Some(log_number),
        next_file_number: Some(version.next_file_number),
        flushed_sequence: Some(last_sequence),
        new_tables,
        deleted_tables: Vec::new(),
        new_logs: vec![log_number],
    });
    let manifest = manifest::create(fs, directory, manifest_number, &version)?;
    manifest::set_current(fs, directory, manifest_number)?;

    // Now the old logs, the old MANIFEST and any orphan are obsolete.
    remove_obsolete(fs, directory, &version, manifest_number)?;

    let tables = version
        .tables
        .iter()
        .map(|meta| TableHandle::open(tables, meta))
        .collect::<Result<Vec<_>>>()?;
    let tables = Arc::new(Levels::new(tables, options.num_levels));
    let mem = Arc::new(MemTable::new(log_number));
    Ok(Opened {
        manifest: LiveManifest {
            writer: manifest,
            number: manifest_number,
        },
        state: State {
            published: State::publish_first(&mem, &[], &tables),
            mem,
            immutable: Vec::new(),
            tables,
            version,
            poisoned: None,
            shutting_down: false,
            compacting: false,
            manual_compaction: false,
            slowdown_owed_bytes: 0,
        },
        log: LiveLog {
            writer: log,
            number: log_number,
            unlisted: Vec::new(),
            prefilled: 0,
        },
        report,
    })
}

/// Writes the buffered writes as a level-0 table under the next file
/// number, durably, and empties the buffer.
fn write_level0(
    fs: &dyn FileSystem,
    directory: &Path,
    options: &Options,
    version: &mut VersionState,
    buffer: &mut SortBuffer,
) -> Result<TableMeta> {
    let number = version.next_file_number;
    version.next_file_number += 1;
    let meta = table::build(fs, directory, number, &buffer.sort(), options)?;
    buffer.clear();
    event!(
        info,
        target: "strata::recovery",
        table = %directory.join(filename::table(meta.number)).display(),
        bytes = meta.size,
        "recovery wrote a level-0 table"
    );
    Ok(meta)
}

/// Progress of the apply step in log bytes, reported as an event each time
/// another [`Progress::STEP`] bytes are done and when the last log is.
struct Progress {
    total: u64,
    /// Bytes of the logs finished before the current one.
    finished: u64,
    /// `done` at the last event.
    reported: u64,
}

impl Progress {
    const STEP: u64 = 64 << 20;

    fn new(total: u64) -> Progress {
        Progress {
            total,
            finished: 0,
            reported: 0,
        }
    }

    /// The current log has been read up to `offset`.
    fn at(&mut self, offset: u64) {
        let done = self.finished + offset;
        if done >= self.reported + Self::STEP {
            self.report(done);
        }
    }

    /// The current log, `length` bytes to apply, is done.
    fn log_done(&mut self, length: u64) {
        self.finished += length;
        if self.finished == self.total && self.reported < self.total {
            self.report(self.total);
        }
    }

    fn report(&mut self, done: u64) {
        self.reported = done;
        event!(
            info,
            target: "strata::recovery",
            done_bytes = done,
            total_bytes = self.total,
            "recovery progress"
        );
    }
}
