//! The registry of live snapshots, which compaction consults so it never
//! discards a version a snapshot can still read.

use std::collections::BTreeMap;

use parking_lot::Mutex;

/// The sequences of live snapshots, with how many snapshots hold each.
#[derive(Debug, Default)]
pub(crate) struct SnapshotList {
    live: Mutex<BTreeMap<u64, usize>>,
}

impl SnapshotList {
    /// Registers a snapshot at the sequence `current` returns, atomically
    /// with respect to [`SnapshotList::smallest`], and returns that sequence.
    pub(crate) fn register(&self, current: impl FnOnce() -> u64) -> u64 {
        let mut live = self.live.lock();
        let sequence = current();
        *live.entry(sequence).or_insert(0) += 1;
        sequence
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

    /// Forgets one snapshot at `sequence`.
    pub(crate) fn release(&self, sequence: u64) {
        let mut live = self.live.lock();
        if let Some(count) = live.get_mut(&sequence) {
            *count -= 1;
            if *count == 0 {
                live.remove(&sequence);
            }
        }
    }
}
