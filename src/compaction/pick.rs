//! Which compaction to run next (LevelDB/RocksDB leveled style): level 0 is
//! scored by its table count against `level0_compaction_trigger`, each
//! deeper level by its bytes against its target size; the level with the
//! highest score of at least 1 is compacted into the next one.

use std::sync::Arc;

use crate::levels::Levels;
use crate::options::Options;
use crate::table::TableHandle;

/// One compaction: tables of `level` merged with the overlapping tables of
/// `level + 1`, written to `level + 1`.
pub(crate) struct Compaction {
    pub(crate) level: usize,
    pub(crate) inputs: Vec<Arc<TableHandle>>,
    /// The tables of `level + 1` that overlap the inputs.
    pub(crate) next_inputs: Vec<Arc<TableHandle>>,
}

impl Compaction {
    pub(crate) fn output_level(&self) -> usize {
        self.level + 1
    }

    /// Every input table's number.
    pub(crate) fn input_numbers(&self) -> Vec<u64> {
        self.inputs
            .iter()
            .chain(&self.next_inputs)
            .map(|table| table.meta().number)
            .collect()
    }

    /// Whether the inputs can move to the next level unchanged: nothing
    /// there overlaps them, they do not overlap each other, and none is
    /// small (`small_table_bytes`): a sequential fill is never rewritten,
    /// while tiny tables (a reopen's few recovered writes) are merged rather
    /// than piled up one level down.
    pub(crate) fn is_trivial_move(&self, small_table_bytes: u64) -> bool {
        if !self.next_inputs.is_empty()
            || self
                .inputs
                .iter()
                .any(|table| table.meta().size < small_table_bytes)
        {
            return false;
        }
        let mut ranges: Vec<(&[u8], &[u8])> = self
            .inputs
            .iter()
            .map(|table| (table.smallest_user_key(), table.largest_user_key()))
            .collect();
        ranges.sort();
        ranges.windows(2).all(|pair| pair[0].1 < pair[1].0)
    }

    /// The smallest and largest user keys of the inputs of `level`.
    pub(crate) fn key_range(&self) -> (Vec<u8>, Vec<u8>) {
        key_range(&self.inputs)
    }
}

fn key_range(tables: &[Arc<TableHandle>]) -> (Vec<u8>, Vec<u8>) {
    let smallest = tables
        .iter()
        .map(|table| table.smallest_user_key())
        .min()
        .unwrap_or_default();
    let largest = tables
        .iter()
        .map(|table| table.largest_user_key())
        .max()
        .unwrap_or_default();
    (smallest.to_vec(), largest.to_vec())
}

/// The target size of `level` (1 and deeper) in bytes.
pub(crate) fn max_bytes_for_level(options: &Options, level: usize) -> u64 {
    let mut bytes = options.max_bytes_for_level_base.max(1);
    for _ in 1..level {
        bytes = bytes.saturating_mul(options.max_bytes_for_level_multiplier.max(1));
    }
    bytes
}

/// The compaction score of `level`: 1 or more means it needs compacting.
/// The last level is never compacted further.
pub(crate) fn score(levels: &Levels, options: &Options, level: usize) -> f64 {
    if level + 1 >= levels.count() {
        return 0.0;
    }
    if level == 0 {
        return levels.level(0).len() as f64 / options.level0_compaction_trigger.max(1) as f64;
    }
    levels.level_bytes(level) as f64 / max_bytes_for_level(options, level) as f64
}

/// The compaction to run next, if any level needs one. `pointers` holds,
/// per level, the largest user key its last compaction took, so that the
/// tables of a level take their turn round-robin.
pub(crate) fn pick(levels: &Levels, options: &Options, pointers: &[Vec<u8>]) -> Option<Compaction> {
    let (level, best) = (0..levels.count())
        .map(|level| (level, score(levels, options, level)))
        .max_by(|a, b| a.1.total_cmp(&b.1))?;
    if best < 1.0 {
        return None;
    }
    Some(compaction_of(levels, level, pointers, options))
}

/// The compaction of `level`: all of level 0, or the next table of a deeper
/// level after its pointer; with the overlapping tables of the next level.
fn compaction_of(
    levels: &Levels,
    level: usize,
    pointers: &[Vec<u8>],
    options: &Options,
) -> Compaction {
    let inputs: Vec<Arc<TableHandle>> = if level == 0 {
        levels.level(0).to_vec()
    } else {
        let tables = levels.level(level);
        let pointer = pointers.get(level).map_or(&[][..], Vec::as_slice);
        let next = tables
            .iter()
            .find(|table| pointer.is_empty() || table.smallest_user_key() > pointer)
            .or_else(|| tables.first());
        next.into_iter().cloned().collect()
    };
    let (smallest, largest) = key_range(&inputs);
    let next_inputs = with_small_neighbours(levels, level + 1, &smallest, &largest, options);
    Compaction {
        level,
        inputs,
        next_inputs,
    }
}

/// The tables of `level` overlapping `smallest..=largest`, plus the table
/// just before and just after them when it is small, so that small tables
/// of a level (the tail of a compaction's output, a reopen's few writes)
/// are merged into their neighbours instead of accumulating. The result is
/// contiguous in the level, so the outputs overlap no table left there.
fn with_small_neighbours(
    levels: &Levels,
    level: usize,
    smallest: &[u8],
    largest: &[u8],
    options: &Options,
) -> Vec<Arc<TableHandle>> {
    let tables = levels.level(level);
    let small = small_table_bytes(options);
    let first = tables.partition_point(|table| table.largest_user_key() < smallest);
    let mut end = first;
    while end < tables.len() && tables[end].smallest_user_key() <= largest {
        end += 1;
    }
    let start = if first > 0 && tables[first - 1].meta().size < small {
        first - 1
    } else {
        first
    };
    if end < tables.len() && tables[end].meta().size < small {
        end += 1;
    }
    tables[start..end].to_vec()
}

/// Tables below this size are merged rather than moved or left alone:
/// a quarter of what a full memtable flush writes (or of the target table
/// size, if smaller).
pub(crate) fn small_table_bytes(options: &Options) -> u64 {
    let write_buffer = u64::try_from(options.write_buffer_size).unwrap_or(u64::MAX);
    write_buffer.min(options.target_file_size_base) / 4
}

/// The compaction of `level` restricted to tables overlapping
/// `smallest..=largest` (a manual compaction of a key range), if any table
/// there overlaps.
pub(crate) fn for_range(
    levels: &Levels,
    level: usize,
    smallest: &[u8],
    largest: &[u8],
) -> Option<Compaction> {
    let mut inputs = levels.overlapping(level, smallest, largest);
    if inputs.is_empty() {
        return None;
    }
    if level == 0 {
        // Level-0 tables overlap one another: moving some of them below
        // older ones would let the older versions shadow the newer.
        inputs = levels.level(0).to_vec();
    }
    let (low, high) = key_range(&inputs);
    let next_inputs = levels.overlapping(level + 1, &low, &high);
    Some(Compaction {
        level,
        inputs,
        next_inputs,
    })
}
