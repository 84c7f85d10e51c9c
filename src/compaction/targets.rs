//! The byte target of each level and the level that level 0 compacts
//! into: static (LevelDB) or dynamic (RocksDB's
//! `level_compaction_dynamic_level_bytes`) level sizes.

use crate::options::Options;

/// The byte target of each level and the base level, the one level 0
/// compacts into.
///
/// Static sizes (`level_compaction_dynamic_level_bytes` off, LevelDB's
/// scheme): level 0 compacts into level 1, whose target is
/// `max_bytes_for_level_base`, and each deeper level's is
/// `max_bytes_for_level_multiplier` times the one above.
///
/// Dynamic sizes (on, RocksDB's default since 8.4;
/// `VersionStorageInfo::CalculateBaseBytes` in `db/version_set.cc`): the
/// targets are worked out from the largest level upwards, so that the last
/// level holds about `multiplier / (multiplier - 1)` of the data whatever
/// its size. Level 0 compacts straight into the highest level whose target
/// reaches `max_bytes_for_level_base` divided by the multiplier; the levels
/// above it stay empty. A small database is one level-0 merge away from the
/// last level instead of rewriting a level 1 sized for a large one, which
/// is where most of static sizing's write amplification goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LevelTargets {
    pub(crate) base_level: usize,
    /// Target bytes per level; index 0 is unused.
    max_bytes: Vec<u64>,
}

impl LevelTargets {
    /// The targets for a tree whose levels hold `level_bytes` (level 0
    /// first; its bytes are not used).
    pub(crate) fn new(level_bytes: &[u64], options: &Options) -> Self {
        let count = level_bytes.len().max(2);
        let multiplier = options.max_bytes_for_level_multiplier.max(1);
        let base_max = options.max_bytes_for_level_base.max(1);
        let mut max_bytes = vec![0u64; count];
        if !options.level_compaction_dynamic_level_bytes {
            let mut bytes = base_max;
            for target in &mut max_bytes[1..] {
                *target = bytes;
                bytes = bytes.saturating_mul(multiplier);
            }
            return LevelTargets {
                base_level: 1,
                max_bytes,
            };
        }
        let last = count - 1;
        let first_non_empty = (1..level_bytes.len()).find(|&level| level_bytes[level] > 0);
        let largest = level_bytes.iter().skip(1).copied().max().unwrap_or(0);
        let Some(first_non_empty) = first_non_empty else {
            // Nothing below level 0: it compacts into the last level.
            for target in &mut max_bytes[1..] {
                *target = base_max;
            }
            return LevelTargets {
                base_level: last,
                max_bytes,
            };
        };
        let base_min = base_max / multiplier;
        // The target of the first non-empty level if the last level's
        // target were the largest level's size.
        let mut size = largest;
        for _ in first_non_empty..last {
            size /= multiplier;
        }
        let (base_level, base_size) = if size <= base_min {
            // More levels hold data than the data needs: keep them, and
            // give the first the smallest base target (RocksDB logs "More
            // existing levels in DB than needed").
            (first_non_empty, base_min + 1)
        } else {
            let mut base_level = first_non_empty;
            while base_level > 1 && size > base_max {
                base_level -= 1;
                size /= multiplier;
            }
            (base_level, size.clamp(1, base_max))
        };
        let mut bytes = base_size;
        for (level, target) in max_bytes.iter_mut().enumerate().skip(1) {
            if level > base_level {
                bytes = bytes.saturating_mul(multiplier);
            }
            // No level below the base target, as in RocksDB: an hourglass
            // tree would score its small levels above a filling level 0.
            *target = if level < base_level {
                base_max
            } else {
                bytes.max(base_max)
            };
        }
        LevelTargets {
            base_level,
            max_bytes,
        }
    }

    /// The target size of `level` (1 and deeper) in bytes.
    pub(crate) fn max_bytes(&self, level: usize) -> u64 {
        self.max_bytes.get(level).copied().unwrap_or(u64::MAX)
    }

    /// Where a compaction of `level` writes.
    pub(crate) fn output_level(&self, level: usize) -> usize {
        if level == 0 {
            self.base_level
        } else {
            level + 1
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Small static levels (base 100 bytes, multiplier 10, level-0 trigger
    /// 4), shared with the picking tests.
    pub(crate) fn options() -> Options {
        Options {
            level0_compaction_trigger: 4,
            max_bytes_for_level_base: 100,
            max_bytes_for_level_multiplier: 10,
            level_compaction_dynamic_level_bytes: false,
            ..Options::default()
        }
    }

    fn dynamic(level_bytes: &[u64]) -> LevelTargets {
        let options = Options {
            level_compaction_dynamic_level_bytes: true,
            ..options()
        };
        LevelTargets::new(level_bytes, &options)
    }

    #[test]
    fn static_targets_grow_from_level_1() {
        let targets = LevelTargets::new(&[0, 0, 0, 5_000], &options());
        assert_eq!(targets.base_level, 1);
        assert_eq!(
            (1..4)
                .map(|level| targets.max_bytes(level))
                .collect::<Vec<_>>(),
            [100, 1_000, 10_000]
        );
        assert_eq!(targets.output_level(0), 1);
        assert_eq!(targets.output_level(2), 3);
    }

    #[test]
    fn dynamic_targets_send_level_0_to_the_last_level_of_an_empty_tree() {
        let targets = dynamic(&[50, 0, 0, 0, 0]);
        assert_eq!(targets.base_level, 4);
        assert_eq!(targets.output_level(0), 4);
    }

    #[test]
    fn dynamic_targets_grow_from_the_largest_level_up() {
        // The last level holds 50,000: level 3 would be 5,000 and level 2
        // 500, both over the base of 100; level 1's 50 is under it, so
        // level 1 is the base level, every level target at least 100.
        let targets = dynamic(&[0, 0, 0, 0, 50_000]);
        assert_eq!(targets.base_level, 1);
        assert_eq!(
            (1..5)
                .map(|level| targets.max_bytes(level))
                .collect::<Vec<_>>(),
            [100, 500, 5_000, 50_000]
        );
        // 5,000 in the last level: level 3 would be 500 and level 2 50,
        // which is over 100 / 10 but under 100, so level 2 is the base.
        let targets = dynamic(&[0, 0, 0, 0, 5_000]);
        assert_eq!(targets.base_level, 2);
        assert_eq!(
            (2..5)
                .map(|level| targets.max_bytes(level))
                .collect::<Vec<_>>(),
            [100, 500, 5_000]
        );
        // 150 in the last level: level 3 would be 15, over 10: base 3,
        // held at the base target of 100.
        let targets = dynamic(&[0, 0, 0, 0, 150]);
        assert_eq!(targets.base_level, 3);
        assert_eq!(targets.max_bytes(3), 100);
        assert_eq!(targets.output_level(0), 3);
        assert_eq!(targets.output_level(3), 4);
    }

    #[test]
    fn dynamic_targets_keep_levels_that_already_hold_data() {
        // Level 1 holds data although the last level is small: level 1
        // stays the base level with the smallest base target.
        let targets = dynamic(&[0, 5, 0, 0, 150]);
        assert_eq!(targets.base_level, 1);
        assert_eq!(targets.max_bytes(1), 100);
    }
}
