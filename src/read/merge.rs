//! The forward merge's pieces: its sources (memtables read in chunks,
//! level-0 tables, deeper levels) and the heap entries it orders them by.

use std::cmp::Ordering;
use std::collections::VecDeque;
use std::ops::Bound;
use std::sync::Arc;

use crate::error::Result;
use crate::key;
use crate::memtable::MemTable;
use crate::read::level_entries::LevelEntries;
use crate::table::TableEntries;

/// Entries fetched from a memtable at a time.
const MEMTABLE_CHUNK: usize = 128;

/// One sorted source of internal entries.
pub(super) enum Source {
    Mem {
        table: Arc<MemTable>,
        buffer: VecDeque<(Vec<u8>, Vec<u8>)>,
        /// Resume strictly after this internal key.
        resume_after: Option<Vec<u8>>,
        exhausted: bool,
    },
    Table(TableEntries),
    Level(LevelEntries),
}

impl Source {
    /// The next entry into `key` and `value` (a table's reuse their
    /// allocations; a memtable's replace them).
    pub(super) fn next_into(
        &mut self,
        start: Option<&[u8]>,
        key: &mut Vec<u8>,
        value: &mut Vec<u8>,
    ) -> Option<Result<()>> {
        match self {
            Source::Mem {
                table,
                buffer,
                resume_after,
                exhausted,
            } => {
                if buffer.is_empty() && !*exhausted {
                    let from = match resume_after.as_deref() {
                        Some(key) => Bound::Excluded(key),
                        None => start.map_or(Bound::Unbounded, Bound::Included),
                    };
                    buffer.extend(table.chunk(from, MEMTABLE_CHUNK));
                    *exhausted = buffer.len() < MEMTABLE_CHUNK;
                    if let Some((key, _)) = buffer.back() {
                        *resume_after = Some(key.clone());
                    }
                }
                let (next_key, next_value) = buffer.pop_front()?;
                *key = next_key;
                *value = next_value;
                Some(Ok(()))
            }
            Source::Table(entries) => entries.next_into(key, value),
            Source::Level(entries) => entries.next_into(key, value),
        }
    }
}

/// An entry in a merge's heap, read from `sources[source]`. A forward
/// merge (`FORWARD`) puts the smallest internal key on top, a backward one
/// the largest; between equal keys, the lower source (the newer data)
/// comes first either way.
pub(super) struct HeapEntry<const FORWARD: bool> {
    pub(super) key: Vec<u8>,
    pub(super) value: Vec<u8>,
    pub(super) source: usize,
}

impl<const FORWARD: bool> Ord for HeapEntry<FORWARD> {
    fn cmp(&self, other: &Self) -> Ordering {
        // BinaryHeap is a max-heap: going forward, the smallest key must
        // be the greatest entry.
        let keys = key::compare(&self.key, &other.key);
        let keys = if FORWARD { keys.reverse() } else { keys };
        keys.then_with(|| other.source.cmp(&self.source))
    }
}

impl<const FORWARD: bool> PartialOrd for HeapEntry<FORWARD> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<const FORWARD: bool> PartialEq for HeapEntry<FORWARD> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl<const FORWARD: bool> Eq for HeapEntry<FORWARD> {}
