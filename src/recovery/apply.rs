//! Applying a recovery plan: quarantine, a level-0 table of the recovered
//! writes, a new log that starts with a synced marker batch, a new MANIFEST,
//! CURRENT, and only then removal of what became obsolete. Every step is
//! ordered so that a crash at any point recovers the same state.

use std::path::Path;
use std::sync::Arc;

use strata_sstable::BlockCache;
use strata_wal::batch::BatchBuilder;
use strata_wal::{Writer, WriterOptions};

use super::plan::Plan;
use super::quarantine::quarantine;
use super::report::RecoveryReport;
use crate::directory::{remove_obsolete, sync_dir};
use crate::error::{Error, Result};
use crate::fs::FileSystem;
use crate::levels::Levels;
use crate::memtable::MemTable;
use crate::options::Options;
use crate::state::State;
use crate::table::{self, TableHandle};
use crate::version::filename;
use crate::version::manifest;
use crate::version::{VersionEdit, VersionState};
use crate::write::batch::apply_to_memtable;
use crate::write::log::LiveLog;

/// What an applied plan leaves: the live state, the new log, the report.
pub(crate) struct Opened {
    pub(crate) state: State,
    pub(crate) log: LiveLog,
    pub(crate) report: RecoveryReport,
}

pub(crate) fn apply(
    fs: &dyn FileSystem,
    directory: &Path,
    options: &Options,
    cache: &Arc<BlockCache>,
    mut version: VersionState,
    plan: Plan,
) -> Result<Opened> {
    let Plan {
        batches,
        mut report,
    } = plan;
    report.dry_run = false;
    report.quarantined = quarantine(fs, directory, &report)?;

    // The recovered writes go to a level-0 table, so every old log becomes
    // obsolete (as RocksDB does unless avoid_flush_during_recovery is set).
    let mem = MemTable::new(0);
    for batch in &batches {
        // The plan already refused batches Strata cannot apply.
        apply_to_memtable(&mem, &batch.payload)?;
    }
    let mut new_tables = Vec::new();
    if !mem.is_empty() {
        let number = version.next_file_number;
        version.next_file_number += 1;
        new_tables.push(table::build(fs, directory, number, &mem, options)?);
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
        .map(|meta| TableHandle::open(fs, directory, meta, cache).map(Arc::new))
        .collect::<Result<Vec<_>>>()?;
    let tables = Levels::new(tables, options.num_levels);
    Ok(Opened {
        state: State {
            mem: Arc::new(MemTable::new(log_number)),
            immutable: Vec::new(),
            tables: Arc::new(tables),
            version,
            manifest,
            manifest_number,
            last_sequence,
            poisoned: None,
            shutting_down: false,
            compacting: false,
            manual_compaction: false,
            compact_pointers: Vec::new(),
        },
        log: LiveLog {
            writer: log,
            number: log_number,
        },
        report,
    })
}
