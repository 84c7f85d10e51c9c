//! The engine shared by a [`crate::Db`] handle and its background thread:
//! the directory, the options, the write queue, the live state and the live
//! log, each behind its own lock. The steps of the data flow are `impl
//! Engine` blocks in their own files: `write/` (group commit, log rotation),
//! `read/get.rs`, `flush.rs`, `compaction.rs`; opening is `recovery/apply.rs`.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::{Condvar, Mutex};

use crate::directory::remove_files;
use crate::error::{Error, Result};
use crate::fs::{FileLock, FileSystem};
use crate::options::Options;
use crate::read::snapshot_list::SnapshotList;
use crate::recovery::RecoveryReport;
use crate::state::{Published, State};
use crate::stats::Counters;
use crate::table::TableContext;
use crate::version::VersionEdit;
use crate::version::filename;
use crate::version::manifest::{self, MAX_MANIFEST_BYTES};
use crate::write::live_log::LiveLog;
use crate::write::queue::WriteQueue;

pub(crate) struct Engine {
    pub(crate) directory: PathBuf,
    pub(crate) fs: Arc<dyn FileSystem>,
    pub(crate) options: Options,
    pub(crate) _lock: Box<dyn FileLock>,
    pub(crate) queue: Mutex<WriteQueue>,
    pub(crate) queue_changed: Condvar,
    pub(crate) state: Mutex<State>,
    pub(crate) state_changed: Condvar,
    /// What reads consult, as the state last published it
    /// ([`State::published`], the same lock).
    pub(crate) published: Published,
    pub(crate) log: Mutex<LiveLog>,
    /// The last sequence whose writes are all in the memtable.
    pub(crate) visible_sequence: AtomicU64,
    pub(crate) snapshots: Arc<SnapshotList>,
    /// What every table handle shares: the block cache, the table cache.
    pub(crate) tables: Arc<TableContext>,
    pub(crate) report: RecoveryReport,
    pub(crate) counters: Counters,
}

impl Engine {
    pub(crate) fn visible(&self) -> u64 {
        self.visible_sequence.load(Ordering::Acquire)
    }

    /// Refuses further writes until reopen, waking whoever waits on the
    /// state.
    pub(crate) fn poison(&self, error: &Error) {
        self.state.lock().poison(error);
        self.state_changed.notify_all();
    }

    /// Appends an edit to the MANIFEST, syncs it, and applies it to the
    /// state's version; then, if the MANIFEST has grown past
    /// `max_manifest_file_size`, rolls it over ([`Engine::roll_manifest`]).
    /// A failure poisons the database: the MANIFEST's state is unknown.
    pub(crate) fn append_edit(&self, state: &mut State, edit: &VersionEdit) -> Result<()> {
        let result = self.try_append_edit(state, edit);
        if let Err(error) = &result {
            state.poison(error);
            self.state_changed.notify_all();
        }
        result
    }

    fn try_append_edit(&self, state: &mut State, edit: &VersionEdit) -> Result<()> {
        let path = self
            .directory
            .join(filename::manifest(state.manifest_number));
        state
            .manifest
            .add_record(&edit.encode())
            .and_then(|()| state.manifest.sync())
            .map_err(|source| Error::io(path, "append to", source))?;
        state.version.apply(edit);
        let limit = self
            .options
            .max_manifest_file_size
            .min(MAX_MANIFEST_BYTES / 2);
        if state.manifest.file_offset() > limit {
            self.roll_manifest(state)?;
        }
        Ok(())
    }

    /// Replaces the MANIFEST by a new one whose first edit is a snapshot of
    /// the current version: the new MANIFEST (numbered from
    /// `next_file_number`, which the snapshot records bumped) is written and
    /// synced, CURRENT is switched to it atomically, and only then is the
    /// old one removed. A crash before CURRENT is switched leaves the old
    /// MANIFEST in charge and the new one an orphan the next open removes;
    /// after it, the old one is the orphan.
    fn roll_manifest(&self, state: &mut State) -> Result<()> {
        let fs = self.fs.as_ref();
        let number = state.version.next_file_number;
        state.version.next_file_number += 1;
        let manifest = manifest::create(fs, &self.directory, number, &state.version)?;
        manifest::set_current(fs, &self.directory, number)?;
        let old_number = std::mem::replace(&mut state.manifest_number, number);
        drop(std::mem::replace(&mut state.manifest, manifest));
        remove_files(fs, &self.directory, &[filename::manifest(old_number)])
    }
}
