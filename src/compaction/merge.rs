//! The merge of a compaction: the inputs' entries in internal-key order,
//! minus what no reader can see any more, cut into tables at user-key
//! boundaries where `cut.rs` says (about `target_file_size_base`, earlier
//! at the boundaries of the tables below the output level).
//!
//! The rules (LevelDB's): a version is dropped when a newer version of its
//! key, also in the inputs, is visible at `smallest_snapshot` (the oldest
//! sequence any reader may use); a deletion visible there is dropped when no
//! deeper level can hold an older version of its key.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::collections::binary_heap::PeekMut;
use std::path::Path;

use super::cut::Cutter;
use super::pick::Compaction;
use crate::error::{Error, Result};
use crate::fs::FileSystem;
use crate::key::{self, Kind};
use crate::levels::Levels;
use crate::options::Options;
use crate::read::level_entries::LevelEntries;
use crate::table::{TableEntries, TableWriter};
use crate::version::TableMeta;

/// One sorted run of the inputs.
enum Run {
    Table(TableEntries),
    Level(LevelEntries),
}

impl Run {
    /// The next entry into `key` and `value` (allocations reused).
    fn next_into(&mut self, key: &mut Vec<u8>, value: &mut Vec<u8>) -> Option<Result<()>> {
        match self {
            Run::Table(entries) => entries.next_into(key, value),
            Run::Level(entries) => entries.next_into(key, value),
        }
    }
}

/// A run's current entry, ordered by internal key, then by run (a lower
/// run is newer: level-0 tables newest first, then the deeper runs).
struct Head {
    key: Vec<u8>,
    value: Vec<u8>,
    run: usize,
}

impl Ord for Head {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        key::compare(&self.key, &other.key).then(self.run.cmp(&other.run))
    }
}

impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Head {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for Head {}

/// What a compaction needs besides its inputs.
pub(crate) struct MergeContext<'a> {
    pub(crate) fs: &'a dyn FileSystem,
    pub(crate) directory: &'a Path,
    pub(crate) options: &'a Options,
    /// The tables as they were when the compaction was picked (deeper levels
    /// do not change while it runs: only compaction changes them).
    pub(crate) levels: &'a Levels,
    pub(crate) smallest_snapshot: u64,
    /// Hands out a file number per output table.
    pub(crate) new_file_number: &'a mut dyn FnMut() -> u64,
}

/// Merges the compaction's inputs into new tables at its output level.
pub(crate) fn merge(compaction: &Compaction, context: MergeContext<'_>) -> Result<Vec<TableMeta>> {
    let MergeContext {
        fs,
        directory,
        options,
        levels,
        smallest_snapshot,
        new_file_number,
    } = context;
    let output_level = compaction.output_level;
    let mut runs: Vec<Run> = Vec::new();
    if compaction.level == 0 {
        runs.extend(
            compaction
                .inputs
                .iter()
                .rev()
                .map(|table| Run::Table(table.entries_uncached())),
        );
    } else {
        runs.push(Run::Level(LevelEntries::uncached(&compaction.inputs)));
    }
    runs.push(Run::Level(LevelEntries::uncached(&compaction.next_inputs)));

    let mut heap = BinaryHeap::new();
    for (index, run) in runs.iter_mut().enumerate() {
        let (mut key, mut value) = (Vec::new(), Vec::new());
        if let Some(moved) = run.next_into(&mut key, &mut value) {
            moved?;
            heap.push(Reverse(Head {
                key,
                value,
                run: index,
            }));
        }
    }

    let mut outputs = Vec::new();
    let mut writer: Option<(TableWriter, u64)> = None;
    // The tables below the output level, as the key range of the inputs
    // meets them (RocksDB's grandparents).
    let grandparents = if output_level + 1 < levels.count() {
        let (smallest, largest) = compaction.key_range();
        levels.overlapping(output_level + 1, &smallest, &largest)
    } else {
        Vec::new()
    };
    let mut cutter = Cutter::new(&grandparents, options.target_file_size_base);
    // Buffers passed around rather than allocated per entry: the entry
    // being merged takes the popped head's, the head is refilled in the
    // spare ones, and the entry's become the previous key's.
    let (mut key, mut value) = (Vec::new(), Vec::new());
    let mut previous: Option<Vec<u8>> = None;
    let mut current_user_key: Vec<u8> = Vec::new();
    let mut newer_sequence = u64::MAX;
    // The smallest head is refilled in place from its run and sifted down
    // once (`PeekMut`), not popped and pushed again: most entries of a
    // merge come from one run (the output level's), whose next key is
    // usually still the smallest, two comparisons instead of a pop's and a
    // push's walks through the heap.
    while let Some(mut top) = heap.peek_mut() {
        let Reverse(head) = &mut *top;
        std::mem::swap(&mut key, &mut head.key);
        std::mem::swap(&mut value, &mut head.value);
        match runs[head.run].next_into(&mut head.key, &mut head.value) {
            Some(moved) => {
                moved?;
                drop(top);
            }
            None => {
                PeekMut::pop(top);
            }
        }
        // The same internal key twice (a batch replayed again by
        // SkipAnyCorruptedRecords) is written once.
        if previous.as_deref() == Some(&key[..]) {
            continue;
        }
        let (user_key, sequence, kind) = key::decode(&key).ok_or_else(|| Error::Corruption {
            path: directory.to_path_buf(),
            offset: 0,
            reason: "a compaction input entry has no internal-key trailer".to_owned(),
        })?;
        let new_user_key = previous.is_none() || current_user_key != user_key;
        if new_user_key {
            current_user_key.clear();
            current_user_key.extend_from_slice(user_key);
            newer_sequence = u64::MAX;
            // Cut the output only between user keys, so that no key spans
            // two tables of one level.
            let table_bytes = writer
                .as_ref()
                .map(|(table, _)| table.size_estimate_bytes());
            if cutter.cut_before(user_key, table_bytes)
                && let Some((table, largest)) = writer.take()
            {
                outputs.push(table.finish(fs, directory, largest)?);
            }
        }
        let shadowed = newer_sequence <= smallest_snapshot;
        let dead_deletion = kind != Kind::Value as u8
            && sequence <= smallest_snapshot
            && is_base_level_for_key(levels, output_level, user_key);
        newer_sequence = sequence;
        if !shadowed && !dead_deletion {
            if writer.is_none() {
                let number = new_file_number();
                let table =
                    TableWriter::create(fs, directory, number, level_u32(output_level), options)?;
                writer = Some((table, 0));
            }
            if let Some((table, largest)) = &mut writer {
                table.add(&key, &value)?;
                *largest = (*largest).max(sequence);
            }
        }
        // The entry's key becomes the previous one; the previous one's
        // buffer is the next spare.
        let spare = previous.replace(std::mem::take(&mut key));
        key = spare.unwrap_or_default();
    }
    if let Some((table, largest)) = writer {
        if table.is_empty() {
            drop(table);
        } else {
            outputs.push(table.finish(fs, directory, largest)?);
        }
    }
    Ok(outputs)
}

/// Whether no level below `output_level` can hold `user_key`: then a
/// deletion of it has nothing left to hide.
fn is_base_level_for_key(levels: &Levels, output_level: usize, user_key: &[u8]) -> bool {
    (output_level + 1..levels.count()).all(|level| levels.find(level, user_key).is_none())
}

fn level_u32(level: usize) -> u32 {
    u32::try_from(level).unwrap_or(u32::MAX)
}
