//! Counters of what the engine did since open, read with [`crate::Db::stats`].

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::engine::Engine;

/// The live counters, updated without locks.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) wal_bytes: AtomicU64,
    pub(crate) wal_syncs: AtomicU64,
    pub(crate) wal_prefill_bytes: AtomicU64,
    pub(crate) write_groups: AtomicU64,
    pub(crate) writes: AtomicU64,
    pub(crate) flushes: AtomicU64,
    pub(crate) flush_bytes: AtomicU64,
    pub(crate) compactions: AtomicU64,
    pub(crate) trivial_moves: AtomicU64,
    pub(crate) compaction_bytes_read: AtomicU64,
    pub(crate) compaction_bytes_written: AtomicU64,
    pub(crate) stall_micros: AtomicU64,
    pub(crate) memtable_stall_micros: AtomicU64,
    pub(crate) memtable_switch_micros: AtomicU64,
    pub(crate) group_gather_micros: AtomicU64,
    pub(crate) pending_compaction_stalls: AtomicU64,
    /// Per output level, what the compactions into it did.
    pub(crate) levels: Box<[LevelCounters]>,
}

/// What one merging compaction did.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CompactionDone {
    /// Bytes of input tables.
    pub(crate) read: u64,
    /// Of `read`, the bytes of the input level's tables.
    pub(crate) read_above: u64,
    /// Bytes of output tables.
    pub(crate) written: u64,
    /// Time from the start of the merge to the last output synced.
    pub(crate) micros: u64,
}

/// What the compactions into one level did.
#[derive(Debug, Default)]
pub(crate) struct LevelCounters {
    pub(crate) compactions: AtomicU64,
    pub(crate) bytes_read: AtomicU64,
    pub(crate) bytes_read_above: AtomicU64,
    pub(crate) bytes_written: AtomicU64,
    pub(crate) micros: AtomicU64,
}

impl Counters {
    /// Zeroed counters for a tree of `levels` levels.
    pub(crate) fn new(levels: usize) -> Self {
        Counters {
            levels: (0..levels).map(|_| LevelCounters::default()).collect(),
            ..Counters::default()
        }
    }

    /// Counts a merging compaction into `output_level`.
    pub(crate) fn add_compaction(&self, output_level: usize, done: &CompactionDone) {
        let CompactionDone {
            read,
            read_above,
            written,
            micros,
        } = *done;
        Counters::add(&self.compactions, 1);
        Counters::add(&self.compaction_bytes_read, read);
        Counters::add(&self.compaction_bytes_written, written);
        if let Some(level) = self.levels.get(output_level) {
            Counters::add(&level.compactions, 1);
            Counters::add(&level.bytes_read, read);
            Counters::add(&level.bytes_read_above, read_above);
            Counters::add(&level.bytes_written, written);
            Counters::add(&level.micros, micros);
        }
    }

    pub(crate) fn add(counter: &AtomicU64, amount: u64) {
        counter.fetch_add(amount, Ordering::Relaxed);
    }

    /// [`Counters::add`] for a counter that only one thread at a time
    /// updates (the write leader): a load and a store, no locked
    /// instruction. Readers still see whole values.
    pub(crate) fn add_alone(counter: &AtomicU64, amount: u64) {
        let value = counter.load(Ordering::Relaxed);
        counter.store(value + amount, Ordering::Relaxed);
    }

    /// The counters; the fields that are not counters are left 0 for
    /// [`Engine::stats`] to fill.
    fn snapshot(&self) -> Stats {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        Stats {
            wal_bytes: read(&self.wal_bytes),
            wal_syncs: read(&self.wal_syncs),
            wal_prefill_bytes: read(&self.wal_prefill_bytes),
            write_groups: read(&self.write_groups),
            writes: read(&self.writes),
            flushes: read(&self.flushes),
            flush_bytes: read(&self.flush_bytes),
            compactions: read(&self.compactions),
            trivial_moves: read(&self.trivial_moves),
            compaction_bytes_read: read(&self.compaction_bytes_read),
            compaction_bytes_written: read(&self.compaction_bytes_written),
            stall_micros: read(&self.stall_micros),
            memtable_stall_micros: read(&self.memtable_stall_micros),
            memtable_switch_micros: read(&self.memtable_switch_micros),
            group_gather_micros: read(&self.group_gather_micros),
            pending_compaction_stalls: read(&self.pending_compaction_stalls),
            pending_compaction_bytes: 0,
            block_cache_hits: 0,
            block_cache_misses: 0,
        }
    }
}

impl Engine {
    /// What [`crate::Db::stats`] returns: the counters, the pending
    /// compaction estimate of the live tables and the block cache's hits.
    pub(crate) fn stats(&self) -> Stats {
        let mut stats = self.counters.snapshot();
        let tables = Arc::clone(&self.state.lock().tables);
        stats.pending_compaction_bytes = tables.pending_compaction_bytes(&self.options);
        stats.block_cache_hits = self.tables.block_cache.hits();
        stats.block_cache_misses = self.tables.block_cache.misses();
        stats
    }

    /// What [`crate::Db::levels`] returns.
    pub(crate) fn level_summaries(&self) -> Vec<LevelSummary> {
        let tables = Arc::clone(&self.state.lock().tables);
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        (0..tables.count())
            .map(|level| {
                let counters = self.counters.levels.get(level);
                let count = |field: fn(&LevelCounters) -> &AtomicU64| {
                    counters.map_or(0, |counters| read(field(counters)))
                };
                LevelSummary {
                    level,
                    tables: tables.level(level).len(),
                    bytes: tables.level_bytes(level),
                    compactions: count(|counters| &counters.compactions),
                    compaction_bytes_read: count(|counters| &counters.bytes_read),
                    compaction_bytes_read_above: count(|counters| &counters.bytes_read_above),
                    compaction_bytes_written: count(|counters| &counters.bytes_written),
                    compaction_micros: count(|counters| &counters.micros),
                }
            })
            .collect()
    }
}

/// What the engine did since the database was opened.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Bytes of batches appended to the write-ahead log (payloads).
    pub wal_bytes: u64,
    /// Syncs of the write-ahead log for synced writes.
    pub wal_syncs: u64,
    /// Zeros written ahead of the live log for its syncs
    /// ([`crate::Options::wal_prefill_bytes`]).
    pub wal_prefill_bytes: u64,
    /// Write groups committed (each one log record).
    pub write_groups: u64,
    /// Writes (batches) committed; `writes / write_groups` is the mean
    /// group size.
    pub writes: u64,
    /// Memtables flushed to level-0 tables.
    pub flushes: u64,
    /// Bytes of level-0 tables written by flushes.
    pub flush_bytes: u64,
    /// Compactions that merged tables.
    pub compactions: u64,
    /// Compactions that moved tables to the next level unchanged.
    pub trivial_moves: u64,
    /// Bytes of tables read by compactions.
    pub compaction_bytes_read: u64,
    /// Bytes of tables written by compactions.
    pub compaction_bytes_written: u64,
    /// Microseconds writers spent stalled or slowed down: for compaction
    /// (level-0 triggers, pending bytes) or for a flush
    /// ([`Stats::memtable_stall_micros`]).
    pub stall_micros: u64,
    /// Of [`Stats::stall_micros`], the microseconds writers waited because
    /// `max_immutable_memtables` full memtables were waiting for their
    /// flush.
    pub memtable_stall_micros: u64,
    /// Microseconds spent switching to a new memtable and log (creating the
    /// log and syncing the old one), with writers held up meanwhile.
    pub memtable_switch_micros: u64,
    /// Microseconds group-commit leaders waited for writers to join a
    /// group that syncs the log, so that one sync serves them all.
    pub group_gather_micros: u64,
    /// Write groups stopped or slowed down because the estimated bytes awaiting
    /// compaction reached `hard_pending_compaction_bytes_limit` or
    /// `soft_pending_compaction_bytes_limit`, counted once per write group
    /// (concurrent writes committed together are held up together).
    pub pending_compaction_stalls: u64,
    /// The estimated bytes compaction still has to rewrite right now
    /// (RocksDB's `rocksdb.estimate-pending-compaction-bytes`).
    pub pending_compaction_bytes: u64,
    /// Table block reads served by the block cache.
    pub block_cache_hits: u64,
    /// Table block reads that missed the block cache and read the file.
    pub block_cache_misses: u64,
}

/// One level of the table tree, as [`crate::Db::levels`] reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LevelSummary {
    /// The level (0: flushed memtables).
    pub level: usize,
    /// Number of tables.
    pub tables: usize,
    /// Their total size in bytes.
    pub bytes: u64,
    /// Merging compactions into this level since open (RocksDB's per-level
    /// compaction statistics count by output level too).
    pub compactions: u64,
    /// Bytes those compactions read, from both their input levels.
    pub compaction_bytes_read: u64,
    /// Of `compaction_bytes_read`, the bytes from the level above (pushed
    /// down); the rest were this level's own tables, rewritten (RocksDB's
    /// `Rn` and `Rnp1`).
    pub compaction_bytes_read_above: u64,
    /// Bytes those compactions wrote into this level.
    pub compaction_bytes_written: u64,
    /// Microseconds those compactions took, merging and writing (RocksDB's
    /// `Comp(sec)`).
    pub compaction_micros: u64,
}
