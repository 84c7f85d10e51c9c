//! The MANIFEST a running database appends its edits to, behind its own
//! lock (`Engine::manifest`) so that no edit's sync holds the state lock
//! that writers, the flush thread and compaction take.
//!
//! An edit goes in three steps, all under the MANIFEST's lock:
//! 1. under the state lock, the edit is made from the current state (and
//!    whatever it needs, such as a file number, is taken);
//! 2. with the state lock released, the edit is appended and synced
//!    ([`Engine::log_edit`]);
//! 3. under the state lock again, the edit is applied to the state's version
//!    and its result installed ([`Engine::apply_logged`]).
//!
//! Holding the MANIFEST's lock throughout keeps edits logged and applied in
//! one order, and nothing another edit changes can change in between: every
//! change to the version or the tables goes through an edit. A memtable
//! switch does not: it takes the next file number under the state lock and
//! appends a memtable, which no edit's decisions depend on; its new log is
//! listed later, by an edit of its own (`Engine::list_logs`).
//!
//! Lock order: the MANIFEST's, then the live log's, then the state's; a
//! thread holding the state lock never waits for the MANIFEST's (RocksDB's
//! `LogAndApply` also releases the DB mutex while it writes the MANIFEST).

use crate::directory::remove_files;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::state::State;
use crate::version::VersionEdit;
use crate::version::filename;
use crate::version::manifest::{self, LogWriter, MAX_MANIFEST_BYTES};

/// The MANIFEST being appended to and its number.
pub(crate) struct LiveManifest {
    pub(crate) writer: LogWriter,
    pub(crate) number: u64,
}

impl Engine {
    /// Appends `edit` to the MANIFEST and syncs it; the caller holds the
    /// MANIFEST's lock (`manifest`) and not the state's. A failure poisons
    /// the database: the MANIFEST's state is unknown.
    pub(crate) fn log_edit(&self, manifest: &mut LiveManifest, edit: &VersionEdit) -> Result<()> {
        let path = self.directory.join(filename::manifest(manifest.number));
        let written = manifest
            .writer
            .add_record(&edit.encode())
            .and_then(|()| manifest.writer.sync())
            .map_err(|source| Error::io(path, "append to", source));
        if let Err(error) = &written {
            self.poison(error);
        }
        written
    }

    /// Applies an edit [`Engine::log_edit`] made durable to the state's
    /// version; then, if the MANIFEST has grown past
    /// `max_manifest_file_size`, rolls it over. Runs under both locks. A
    /// failed roll-over poisons the database.
    pub(crate) fn apply_logged(
        &self,
        manifest: &mut LiveManifest,
        state: &mut State,
        edit: &VersionEdit,
    ) -> Result<()> {
        state.version.apply(edit);
        let limit = self
            .options
            .max_manifest_file_size
            .min(MAX_MANIFEST_BYTES / 2);
        if manifest.writer.file_offset() <= limit {
            return Ok(());
        }
        let rolled = self.roll_manifest(manifest, state);
        if let Err(error) = &rolled {
            state.poison(error);
            self.state_changed.notify_all();
        }
        rolled
    }

    /// Replaces the MANIFEST by a new one whose first edit is a snapshot of
    /// the current version: the new MANIFEST (numbered from
    /// `next_file_number`, which the snapshot records bumped) is written and
    /// synced, CURRENT is switched to it atomically, and only then is the
    /// old one removed. A crash before CURRENT is switched leaves the old
    /// MANIFEST in charge and the new one an orphan the next open removes;
    /// after it, the old one is the orphan.
    fn roll_manifest(&self, manifest: &mut LiveManifest, state: &mut State) -> Result<()> {
        let fs = self.fs.as_ref();
        let number = state.version.next_file_number;
        state.version.next_file_number += 1;
        let writer = manifest::create(fs, &self.directory, number, &state.version)?;
        manifest::set_current(fs, &self.directory, number)?;
        let old_number = std::mem::replace(&mut manifest.number, number);
        drop(std::mem::replace(&mut manifest.writer, writer));
        remove_files(fs, &self.directory, &[filename::manifest(old_number)])
    }
}
