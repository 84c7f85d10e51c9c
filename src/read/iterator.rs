//! Iteration over the whole database at one sequence number: a k-way merge
//! of the memtables and tables, newest version of each key first, deletions
//! hiding what they delete. Iterating from the back is a second merge
//! (`backward.rs`) over the same sources; the two halves meet in the middle.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};
use std::ops::Bound;
use std::sync::Arc;

use super::backward::Backward;
use crate::error::{Error, Result};
use crate::key::{self, Kind, MAX_SEQUENCE, SEEK_KIND};
use crate::memtable::MemTable;
use crate::read::level_entries::LevelEntries;
use crate::state::Sources;
use crate::table::TableEntries;

/// A key and its value, as the iterator yields them.
type Entry = (Vec<u8>, Vec<u8>);

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
///
/// It is double-ended: [`DoubleEndedIterator::next_back`] (and `.rev()`)
/// yield keys in descending order, and mixing `next` and `next_back` yields
/// each key once, as a `BTreeMap` range does. Reverse steps cost more than
/// forward ones through tables (see `read/backward.rs`).
///
/// ```
/// use strata::{Db, Options};
///
/// let directory = tempfile::tempdir()?;
/// let db = Db::open(directory.path(), Options::default())?;
/// for key in ["a", "b", "c", "d"] {
///     db.put(key, "value")?;
/// }
/// let mut keys = db.iter().map(|entry| entry.map(|(key, _)| key));
/// assert_eq!(keys.next_back().transpose()?, Some(b"d".to_vec()));
/// assert_eq!(keys.next().transpose()?, Some(b"a".to_vec()));
/// let middle: Vec<Vec<u8>> = keys.rev().collect::<Result<_, _>>()?;
/// assert_eq!(middle, [b"c".to_vec(), b"b".to_vec()]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct DbIterator {
    sources: Vec<Source>,
    heap: BinaryHeap<HeapEntry>,
    started: bool,
    sequence: u64,
    seek_key: Option<Vec<u8>>,
    start: Bound<Vec<u8>>,
    end: Bound<Vec<u8>>,
    last_user_key: Option<Vec<u8>>,
    /// The sources again, for the backward merge (started on first use).
    sources_for_back: Option<Arc<Sources>>,
    back: Option<Backward>,
    /// The last key the backward merge decided: the forward one stops there.
    back_last_user_key: Option<Vec<u8>>,
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
        sources: Arc<Sources>,
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
        } = sources.as_ref();
        let mut merged: Vec<Source> = std::iter::once(mem)
            .chain(immutable.iter().rev())
            .map(|table| Source::Mem {
                table: Arc::clone(table),
                buffer: VecDeque::new(),
                resume_after: None,
                exhausted: false,
            })
            .collect();
        merged.extend(
            tables
                .level(0)
                .iter()
                .rev()
                .map(|table| Source::Table(table.entries_from(seek_key.as_deref()))),
        );
        merged.extend((1..tables.count()).filter_map(|level| {
            let level = tables.level(level);
            (!level.is_empty())
                .then(|| Source::Level(LevelEntries::new(level, seek_key.as_deref())))
        }));
        DbIterator {
            sources: merged,
            heap: BinaryHeap::new(),
            started: false,
            sequence,
            seek_key,
            start,
            end,
            last_user_key: None,
            sources_for_back: Some(sources),
            back: None,
            back_last_user_key: None,
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
            sources_for_back: None,
            back: None,
            back_last_user_key: None,
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
            } || self
                .back_last_user_key
                .as_deref()
                .is_some_and(|back| user_key >= back);
            if past_end {
                return Ok(None);
            }
            if Kind::from_byte(kind) == Some(Kind::Value) {
                return Ok(Some((user_key.to_vec(), entry.value)));
            }
        }
        Ok(None)
    }

    /// The next key down that holds a value, stopping before the range's
    /// start and before any key the forward half already decided.
    fn advance_back(&mut self) -> Result<Option<Entry>> {
        if self.back.is_none() {
            let Some(sources) = self.sources_for_back.take() else {
                return Ok(None);
            };
            self.back = Some(Backward::new(&sources, &self.end));
        }
        let Some(back) = self.back.as_mut() else {
            return Ok(None);
        };
        let start = &self.start;
        let front = self.last_user_key.as_deref();
        let stop = |user_key: &[u8]| {
            let before_start = match start {
                Bound::Included(start) => user_key < start.as_slice(),
                Bound::Excluded(start) => user_key <= start.as_slice(),
                Bound::Unbounded => false,
            };
            before_start || front.is_some_and(|front| user_key <= front)
        };
        while let Some((user_key, value)) = back.next_key(self.sequence, &self.end, stop)? {
            self.back_last_user_key = Some(user_key.clone());
            if let Some(value) = value {
                return Ok(Some((user_key, value)));
            }
        }
        Ok(None)
    }

    /// Yields the refusal, or `step`'s outcome; ends the iterator (both
    /// ways) at its end or at an error.
    fn step(&mut self, step: fn(&mut Self) -> Result<Option<Entry>>) -> Option<Result<Entry>> {
        if self.finished {
            return None;
        }
        if let Some(error) = self.refused.take() {
            self.finished = true;
            return Some(Err(error));
        }
        let result = step(self);
        if !matches!(result, Ok(Some(_))) {
            self.finished = true;
        }
        result.transpose()
    }
}

impl Iterator for DbIterator {
    type Item = Result<(Vec<u8>, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        self.step(Self::advance)
    }
}

impl DoubleEndedIterator for DbIterator {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.step(Self::advance_back)
    }
}
