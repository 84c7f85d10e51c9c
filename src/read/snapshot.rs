//! Snapshots and the registry of live ones, which compaction consults so it
//! never discards a version a snapshot can still read; reads through a
//! snapshot.

use std::fmt;
use std::sync::{Arc, Weak};

use super::iterator::DbIterator;
use super::key_range::{KeyRange, prefix_bounds};
use super::snapshot_list::SnapshotList;
use crate::engine::Engine;
use crate::error::{Error, Result};

/// A consistent point in the history: reads through it see exactly the
/// writes with a sequence number at or below [`Snapshot::sequence`]. While
/// it is alive, compaction keeps every version it can read.
///
/// A snapshot does not keep its database open: once the [`crate::Db`] is
/// dropped or closed (releasing its `LOCK`), reads through the snapshot
/// fail with [`Error::InvalidArgument`]. Iterators already made keep
/// working: they hold the memtables and tables they read.
///
/// ```
/// use strata::{Db, Options};
///
/// let directory = tempfile::tempdir()?;
/// let db = Db::open(directory.path(), Options::default())?;
/// db.put("config/mode", "old")?;
/// let snapshot = db.snapshot();
/// db.put("config/mode", "new")?;
/// db.put("config/size", "9")?;
/// assert_eq!(snapshot.get("config/mode")?, Some(b"old".to_vec()));
/// assert_eq!(snapshot.prefix("config/").count(), 1);
/// assert_eq!(db.prefix("config/").count(), 2);
/// drop(db);
/// assert!(snapshot.get("config/mode").is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Snapshot {
    sequence: u64,
    list: Arc<SnapshotList>,
    /// The database read through; not kept alive by the snapshot.
    engine: Weak<Engine>,
}

impl Snapshot {
    /// Registers a snapshot of `engine` at the sequence `current` returns.
    pub(crate) fn take(
        list: &Arc<SnapshotList>,
        engine: Weak<Engine>,
        current: impl FnOnce() -> u64,
    ) -> Snapshot {
        Snapshot {
            sequence: list.register(current),
            list: Arc::clone(list),
            engine,
        }
    }

    /// Whether this snapshot was taken from the database that owns `list`.
    pub(crate) fn belongs_to(&self, list: &Arc<SnapshotList>) -> bool {
        Arc::ptr_eq(&self.list, list)
    }

    /// The last sequence number the snapshot sees.
    #[must_use]
    pub fn sequence(&self) -> u64 {
        self.sequence
    }

    /// The value of `key` as of this snapshot.
    pub fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>> {
        let engine = self.engine()?;
        engine.get(&engine.sources(), key.as_ref(), self.sequence)
    }

    /// All keys and values in key order, as of this snapshot.
    #[must_use]
    pub fn iter(&self) -> DbIterator {
        self.range(..)
    }

    /// The keys in `range` and their values, in key order, as of this
    /// snapshot (the spellings of [`crate::Db::range`]).
    pub fn range<K, R: KeyRange<K>>(&self, range: R) -> DbIterator {
        match self.engine() {
            Ok(engine) => {
                let (start, end) = range.into_key_bounds();
                DbIterator::new(engine.sources(), self.sequence, start, end)
            }
            Err(error) => DbIterator::failed(error),
        }
    }

    /// The keys that start with `prefix` and their values, in key order,
    /// as of this snapshot.
    pub fn prefix(&self, prefix: impl AsRef<[u8]>) -> DbIterator {
        self.range(prefix_bounds(prefix.as_ref()))
    }

    /// The database, if it is still open.
    fn engine(&self) -> Result<Arc<Engine>> {
        self.engine.upgrade().ok_or_else(|| {
            Error::InvalidArgument(format!(
                "the snapshot at sequence {} was read after its database was closed; \
                 read through snapshots before dropping or closing the Db",
                self.sequence
            ))
        })
    }
}

impl Clone for Snapshot {
    fn clone(&self) -> Self {
        Snapshot::take(&self.list, Weak::clone(&self.engine), || self.sequence)
    }
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        self.list.release(self.sequence);
    }
}

impl fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Snapshot")
            .field("sequence", &self.sequence)
            .finish()
    }
}

impl PartialEq for Snapshot {
    fn eq(&self, other: &Self) -> bool {
        self.sequence == other.sequence
    }
}

impl Eq for Snapshot {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smallest_follows_the_oldest_live_snapshot() {
        let list = Arc::new(SnapshotList::default());
        assert_eq!(list.smallest(|| 50), 50);
        let old = Snapshot::take(&list, Weak::new(), || 10);
        let copy = old.clone();
        let newer = Snapshot::take(&list, Weak::new(), || 30);
        assert_eq!(list.smallest(|| 50), 10);
        drop(old);
        assert_eq!(list.smallest(|| 50), 10, "a clone still holds 10");
        drop(copy);
        assert_eq!(list.smallest(|| 50), 30);
        drop(newer);
        assert_eq!(list.smallest(|| 50), 50);
    }
}
