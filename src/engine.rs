//! The engine shared by a [`crate::Db`] handle and its background thread:
//! the directory, the options, the write queue, the MANIFEST, the live state
//! and the live log, each behind its own lock. The steps of the data flow are `impl
//! Engine` blocks in their own files: `write/` (group commit, log rotation),
//! `read/get.rs`, `flush.rs`, `compaction.rs`; opening is `recovery/apply.rs`.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::{Condvar, Mutex};

use crate::error::Error;
use crate::fs::{FileLock, FileSystem};
use crate::options::Options;
use crate::read::snapshot_list::SnapshotList;
use crate::recovery::RecoveryReport;
use crate::state::{Published, State};
use crate::stats::Counters;
use crate::table::TableContext;
use crate::version::live_manifest::LiveManifest;
use crate::write::live_log::LiveLog;
use crate::write::queue::WriteQueue;

pub(crate) struct Engine {
    pub(crate) directory: PathBuf,
    pub(crate) fs: Arc<dyn FileSystem>,
    pub(crate) options: Options,
    pub(crate) _lock: Box<dyn FileLock>,
    pub(crate) queue: Mutex<WriteQueue>,
    pub(crate) queue_changed: Condvar,
    /// Wakes a leader waiting for writers to join its synced group.
    pub(crate) group_gathered: Condvar,
    /// The MANIFEST edits are appended to. Taken before `log` and
    /// `state`, never while holding either (see `version/live_manifest.rs`).
    pub(crate) manifest: Mutex<LiveManifest>,
    pub(crate) state: Mutex<State>,
    pub(crate) state_changed: Condvar,
    /// What reads consult, as the state last published it
    /// ([`State::published`], the same lock).
    pub(crate) published: Published,
    /// The log writes append to. Taken after `manifest` and before
    /// `state`.
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
}
