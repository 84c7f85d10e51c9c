//! Which compaction to run next (LevelDB/RocksDB leveled style): level 0 is
//! scored by its table count against `level0_compaction_trigger`, each
//! deeper level by its bytes against its target size; the level with the
//! highest score of at least 1 is compacted into the next one (level 0 into
//! the base level, see [`LevelTargets`]).

use std::sync::Arc;

pub(crate) use super::targets::LevelTargets;
use crate::levels::Levels;
use crate::options::Options;
use crate::table::TableHandle;

/// One compaction: tables of `level` merged with the overlapping tables of
/// `output_level`, written to `output_level`.
pub(crate) struct Compaction {
    pub(crate) level: usize,
    /// Where the outputs go: the next level, or for level 0 the base level.
    pub(crate) output_level: usize,
    pub(crate) inputs: Vec<Arc<TableHandle>>,
    /// The tables of `output_level` that overlap the inputs.
    pub(crate) next_inputs: Vec<Arc<TableHandle>>,
}

impl Compaction {
    /// Every input table's number.
    pub(crate) fn input_numbers(&self) -> Vec<u64> {
        self.inputs
            .iter()
            .chain(&self.next_inputs)
            .map(|table| table.meta().number)
            .collect()
    }

    /// Whether the inputs can move to the output level unchanged: nothing
    /// there overlaps them, they do not overlap each other, and none is
    /// small (`small_table_bytes`): a sequential fill is never rewritten,
    /// while tiny tables (a reopen's few recovered writes) are merged rather
    /// than piled up one level down.
    /// The smallest and largest user keys of all the inputs.
    pub(crate) fn key_range(&self) -> (Vec<u8>, Vec<u8>) {
        key_range(self.inputs.iter().chain(&self.next_inputs))
    }

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
}

fn key_range<'a>(tables: impl Iterator<Item = &'a Arc<TableHandle>> + Clone) -> (Vec<u8>, Vec<u8>) {
    let smallest = tables
        .clone()
        .map(|table| table.smallest_user_key())
        .min()
        .unwrap_or_default();
    let largest = tables
        .map(|table| table.largest_user_key())
        .max()
        .unwrap_or_default();
    (smallest.to_vec(), largest.to_vec())
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
    levels.level_bytes(level) as f64 / levels.targets(options).max_bytes(level) as f64
}

/// RocksDB's estimate of the bytes compaction still has to rewrite
/// (`VersionStorageInfo::EstimateCompactionBytesNeeded` in
/// `db/version_set.cc`), from the number of level-0 tables and the bytes
/// of each level: level 0 counts (with all of the base level) once it has
/// `level0_compaction_trigger` tables; each deeper level's bytes over its
/// target (plus what the level above pushes into it) count with the
/// fan-out to the next level, their size ratio. Excess with nothing below
/// it adds nothing, as in RocksDB. One difference: RocksDB also counts
/// level 0 when its bytes reach `max_bytes_for_level_base`; here only its
/// table count does, as in [`score`], so that a positive estimate always
/// means some level scores 1 or more and a compaction will run: writes
/// stopped on the estimate cannot wait forever.
pub(crate) fn pending_compaction_bytes(
    level0_tables: usize,
    level_bytes: &[u64],
    targets: &LevelTargets,
    options: &Options,
) -> u64 {
    let Some(last) = level_bytes.len().checked_sub(1) else {
        return 0;
    };
    let level0_triggered = last >= 1 && level0_tables >= options.level0_compaction_trigger.max(1);
    let mut pending = 0u64;
    // Bytes the compaction of the level above pushes into this one.
    let mut pushed_down = 0u64;
    if level0_triggered {
        pending = level_bytes[0];
        pushed_down = level_bytes[0];
    }
    for level in targets.base_level..last {
        let mut size = level_bytes[level];
        if level == targets.base_level && level0_triggered {
            pending = pending.saturating_add(size);
        }
        size = size.saturating_add(pushed_down);
        pushed_down = 0;
        let target = targets.max_bytes(level);
        if size > target {
            pushed_down = size - target;
            let next = level_bytes[level + 1];
            if next > 0 {
                let fan_out = next as f64 / size as f64 + 1.0;
                // `as` saturates a float too large for u64.
                pending = pending.saturating_add((pushed_down as f64 * fan_out) as u64);
            }
        }
    }
    pending
}

/// The compaction to run next, if any level needs one.
pub(crate) fn pick(levels: &Levels, options: &Options) -> Option<Compaction> {
    let (level, best) = (0..levels.count())
        .map(|level| (level, score(levels, options, level)))
        .max_by(|a, b| a.1.total_cmp(&b.1))?;
    if best < 1.0 {
        return None;
    }
    Some(compaction_of(levels, level, options))
}

/// The compaction of `level`: all of level 0, or the table of a deeper
/// level that overlaps the fewest bytes of the output level for its own
/// size; with the overlapping tables of the output level.
fn compaction_of(levels: &Levels, level: usize, options: &Options) -> Compaction {
    let output_level = levels.targets(options).output_level(level);
    let inputs: Vec<Arc<TableHandle>> = if level == 0 {
        levels.level(0).to_vec()
    } else {
        let tables = levels.level(level);
        least_overlapping(tables, levels.level(output_level))
            .map(|index| Arc::clone(&tables[index]))
            .into_iter()
            .collect()
    };
    let (smallest, largest) = key_range(inputs.iter());
    let next_inputs = with_small_neighbours(levels, output_level, &smallest, &largest, options);
    Compaction {
        level,
        output_level,
        inputs,
        next_inputs,
    }
}

/// The index of the table of `tables` (one level past 0, sorted and
/// disjoint) whose overlap with `below` (the output level, likewise) is
/// smallest for its size: RocksDB's default `compaction_pri`,
/// kMinOverlappingRatio (`SortFileByOverlappingRatio` in
/// `db/version_set.cc`), which rewrites the fewest bytes of the output
/// level per byte pushed down. As in RocksDB the ratio is overlap × 1024 /
/// size, and ties go to the first table. Not followed: RocksDB's
/// compensated sizes (a table's size inflated for its deletions), since
/// Strata does not count deletions per table.
fn least_overlapping<T: KeyRange>(tables: &[T], below: &[T]) -> Option<usize> {
    (0..tables.len()).min_by_key(|&index| {
        let table = &tables[index];
        let first = below.partition_point(|other| other.largest() < table.smallest());
        let overlap: u64 = below[first..]
            .iter()
            .take_while(|other| other.smallest() <= table.largest())
            .map(KeyRange::size)
            .sum();
        overlap.saturating_mul(1024) / table.size().max(1)
    })
}

/// What picking and cutting need of a table: its user-key range and size.
pub(crate) trait KeyRange {
    fn smallest(&self) -> &[u8];
    fn largest(&self) -> &[u8];
    fn size(&self) -> u64;
}

impl KeyRange for Arc<TableHandle> {
    fn smallest(&self) -> &[u8] {
        self.smallest_user_key()
    }
    fn largest(&self) -> &[u8] {
        self.largest_user_key()
    }
    fn size(&self) -> u64 {
        self.meta().size
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

/// The compaction of `level` into `output_level` restricted to tables
/// overlapping `smallest..=largest` (a manual compaction of a key range),
/// if any table there overlaps.
pub(crate) fn for_range(
    levels: &Levels,
    level: usize,
    output_level: usize,
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
    let (low, high) = key_range(inputs.iter());
    let next_inputs = levels.overlapping(output_level, &low, &high);
    Some(Compaction {
        level,
        output_level,
        inputs,
        next_inputs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compaction::targets::tests::options;

    fn pending(level0_tables: usize, level_bytes: &[u64], options: &Options) -> u64 {
        let targets = LevelTargets::new(level_bytes, options);
        pending_compaction_bytes(level0_tables, level_bytes, &targets, options)
    }

    impl KeyRange for (&str, &str, u64) {
        fn smallest(&self) -> &[u8] {
            self.0.as_bytes()
        }
        fn largest(&self) -> &[u8] {
            self.1.as_bytes()
        }
        fn size(&self) -> u64 {
            self.2
        }
    }

    #[test]
    fn the_table_overlapping_least_of_the_output_level_for_its_size_is_picked() {
        let below = [
            ("a", "c", 100),
            ("d", "f", 100),
            ("g", "i", 100),
            ("p", "q", 30),
        ];
        // "a".."e" overlaps 200 bytes for its 100; "f".."h" 200 for its 300;
        // "j".."z" only the 30 at "p".
        let tables = [("a", "e", 100), ("f", "h", 300), ("j", "z", 10)];
        assert_eq!(least_overlapping(&tables, &below), Some(1));
        let tables = [("a", "e", 100), ("f", "h", 300), ("j", "z", 100)];
        assert_eq!(least_overlapping(&tables, &below), Some(2));
        // Ties (nothing below) go to the first table.
        assert_eq!(least_overlapping(&tables, &[]), Some(0));
        assert_eq!(least_overlapping::<(&str, &str, u64)>(&[], &below), None);
        // A table ending exactly where one below starts overlaps it.
        let tables = [("a", "d", 100), ("j", "p", 100)];
        let below = [("d", "f", 100), ("p", "q", 50)];
        assert_eq!(least_overlapping(&tables, &below), Some(1));
    }

    #[test]
    fn dynamic_pending_bytes_count_level_0_with_the_base_level() {
        let options = Options {
            level_compaction_dynamic_level_bytes: true,
            ..options()
        };
        // The last level's 150 makes level 3 the base level (its target 15
        // is over 100 / 10): level 0 (40) merges with its 60.
        assert_eq!(pending(4, &[40, 0, 0, 60, 150], &options), 100);
    }

    #[test]
    fn nothing_is_pending_while_every_level_is_within_its_target() {
        let options = options();
        assert_eq!(pending(3, &[300, 100, 1_000, 5_000], &options), 0);
        assert_eq!(pending(0, &[], &options), 0);
        assert_eq!(pending(9, &[900], &options), 0);
    }

    #[test]
    fn level_0_counts_with_all_of_level_1_once_triggered() {
        let options = options();
        // Level 0 (40) and level 1 (50) merge; level 1 then holds 90, under
        // its target of 100.
        assert_eq!(pending(4, &[40, 50, 0], &options), 90);
    }

    #[test]
    fn excess_counts_with_the_fan_out_to_the_next_level() {
        let options = options();
        // Level 1: 150 over a target of 100, 50 to push into level 2 (600),
        // fan-out 600 / 150 + 1 = 5: 250.
        assert_eq!(pending(0, &[0, 150, 600, 0], &options), 250);
        // The same excess with nothing below adds nothing (RocksDB).
        assert_eq!(pending(0, &[0, 150, 0, 0], &options), 0);
        // Level 0 triggered: 40 + 100 for the merge; level 1 becomes 140,
        // 40 over, fan-out 700 / 140 + 1 = 6: 240; level 2 becomes 740,
        // under its target of 1,000. The last level never counts.
        assert_eq!(
            pending(4, &[40, 100, 700, 50_000], &options),
            40 + 100 + 240
        );
    }

    #[test]
    fn a_positive_estimate_means_a_compaction_will_be_picked() {
        let options = options();
        // Level 0 over its byte target but under its table trigger: no
        // compaction is picked, so nothing may be pending.
        assert_eq!(pending(2, &[10_000, 50, 500], &options), 0);
    }
}
