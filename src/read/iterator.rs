//! Iteration over the whole database at one sequence number: a k-way merge
//! of the memtables and tables, newest version of each key first, deletions
//! hiding what they delete.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};
use std::ops::Bound;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::key::{self, Kind, MAX_SEQUENCE, SEEK_KIND};
use crate::memtable::MemTable;
use crate::read::level_entries::LevelEntries;
use crate::state::Sources;
use crate::table::TableEntries;

/// Entries fetched from a memtable at a time.
const MEMTABLE_CHUNK: usize = 128;

/// One sorted source of internal entries.
enum Source {
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
    fn next(&mut self, start: Option<&[u8]>) -> Option<Result<(Vec<u8>, Vec<u8>)>> {
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
                buffer.pop_front().map(Ok)
            }
            Source::Table(entries) => entries.next(),
            Source::Level(entries) => entries.next(),
        }
    }
}

struct HeapEntry {
    key: Vec<u8>,
    value: Vec<u8>,
    source: usize,
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

/// An iterator over `(key, value)` pairs in key order, as of one snapshot.
/// Items are `Result`s because a table read can find damaged bytes; after
/// an error the iterator ends.
pub struct DbIterator {
    sources: Vec<Source>,
    heap: BinaryHeap<HeapEntry>,
    started: bool,
    sequence: u64,
    seek_key: Option<Vec<u8>>,
    start: Bound<Vec<u8>>,
    end: Bound<Vec<u8>>,
    last_user_key: Option<Vec<u8>>,
    finished: bool,
    /// An error to yield before anything else (a misused snapshot).
    refused: Option<Error>,
}

impl std::fmt::Debug for DbIterator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbIterator")
            .field("sequence", &self.sequence)
            .finish_non_exhaustive()
    }
}

impl DbIterator {
    pub(crate) fn new(
        sources: Sources,
        sequence: u64,
        start: Bound<Vec<u8>>,
        end: Bound<Vec<u8>>,
    ) -> Self {
        let seek_key = match &start {
            Bound::Included(key) | Bound::Excluded(key) => {
                Some(key::encode(key, MAX_SEQUENCE, SEEK_KIND))
            }
            Bound::Unbounded => None,
        };
        let Sources {
            mem,
            immutable,
            tables,
        } = sources;
        let mut sources: Vec<Source> = std::iter::once(mem)
            .chain(immutable.into_iter().rev())
            .map(|table| Source::Mem {
                table,
                buffer: VecDeque::new(),
                resume_after: None,
                exhausted: false,
            })
            .collect();
        sources.extend(
            tables
                .level(0)
                .iter()
                .rev()
                .map(|table| Source::Table(table.entries_from(seek_key.as_deref()))),
        );
        sources.extend((1..tables.count()).filter_map(|level| {
            let level = tables.level(level);
            (!level.is_empty())
                .then(|| Source::Level(LevelEntries::new(level, seek_key.as_deref())))
        }));
        DbIterator {
            sources,
            heap: BinaryHeap::new(),
            started: false,
            sequence,
            seek_key,
            start,
            end,
            last_user_key: None,
            finished: false,
            refused: None,
        }
    }

    /// An iterator that yields `error` and ends.
    pub(crate) fn failed(error: Error) -> Self {
        DbIterator {
            sources: Vec::new(),
            heap: BinaryHeap::new(),
            started: true,
            sequence: 0,
            seek_key: None,
            start: Bound::Unbounded,
            end: Bound::Unbounded,
            last_user_key: None,
            finished: false,
            refused: Some(error),
        }
    }

    fn refill(&mut self, source: usize) -> Result<()> {
        if let Some(entry) = self.sources[source].next(self.seek_key.as_deref()) {
            let (key, value) = entry?;
            self.heap.push(HeapEntry { key, value, source });
        }
        Ok(())
    }

    fn advance(&mut self) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        if !self.started {
            self.started = true;
            for source in 0..self.sources.len() {
                self.refill(source)?;
            }
        }
        while let Some(entry) = self.heap.pop() {
            self.refill(entry.source)?;
            let Some((user_key, sequence, kind)) = key::decode(&entry.key) else {
                continue;
            };
            if sequence > self.sequence {
                continue;
            }
            if self.last_user_key.as_deref() == Some(user_key) {
                continue; // an older version of a key already decided
            }
            self.last_user_key = Some(user_key.to_vec());
            if let Bound::Excluded(start) = &self.start
                && user_key == start.as_slice()
            {
                continue;
            }
            let past_end = match &self.end {
                Bound::Included(end) => user_key > end.as_slice(),
                Bound::Excluded(end) => user_key >= end.as_slice(),
                Bound::Unbounded => false,
            };
            if past_end {
                return Ok(None);
            }
            if Kind::from_byte(kind) == Some(Kind::Value) {
                return Ok(Some((user_key.to_vec(), entry.value)));
            }
        }
        Ok(None)
    }
}

impl Iterator for DbIterator {
    type Item = Result<(Vec<u8>, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        if let Some(error) = self.refused.take() {
            self.finished = true;
            return Some(Err(error));
        }
        let result = self.advance();
        if !matches!(result, Ok(Some(_))) {
            self.finished = true;
        }
        result.transpose()
    }
}
