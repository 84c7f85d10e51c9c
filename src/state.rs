//! The live view of the database: the memtable being written, the full
//! memtables waiting for their flush, the tables, the last sequence, and
//! whether an earlier failure poisoned the database. One mutex guards it
//! (`Engine::state`). Readers do not take it: every change to what a read
//! consults publishes a new [`Sources`] (under the mutex, so in order), and
//! a read clones the published `Arc` under a read lock held for that clone.

use std::sync::Arc;

use parking_lot::RwLock;

use crate::error::{Error, Result};
use crate::levels::Levels;
use crate::memtable::MemTable;
use crate::table::TableHandle;
use crate::trace::event;
use crate::version::VersionState;

/// What a read consults: the memtable, then the immutable memtables newest
/// first, then the tables newest first. Holding one keeps every memtable and
/// table in it alive, so a read or an iterator is unaffected by flushes and
/// compactions that happen meanwhile.
pub(crate) struct Sources {
    /// The memtable being written.
    pub(crate) mem: Arc<MemTable>,
    /// Full memtables waiting for their flush, oldest first.
    pub(crate) immutable: Vec<Arc<MemTable>>,
    /// The tables by level.
    pub(crate) tables: Arc<Levels>,
}

impl Sources {
    fn of(mem: &Arc<MemTable>, immutable: &[Arc<MemTable>], tables: &Arc<Levels>) -> Arc<Sources> {
        Arc::new(Sources {
            mem: Arc::clone(mem),
            immutable: immutable.to_vec(),
            tables: Arc::clone(tables),
        })
    }
}

/// The last published [`Sources`], shared by the state (which replaces it)
/// and the readers (which clone it).
pub(crate) type Published = Arc<RwLock<Arc<Sources>>>;

pub(crate) struct State {
    /// The memtable being written. Only [`State::switch_memtable`] replaces
    /// it.
    pub(crate) mem: Arc<MemTable>,
    /// Full memtables waiting for their flush, oldest first. Changed only
    /// by [`State::switch_memtable`] and [`State::install_flushed`].
    pub(crate) immutable: Vec<Arc<MemTable>>,
    /// Open tables by level, as `version.tables` lists them. Replaced only
    /// by [`State::replace_tables`] and [`State::install_flushed`].
    pub(crate) tables: Arc<Levels>,
    /// What readers see: `mem`, `immutable` and `tables` as of the last
    /// change.
    pub(crate) published: Published,
    /// The live files, as the MANIFEST records them (changed by an edit
    /// only once it is durable, `version/live_manifest.rs`).
    pub(crate) version: VersionState,
    /// The first failure that left files in an unknown state.
    pub(crate) poisoned: Option<Error>,
    pub(crate) shutting_down: bool,
    /// The background thread runs a compaction (see `compaction/`).
    pub(crate) compacting: bool,
    /// `Db::compact_range` runs; the background thread holds off.
    pub(crate) manual_compaction: bool,
    /// Bytes written past a slowdown trigger whose delay has not been
    /// slept yet (see `write/log.rs`).
    pub(crate) slowdown_owed_bytes: u64,
}

impl State {
    /// A published view of a new state's sources, for [`State::published`].
    pub(crate) fn publish_first(
        mem: &Arc<MemTable>,
        immutable: &[Arc<MemTable>],
        tables: &Arc<Levels>,
    ) -> Published {
        Arc::new(RwLock::new(Sources::of(mem, immutable, tables)))
    }

    /// Makes the current sources the ones readers get. Called by every
    /// change to them, while the state mutex is held.
    fn publish(&self) {
        *self.published.write() = Sources::of(&self.mem, &self.immutable, &self.tables);
    }

    /// Installs a new set of tables: the current ones without `removed`,
    /// plus `added`. Readers holding the old set keep it.
    pub(crate) fn replace_tables(
        &mut self,
        removed: &[u64],
        added: Vec<Arc<TableHandle>>,
        num_levels: usize,
    ) {
        self.set_tables(removed, added, num_levels);
        self.publish();
    }

    fn set_tables(&mut self, removed: &[u64], added: Vec<Arc<TableHandle>>, num_levels: usize) {
        let kept = self
            .tables
            .all()
            .filter(|table| !removed.contains(&table.meta().number))
            .cloned();
        self.tables = Arc::new(Levels::new(kept.chain(added), num_levels));
    }

    /// The memtable is full: it joins the immutable ones and `fresh` takes
    /// its place.
    pub(crate) fn switch_memtable(&mut self, fresh: MemTable) {
        let full = std::mem::replace(&mut self.mem, Arc::new(fresh));
        self.immutable.push(full);
        self.publish();
    }

    /// The oldest immutable memtable is now the level-0 table `table`: both
    /// change in one publication, so no reader sees the writes twice or not
    /// at all.
    pub(crate) fn install_flushed(&mut self, table: Arc<TableHandle>, num_levels: usize) {
        self.set_tables(&[], vec![table], num_levels);
        self.immutable.remove(0);
        self.publish();
    }

    /// `Err(Poisoned)` once a failure poisoned the database.
    pub(crate) fn check_healthy(&self) -> Result<()> {
        match &self.poisoned {
            Some(cause) => Err(Error::Poisoned {
                cause: Box::new(cause.clone()),
            }),
            None => Ok(()),
        }
    }

    /// Records the first failure; later ones are consequences.
    pub(crate) fn poison(&mut self, error: &Error) {
        let first = match error {
            Error::Poisoned { cause } => cause.as_ref(),
            other => other,
        };
        if self.poisoned.is_none() {
            event!(
                error,
                target: "strata::write",
                error = %first,
                "the database is poisoned: writes fail until it is reopened"
            );
            self.poisoned = Some(first.clone());
        }
    }
}
