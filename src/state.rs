//! The live view of the database: the memtable being written, the full
//! memtables waiting for their flush, the tables, the last sequence, and
//! whether an earlier failure poisoned the database. One mutex guards it
//! (`Engine::state`); readers copy out a [`Sources`] and let go.

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::memtable::MemTable;
use crate::table::TableHandle;
use crate::version::{LogWriter, VersionState};

/// What a read consults: the memtable, then the immutable memtables newest
/// first, then the tables newest first. Holding one keeps every memtable and
/// table in it alive, so a read or an iterator is unaffected by flushes and
/// compactions that happen meanwhile.
#[derive(Clone)]
pub(crate) struct Sources {
    /// The memtable being written.
    pub(crate) mem: Arc<MemTable>,
    /// Full memtables waiting for their flush, oldest first.
    pub(crate) immutable: Vec<Arc<MemTable>>,
    /// The tables, oldest first.
    pub(crate) tables: Arc<Vec<Arc<TableHandle>>>,
}

pub(crate) struct State {
    pub(crate) mem: Arc<MemTable>,
    /// Full memtables waiting for their flush, oldest first.
    pub(crate) immutable: Vec<Arc<MemTable>>,
    /// Open tables, in the order of `version.tables`.
    pub(crate) tables: Arc<Vec<Arc<TableHandle>>>,
    /// The live files, as the MANIFEST records them.
    pub(crate) version: VersionState,
    /// The MANIFEST, open for appending edits, and its number.
    pub(crate) manifest: LogWriter,
    pub(crate) manifest_number: u64,
    /// The last sequence assigned to a write that is in the memtable.
    pub(crate) last_sequence: u64,
    /// The first failure that left files in an unknown state.
    pub(crate) poisoned: Option<Error>,
    pub(crate) shutting_down: bool,
    /// The flush thread is merging tables (see `Engine::maybe_compact`).
    pub(crate) compacting: bool,
}

impl State {
    pub(crate) fn sources(&self) -> Sources {
        Sources {
            mem: Arc::clone(&self.mem),
            immutable: self.immutable.clone(),
            tables: Arc::clone(&self.tables),
        }
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
        self.poisoned.get_or_insert_with(|| first.clone());
    }
}
