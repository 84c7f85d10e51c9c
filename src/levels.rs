//! The tables by level, as reads and compaction see them: level 0 holds
//! flushed memtables, oldest first, whose key ranges may overlap; each
//! deeper level holds tables with disjoint user-key ranges, in key order.
//! A `Levels` value is immutable: every change to the set of tables builds
//! a new one, and readers keep the one they started with.

use std::sync::{Arc, OnceLock};

use crate::compaction::pick::LevelTargets;
use crate::compaction::score;
use crate::options::Options;
use crate::table::TableHandle;

#[derive(Default)]
pub(crate) struct Levels {
    levels: Vec<Vec<Arc<TableHandle>>>,
    /// [`Levels::pending_compaction_bytes`], worked out once: every write
    /// asks, and a `Levels` never changes.
    pending_compaction_bytes: OnceLock<u64>,
    /// [`Levels::targets`], worked out once.
    targets: OnceLock<LevelTargets>,
}

impl Levels {
    /// Arranges `tables` by their recorded level (at least `num_levels`
    /// levels, more if a table says so).
    pub(crate) fn new(
        tables: impl IntoIterator<Item = Arc<TableHandle>>,
        num_levels: usize,
    ) -> Self {
        let mut levels: Vec<Vec<Arc<TableHandle>>> = vec![Vec::new(); num_levels.max(2)];
        for table in tables {
            let level = table.meta().level as usize;
            if levels.len() <= level {
                levels.resize(level + 1, Vec::new());
            }
            levels[level].push(table);
        }
        levels[0].sort_by_key(|table| table.meta().number);
        for level in &mut levels[1..] {
            level.sort_by(|a, b| a.smallest_user_key().cmp(b.smallest_user_key()));
        }
        Levels {
            levels,
            pending_compaction_bytes: OnceLock::new(),
            targets: OnceLock::new(),
        }
    }

    /// The byte target of each level and where level 0 compacts to
    /// ([`LevelTargets`]). `options` must be the same at every call: the
    /// first answer is kept.
    pub(crate) fn targets(&self, options: &Options) -> &LevelTargets {
        self.targets
            .get_or_init(|| LevelTargets::new(&self.all_level_bytes(), options))
    }

    /// The bytes of each level, level 0 first.
    pub(crate) fn all_level_bytes(&self) -> Vec<u64> {
        (0..self.count())
            .map(|level| self.level_bytes(level))
            .collect()
    }

    /// RocksDB's estimate of the bytes compaction still has to rewrite to
    /// bring every level within its target ([`score::pending_compaction_bytes`]).
    /// `options` must be the same at every call: the first answer is kept.
    pub(crate) fn pending_compaction_bytes(&self, options: &Options) -> u64 {
        *self.pending_compaction_bytes.get_or_init(|| {
            score::pending_compaction_bytes(
                self.level(0).len(),
                &self.all_level_bytes(),
                self.targets(options),
                options,
            )
        })
    }

    /// The number of levels.
    pub(crate) fn count(&self) -> usize {
        self.levels.len()
    }

    /// The tables of `level` (level 0 oldest first; deeper levels in key
    /// order).
    pub(crate) fn level(&self, level: usize) -> &[Arc<TableHandle>] {
        self.levels.get(level).map_or(&[], Vec::as_slice)
    }

    /// Every table, level by level.
    pub(crate) fn all(&self) -> impl Iterator<Item = &Arc<TableHandle>> {
        self.levels.iter().flatten()
    }

    /// Total bytes of the tables of `level`.
    pub(crate) fn level_bytes(&self, level: usize) -> u64 {
        self.level(level)
            .iter()
            .map(|table| table.meta().size)
            .sum()
    }

    /// The table of a level past 0 whose key range holds `user_key`, if any.
    pub(crate) fn find(&self, level: usize, user_key: &[u8]) -> Option<&Arc<TableHandle>> {
        let tables = self.level(level);
        let index = tables.partition_point(|table| table.largest_user_key() < user_key);
        tables
            .get(index)
            .filter(|table| table.smallest_user_key() <= user_key)
    }

    /// The tables of `level` whose user keys overlap `smallest..=largest`.
    pub(crate) fn overlapping(
        &self,
        level: usize,
        smallest: &[u8],
        largest: &[u8],
    ) -> Vec<Arc<TableHandle>> {
        self.level(level)
            .iter()
            .filter(|table| table.overlaps(smallest, largest))
            .cloned()
            .collect()
    }
}
