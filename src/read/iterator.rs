//! Iteration over the whole database at one sequence number: a k-way merge
//! of the memtables and tables, newest version of each key first, deletions
//! hiding what they delete. Iterating from the back is a second merge
//! (`backward.rs`) over the same sources; the two halves meet in the middle.

use std::collections::binary_heap::PeekMut;
use std::collections::{BinaryHeap, VecDeque};
use std::ops::Bound;
use std::sync::Arc;

use super::backward::Backward;
use super::merge::{HeapEntry, Source};
use crate::error::{Error, Result};
use crate::key::{self, Kind, MAX_SEQUENCE, SEEK_KIND};
use crate::read::level_entries::LevelEntries;
use crate::state::Sources;

/// A key and its value, as the iterator yields them.
type Entry = (Vec<u8>, Vec<u8>);

/// An entry to yield, in the buffers it was merged in: the internal key
/// (its first `user_key_len` bytes are the user key) and the value.
struct Merged {
    key: Vec<u8>,
    user_key_len: usize,
    value: Vec<u8>,
}

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
    heap: BinaryHeap<HeapEntry<true>>,
    /// Buffers of popped entries, refilled by the next source read: a
    /// skipped version costs no allocation, a yielded entry one (its value).
    spare: Vec<(Vec<u8>, Vec<u8>)>,
    /// The buffers of the entry [`DbIterator::next_ref`] lent last.
    lent: (Vec<u8>, Vec<u8>),
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
            spare: Vec::new(),
            lent: (Vec::new(), Vec::new()),
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
            spare: Vec::new(),
            lent: (Vec::new(), Vec::new()),
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
        let (mut key, mut value) = self.spare.pop().unwrap_or_default();
        match self.sources[source].next_into(self.seek_key.as_deref(), &mut key, &mut value) {
            Some(moved) => {
                moved?;
                self.heap.push(HeapEntry { key, value, source });
            }
            None => self.spare.push((key, value)),
        }
        Ok(())
    }

    fn advance(&mut self) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        let Some(merged) = self.advance_raw()? else {
            return Ok(None);
        };
        let user_key = merged.key[..merged.user_key_len].to_vec();
        // The key's buffer is reused; the value leaves with the entry.
        self.spare.push((merged.key, Vec::new()));
        Ok(Some((user_key, merged.value)))
    }

    /// The next entry to yield going forward. The caller hands its buffers
    /// back to `spare`.
    fn advance_raw(&mut self) -> Result<Option<Merged>> {
        if !self.started {
            self.started = true;
            for source in 0..self.sources.len() {
                self.refill(source)?;
            }
        }
        while let Some(mut top) = self.heap.peek_mut() {
            // The smallest entry leaves the heap and its source's next one
            // takes its place: one sift down, where a pop and a push would
            // cost two walks of the heap.
            let (mut key, mut value) = self.spare.pop().unwrap_or_default();
            std::mem::swap(&mut key, &mut top.key);
            std::mem::swap(&mut value, &mut top.value);
            let entry = &mut *top;
            match self.sources[entry.source].next_into(
                self.seek_key.as_deref(),
                &mut entry.key,
                &mut entry.value,
            ) {
                Some(Ok(())) => drop(top),
                Some(Err(error)) => {
                    PeekMut::pop(top);
                    return Err(error);
                }
                None => {
                    let emptied = PeekMut::pop(top);
                    self.spare.push((emptied.key, emptied.value));
                }
            }
            let Some((user_key, sequence, kind)) = key::decode(&key) else {
                self.spare.push((key, value));
                continue;
            };
            if sequence > self.sequence || self.last_user_key.as_deref() == Some(user_key) {
                // Newer than the snapshot, or an older version of a key
                // already decided.
                self.spare.push((key, value));
                continue;
            }
            remember(&mut self.last_user_key, user_key);
            if let Bound::Excluded(start) = &self.start
                && user_key == start.as_slice()
            {
                self.spare.push((key, value));
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
                let user_key_len = user_key.len();
                return Ok(Some(Merged {
                    key,
                    user_key_len,
                    value,
                }));
            }
            self.spare.push((key, value));
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

    /// The next entry going forward, as [`Iterator::next`] yields it, but
    /// lent rather than copied: the key and value borrow the iterator until
    /// the next call, so a scan allocates nothing per entry (RocksDB's
    /// iterator `key()` and `value()`). Mixes with `next` and `next_back`
    /// as `next` does.
    ///
    /// ```
    /// use strata::{Db, Options};
    ///
    /// let directory = tempfile::tempdir()?;
    /// let db = Db::open(directory.path(), Options::default())?;
    /// db.put("a", "1")?;
    /// db.put("b", "2")?;
    /// let mut entries = db.iter();
    /// let mut total = 0;
    /// while let Some(entry) = entries.next_ref() {
    ///     let (key, value) = entry?;
    ///     total += key.len() + value.len();
    /// }
    /// assert_eq!(total, 4);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn next_ref(&mut self) -> Option<Result<(&[u8], &[u8])>> {
        if self.finished {
            return None;
        }
        if let Some(error) = self.refused.take() {
            self.finished = true;
            return Some(Err(error));
        }
        match self.advance_raw() {
            Ok(Some(Merged {
                key,
                user_key_len,
                value,
            })) => {
                let (old_key, old_value) = std::mem::replace(&mut self.lent, (key, value));
                self.spare.push((old_key, old_value));
                Some(Ok((&self.lent.0[..user_key_len], &self.lent.1)))
            }
            Ok(None) => {
                self.finished = true;
                None
            }
            Err(error) => {
                self.finished = true;
                Some(Err(error))
            }
        }
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

/// Sets `last` to `user_key`, reusing its allocation.
fn remember(last: &mut Option<Vec<u8>>, user_key: &[u8]) {
    match last {
        Some(buffer) => {
            buffer.clear();
            buffer.extend_from_slice(user_key);
        }
        None => *last = Some(user_key.to_vec()),
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
