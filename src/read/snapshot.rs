//! Snapshots and the registry of live ones, which compaction consults so it
//! never discards a version a snapshot can still read.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use parking_lot::Mutex;

/// The sequences of live snapshots, with how many snapshots hold each.
#[derive(Debug, Default)]
pub(crate) struct SnapshotList {
    live: Mutex<BTreeMap<u64, usize>>,
}

impl SnapshotList {
    /// Registers a snapshot at the sequence `current` returns, atomically
    /// with respect to [`SnapshotList::smallest`].
    pub(crate) fn take(self: &Arc<Self>, current: impl FnOnce() -> u64) -> Snapshot {
        let mut live = self.live.lock();
        let sequence = current();
        *live.entry(sequence).or_insert(0) += 1;
        Snapshot {
            sequence,
            list: Arc::clone(self),
        }
    }

    /// The smallest sequence any reader may still read at: the oldest live
    /// snapshot, or `current` if that is older.
    pub(crate) fn smallest(&self, current: impl FnOnce() -> u64) -> u64 {
        let live = self.live.lock();
        let current = current();
        live.keys()
            .next()
            .map_or(current, |&oldest| oldest.min(current))
    }

    fn release(&self, sequence: u64) {
        let mut live = self.live.lock();
        if let Some(count) = live.get_mut(&sequence) {
            *count -= 1;
            if *count == 0 {
                live.remove(&sequence);
            }
        }
    }
}

/// A consistent point in the history: reads through it see exactly the
/// writes with a sequence number at or below [`Snapshot::sequence`]. While
/// it is alive, compaction keeps every version it can read.
pub struct Snapshot {
    sequence: u64,
    list: Arc<SnapshotList>,
}

impl Snapshot {
    /// Whether this snapshot was taken from the database that owns `list`.
    pub(crate) fn belongs_to(&self, list: &Arc<SnapshotList>) -> bool {
        Arc::ptr_eq(&self.list, list)
    }

    /// The last sequence number the snapshot sees.
    #[must_use]
    pub fn sequence(&self) -> u64 {
        self.sequence
    }
}

impl Clone for Snapshot {
    fn clone(&self) -> Self {
        self.list.take(|| self.sequence)
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
        let old = list.take(|| 10);
        let copy = old.clone();
        let newer = list.take(|| 30);
        assert_eq!(list.smallest(|| 50), 10);
        drop(old);
        assert_eq!(list.smallest(|| 50), 10, "a clone still holds 10");
        drop(copy);
        assert_eq!(list.smallest(|| 50), 30);
        drop(newer);
        assert_eq!(list.smallest(|| 50), 50);
    }
}
