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
    /// When this many level-0 tables exist, they are merged into one.
    pub level0_compaction_trigger: usize,
    /// Bytes of table data blocks kept in memory, shared by all tables.
    pub block_cache_size: usize,
    /// Once the MANIFEST has grown past this many bytes, the next edit is
    /// followed by a new MANIFEST holding a snapshot of the live state
    /// (CURRENT switched atomically, the old one removed), so a long-running
    /// database does not grow it without bound. Default 64 MiB, not
    /// RocksDB's 1 GiB: an open reads the MANIFEST whole, and refuses one
    /// larger than 1 GiB, so a limit above 512 MiB is taken as 512 MiB. A
    /// limit smaller than one snapshot rolls the MANIFEST over at every
    /// edit.
    pub max_manifest_file_size: u64,
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
            level0_compaction_trigger: 8,
            block_cache_size: 8 << 20,
            max_manifest_file_size: 64 << 20,
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
