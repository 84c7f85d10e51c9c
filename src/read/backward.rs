//! Reverse iteration: the sources of a [`DbIterator`] merged in descending
//! internal-key order. In that order a user key's versions come oldest
//! first, so a key is decided only once all of its versions are seen.
//!
//! Cost: a memtable is copied out in chunks, as forward; a table steps back
//! with its iterator's `prev`, which re-decodes its data block from the
//! nearest restart point, so a reverse step through a table costs up to
//! the restart interval (16) forward steps.
//!
//! [`DbIterator`]: super::iterator::DbIterator

use std::collections::{BinaryHeap, VecDeque};
use std::ops::Bound;
use std::sync::Arc;

use crate::error::Result;
use crate::key::{self, Kind, MAX_SEQUENCE, SEEK_KIND};
use crate::memtable::MemTable;
use crate::read::level_entries::LevelEntriesBackward;
use crate::read::merge::HeapEntry;
use crate::state::Sources;
use crate::table::TableEntriesBackward;

/// Entries fetched from a memtable at a time.
const MEMTABLE_CHUNK: usize = 128;

/// One source of internal entries, in descending order.
enum Source {
    Mem {
        table: Arc<MemTable>,
        buffer: VecDeque<(Vec<u8>, Vec<u8>)>,
        /// Resume strictly before this internal key.
        resume_before: Option<Vec<u8>>,
        exhausted: bool,
    },
    Table(TableEntriesBackward),
    Level(LevelEntriesBackward),
}

impl Source {
    fn next(&mut self, seek_key: Option<&[u8]>) -> Option<Result<(Vec<u8>, Vec<u8>)>> {
        match self {
            Source::Mem {
                table,
                buffer,
                resume_before,
                exhausted,
            } => {
                if buffer.is_empty() && !*exhausted {
                    let to = match resume_before.as_deref() {
                        Some(key) => Bound::Excluded(key),
                        None => seek_key.map_or(Bound::Unbounded, Bound::Included),
                    };
                    buffer.extend(table.chunk_before(to, MEMTABLE_CHUNK));
                    *exhausted = buffer.len() < MEMTABLE_CHUNK;
                    if let Some((key, _)) = buffer.back() {
                        *resume_before = Some(key.clone());
                    }
                }
                buffer.pop_front().map(Ok)
            }
            Source::Table(entries) => entries.next(),
            Source::Level(entries) => entries.next(),
        }
    }
}

/// A user key decided by the backward merge: its value, or `None` if its
/// visible version is a deletion.
pub(crate) type Decided = (Vec<u8>, Option<Vec<u8>>);

/// The backward merge of one iterator's sources.
pub(crate) struct Backward {
    sources: Vec<Source>,
    heap: BinaryHeap<HeapEntry<false>>,
    /// Where each source starts (the largest internal key of the range's
    /// end), `None` for the sources' ends.
    seek_key: Option<Vec<u8>>,
    started: bool,
}

impl Backward {
    /// A merge of `sources` (the newest first, as forward) from the end of
    /// the range down.
    pub(crate) fn new(sources: &Sources, end: &Bound<Vec<u8>>) -> Self {
        let seek_key = match end {
            // Every version of the key sorts at or before (key, 0, 0).
            Bound::Included(key) => Some(key::encode(key, 0, 0)),
            // Every version of the key sorts after its seek key.
            Bound::Excluded(key) => Some(key::encode(key, MAX_SEQUENCE, SEEK_KIND)),
            Bound::Unbounded => None,
        };
        let Sources {
            mem,
            immutable,
            tables,
        } = sources;
        let mut merged: Vec<Source> = std::iter::once(mem)
            .chain(immutable.iter().rev())
            .map(|table| Source::Mem {
                table: Arc::clone(table),
                buffer: VecDeque::new(),
                resume_before: None,
                exhausted: false,
            })
            .collect();
        // Level 0 newest first, then one cursor per deeper level.
        merged.extend(
            tables
                .level(0)
                .iter()
                .rev()
                .map(|table| Source::Table(table.entries_before(seek_key.as_deref()))),
        );
        merged.extend((1..tables.count()).filter_map(|level| {
            let level = tables.level(level);
            (!level.is_empty())
                .then(|| Source::Level(LevelEntriesBackward::new(level, seek_key.as_deref())))
        }));
        Backward {
            sources: merged,
            heap: BinaryHeap::new(),
            seek_key,
            started: false,
        }
    }

    fn refill(&mut self, source: usize) -> Result<()> {
        if let Some(entry) = self.sources[source].next(self.seek_key.as_deref()) {
            let (key, value) = entry?;
            self.heap.push(HeapEntry { key, value, source });
        }
        Ok(())
    }

    /// The next user key down that has a version visible at `sequence`,
    /// skipping keys past `end`; `None` at the first key for which `stop`
    /// holds (the range's start, or where the forward half got to).
    pub(crate) fn next_key(
        &mut self,
        sequence: u64,
        end: &Bound<Vec<u8>>,
        stop: impl Fn(&[u8]) -> bool,
    ) -> Result<Option<Decided>> {
        if !self.started {
            self.started = true;
            for source in 0..self.sources.len() {
                self.refill(source)?;
            }
        }
        loop {
            let Some(top) = self.heap.peek() else {
                return Ok(None);
            };
            let Some((user_key, _, _)) = key::decode(&top.key) else {
                // Not an internal key: skipped, as the forward merge does.
                if let Some(entry) = self.heap.pop() {
                    self.refill(entry.source)?;
                }
                continue;
            };
            let user_key = user_key.to_vec();
            if stop(&user_key) {
                return Ok(None);
            }
            // The key's versions, oldest first; the newest visible wins.
            let mut visible: Option<(u64, u8, Vec<u8>)> = None;
            while self.heap.peek().is_some_and(|top| {
                key::decode(&top.key).is_some_and(|(key, _, _)| key == user_key.as_slice())
            }) {
                let Some(entry) = self.heap.pop() else {
                    break;
                };
                self.refill(entry.source)?;
                let Some((_, version, kind)) = key::decode(&entry.key) else {
                    continue;
                };
                let newer = visible
                    .as_ref()
                    .is_none_or(|(newest, _, _)| version > *newest);
                if version <= sequence && newer {
                    visible = Some((version, kind, entry.value));
                }
            }
            let past_end = match end {
                Bound::Included(end) => user_key > *end,
                Bound::Excluded(end) => user_key >= *end,
                Bound::Unbounded => false,
            };
            if past_end {
                continue;
            }
            if let Some((_, kind, value)) = visible {
                let value = (Kind::from_byte(kind) == Some(Kind::Value)).then_some(value);
                return Ok(Some((user_key, value)));
            }
        }
    }
}
