//! Options of a database and of single operations.

use strata_wal::RecoveryMode;

/// Options for [`crate::Db::open`].
///
/// ```
/// use strata::{Options, RecoveryMode};
///
/// let options = Options {
///     recovery_mode: RecoveryMode::TolerateCorruptedTailRecords,
///     write_buffer_size: 8 << 20,
///     ..Options::default()
/// };
/// assert!(options.create_if_missing);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default))]
pub struct Options {
    /// What replay does with a damaged log (default PointInTimeRecovery).
    pub recovery_mode: RecoveryMode,
    /// Bytes of writes a memtable takes before it is flushed to a table.
    pub write_buffer_size: usize,
    /// Create the database if the directory holds none.
    pub create_if_missing: bool,
    /// Fail if a database already exists.
    pub error_if_exists: bool,
    /// Target size of a table's data blocks, in bytes.
    pub table_block_size: usize,
    /// Bloom filter bits per key in tables.
    pub bloom_bits_per_key: usize,
    /// How many full memtables may wait for their flush before writes stall.
    pub max_immutable_memtables: usize,
    /// When this many level-0 tables exist, they are compacted into level 1
    /// (RocksDB's `level0_file_num_compaction_trigger`).
    pub level0_compaction_trigger: usize,
    /// Bytes of table data blocks kept in memory, shared by all tables.
    pub block_cache_size: usize,
    /// With this many level-0 tables, each write is delayed by a
    /// millisecond so compaction can catch up (RocksDB's
    /// `level0_slowdown_writes_trigger`).
    pub level0_slowdown_writes_trigger: usize,
    /// With this many level-0 tables, writes wait until compaction brings
    /// the count down (RocksDB's `level0_stop_writes_trigger`).
    pub level0_stop_writes_trigger: usize,
    /// Target size of level 1 in bytes; each deeper level is
    /// `max_bytes_for_level_multiplier` times larger.
    pub max_bytes_for_level_base: u64,
    /// Growth factor between levels.
    pub max_bytes_for_level_multiplier: u64,
    /// Compaction output tables are cut at about this size, at a user-key
    /// boundary (RocksDB's `target_file_size_base`).
    pub target_file_size_base: u64,
    /// Number of levels, level 0 included.
    pub num_levels: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            recovery_mode: RecoveryMode::PointInTimeRecovery,
            write_buffer_size: 4 << 20,
            create_if_missing: true,
            error_if_exists: false,
            table_block_size: 4096,
            bloom_bits_per_key: 10,
            max_immutable_memtables: 2,
            level0_compaction_trigger: 4,
            block_cache_size: 8 << 20,
            level0_slowdown_writes_trigger: 20,
            level0_stop_writes_trigger: 36,
            max_bytes_for_level_base: 256 << 20,
            max_bytes_for_level_multiplier: 10,
            target_file_size_base: 64 << 20,
            num_levels: 7,
        }
    }
}

/// Options of one write.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriteOptions {
    /// Make the write durable (fsync the log) before acknowledging it.
    pub sync: bool,
}

impl WriteOptions {
    /// A synced write.
    pub const SYNC: WriteOptions = WriteOptions { sync: true };
}
