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

pub(super) struct HeapEntry {
    pub(super) key: Vec<u8>,
    pub(super) value: Vec<u8>,
    pub(super) source: usize,
}

impl Ord for HeapEntry {
    fn cmp(&self, other: &Self) -> Ordering {
        // BinaryHeap is a max-heap: the smallest internal key must be greatest.
        key::compare(&other.key, &self.key).then_with(|| other.source.cmp(&self.source))
    }
}

impl PartialOrd for HeapEntry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for HeapEntry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for HeapEntry {}
