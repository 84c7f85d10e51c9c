//! Options of a database and of single operations, and the bounds that
//! [`Options::validate`] enforces at open.

use strata_sstable::Compression;
use strata_wal::RecoveryMode;

use crate::error::{Error, Result};

/// The smallest [`Options::write_buffer_size`]. Any size above 0 is correct
/// (0 made the first write switch memtables forever); below a few entries'
/// worth, every write becomes a log and a table of its own. Tests use
/// buffers this small to make flushes and compactions happen.
pub const MIN_WRITE_BUFFER_SIZE_BYTES: usize = 512;
/// The largest [`Options::write_buffer_size`], 64 GiB: a memtable stays in
/// memory until it is flushed, and more than this is most likely a unit
/// mistake.
pub const MAX_WRITE_BUFFER_SIZE_BYTES: u64 = 64 << 30;
/// The smallest [`Options::table_block_size`]: the index holds one entry
/// per block, so with smaller blocks it grows toward the size of the data.
pub const MIN_TABLE_BLOCK_SIZE_BYTES: usize = 256;
/// The largest [`Options::table_block_size`], 16 MiB: a point read decodes
/// a whole block, and the block cache holds whole blocks.
pub const MAX_TABLE_BLOCK_SIZE_BYTES: usize = 16 << 20;
/// The largest [`Options::bloom_bits_per_key`] (the table format's limit,
/// [`strata_sstable::MAX_BLOOM_BITS_PER_KEY`]).
pub const MAX_BLOOM_BITS_PER_KEY: usize = strata_sstable::MAX_BLOOM_BITS_PER_KEY;
/// The smallest [`Options::level0_compaction_trigger`]: with 1, every flush
/// would rewrite the one table there is.
pub const MIN_LEVEL0_COMPACTION_TRIGGER: usize = 2;
/// The largest [`Options::level0_compaction_trigger`]: every read that
/// misses the memtables may consult each level-0 table, and each holds an
/// open file.
pub const MAX_LEVEL0_COMPACTION_TRIGGER: usize = 64;

/// Smallest `target_file_size_base` and `max_bytes_for_level_base`: below
/// this a level would hold a table per few entries.
pub const MIN_TABLE_SIZE_BYTES: u64 = 512;

/// Most levels a database may have (the MANIFEST refuses deeper ones).
pub const MAX_NUM_LEVELS: usize = 64;

/// Fewest tables that may keep their file open (`max_open_files`).
pub const MIN_OPEN_FILES: usize = 16;

/// Largest step of the log prefill (`wal_prefill_bytes`).
pub const MAX_WAL_PREFILL_BYTES: u64 = 1 << 30;

/// Options for [`crate::Db::open`].
///
/// Build them with struct-update syntax or with the chainable `with_`
/// setters; [`crate::Db::open`] checks them with [`Options::validate`].
/// With the `serde` feature they can be read from a configuration file:
/// missing fields take their defaults, unknown fields (a typo) are an error.
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
/// let same = Options::default()
///     .with_recovery_mode(RecoveryMode::TolerateCorruptedTailRecords)
///     .with_write_buffer_size(8 << 20);
/// assert_eq!(options, same);
/// assert!(options.validate().is_ok());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default, deny_unknown_fields))]
pub struct Options {
    /// What replay does with a damaged log (default PointInTimeRecovery).
    pub recovery_mode: RecoveryMode,
    /// Bytes of writes a memtable takes before it is flushed to a table
    /// (default 4 MiB). From [`MIN_WRITE_BUFFER_SIZE_BYTES`] (512 B) to
    /// [`MAX_WRITE_BUFFER_SIZE_BYTES`] (64 GiB).
    pub write_buffer_size: usize,
    /// Create the database if the directory holds none (default on).
    pub create_if_missing: bool,
    /// Fail if a database already exists (default off).
    pub error_if_exists: bool,
    /// Target size of a table's data blocks, in bytes (default 4 KiB). From
    /// [`MIN_TABLE_BLOCK_SIZE_BYTES`] (256 B) to
    /// [`MAX_TABLE_BLOCK_SIZE_BYTES`] (16 MiB).
    pub table_block_size: usize,
    /// Bloom filter bits per key in tables (default 10); 0 writes tables
    /// without a filter. At most [`MAX_BLOOM_BITS_PER_KEY`] (64).
    pub bloom_bits_per_key: usize,
    /// How many full memtables may wait for their flush before writes stall
    /// (default 2). At least 1.
    pub max_immutable_memtables: usize,
    /// When this many level-0 tables exist, they are compacted into the
    /// level below (RocksDB's `level0_file_num_compaction_trigger`; default
    /// 4); so are fewer once they hold `max_bytes_for_level_base`. From
    /// [`MIN_LEVEL0_COMPACTION_TRIGGER`] (2) to
    /// [`MAX_LEVEL0_COMPACTION_TRIGGER`] (64).
    pub level0_compaction_trigger: usize,
    /// Bytes of table data blocks kept in memory, shared by all tables
    /// (default 8 MiB). Any size; 0 caches nothing. Split into shards of
    /// at least 512 KiB (at most 64), each with its own lock and LRU order,
    /// as RocksDB's block cache is; a block larger than a shard is not
    /// cached.
    pub block_cache_size: usize,
    /// With this many level-0 tables, writes are slowed to 16 MiB/s (each
    /// group of concurrent writes committed together owes the time its
    /// bytes take at that rate, slept a millisecond or more at a time) so
    /// compaction can catch up (RocksDB's `level0_slowdown_writes_trigger`,
    /// at its default `delayed_write_rate`).
    pub level0_slowdown_writes_trigger: usize,
    /// With this many level-0 tables, writes wait until compaction brings
    /// the count down (RocksDB's `level0_stop_writes_trigger`).
    pub level0_stop_writes_trigger: usize,
    /// Target size of level 1 in bytes (default 256 MiB); each deeper
    /// level is `max_bytes_for_level_multiplier` times larger. With
    /// `level_compaction_dynamic_level_bytes`, the target of the level
    /// that level 0 compacts into.
    pub max_bytes_for_level_base: u64,
    /// Growth factor between levels (default 10).
    pub max_bytes_for_level_multiplier: u64,
    /// Size the levels from the last one up rather than from level 1 down
    /// (RocksDB's option of the same name; default on, as in RocksDB since
    /// 8.4). The last level's target is its actual size, each level above
    /// it a `max_bytes_for_level_multiplier`-th of the one below, and
    /// level 0 compacts straight into the highest level whose target
    /// reaches `max_bytes_for_level_base`; the levels above that one stay
    /// empty. So about nine tenths of the data sit in the last level
    /// whatever the database's size, and a small database does not rewrite
    /// a level 1 sized for a large one at every level-0 compaction: less
    /// write amplification. Off: LevelDB's static sizes. Either setting
    /// opens a database written with the other.
    pub level_compaction_dynamic_level_bytes: bool,
    /// Compaction output tables are cut at about this size, at a user-key
    /// boundary (RocksDB's `target_file_size_base`).
    pub target_file_size_base: u64,
    /// Number of levels, level 0 included.
    pub num_levels: usize,
    /// At most this many tables keep their file open; the least recently
    /// used is closed and reopened on its next use (RocksDB's
    /// `max_open_files`, which defaults to unlimited; here 500, so that a
    /// database with many tables opens under a descriptor limit of 1,024).
    /// At least [`MIN_OPEN_FILES`].
    pub max_open_files: usize,
    /// Once the MANIFEST has grown past this many bytes, the next edit is
    /// followed by a new MANIFEST holding a snapshot of the live state
    /// (CURRENT switched atomically, the old one removed), so a long-running
    /// database does not grow it without bound. Default 64 MiB, not
    /// RocksDB's 1 GiB: an open reads the MANIFEST whole, and refuses one
    /// larger than 1 GiB, so a limit above 512 MiB is taken as 512 MiB. A
    /// limit smaller than one snapshot rolls the MANIFEST over at every
    /// edit.
    pub max_manifest_file_size: u64,
    /// When the estimated bytes compaction still has to rewrite reach this,
    /// writes are slowed to 16 MiB/s, as past `level0_slowdown_writes_trigger` (RocksDB's
    /// `soft_pending_compaction_bytes_limit`; default 64 GiB; 0 turns it
    /// off). The estimate is RocksDB's, [`crate::Stats`] reports it as
    /// `pending_compaction_bytes`.
    pub soft_pending_compaction_bytes_limit: u64,
    /// When the estimated bytes compaction still has to rewrite reach this,
    /// writes wait until compaction brings the estimate below it (RocksDB's
    /// `hard_pending_compaction_bytes_limit`; default 256 GiB; 0 turns it
    /// off). At least `soft_pending_compaction_bytes_limit` when both are
    /// on.
    pub hard_pending_compaction_bytes_limit: u64,
    /// How the data blocks of new tables are compressed (default
    /// [`Compression::None`]; `Compression::Lz4` is LZ4 in RocksDB's block
    /// framing). A block that would not shrink by an eighth is stored as it
    /// is. Tables already written keep their blocks: each block's trailer
    /// names its codec, so a database may mix them and the option may
    /// change between opens. RocksDB's default is Snappy where it was built
    /// in; here it is off, so that a table is the same bytes as its data
    /// unless asked.
    pub compression: Compression,
    /// The log prefill's step (default 1 MiB; 0 turns it off; at most
    /// [`MAX_WAL_PREFILL_BYTES`]): before a synced write that would pass
    /// them, zeros are written one to two steps ahead of the live log, so
    /// that later syncs overwrite space the file has instead of committing
    /// a new file size (faster synced writes, for about as many bytes of
    /// zeros as the log holds). Only under PointInTimeRecovery and
    /// SkipAnyCorruptedRecords: a write torn over the zeros is a corruption
    /// that those two recover from, so the other two modes ignore this, and
    /// a prefilled log reopened after a crash under one of them may be
    /// refused. `docs/wal_format.md` ("The prefill") has the details.
    pub wal_prefill_bytes: u64,
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
            level_compaction_dynamic_level_bytes: true,
            target_file_size_base: 64 << 20,
            num_levels: 7,
            max_open_files: 500,
            max_manifest_file_size: 64 << 20,
            soft_pending_compaction_bytes_limit: 64 << 30,
            hard_pending_compaction_bytes_limit: 256 << 30,
            compression: Compression::None,
            wal_prefill_bytes: 1 << 20,
        }
    }
}

impl Options {
    /// `Err(InvalidArgument)` naming the first field outside its documented
    /// range and that range. [`crate::Db::open`] and
    /// [`crate::Db::inspect_recovery`] call it before touching the
    /// directory.
    ///
    /// ```
    /// use strata::Options;
    ///
    /// let error = Options::default().with_write_buffer_size(0).validate().unwrap_err();
    /// assert!(error.to_string().contains("write_buffer_size"), "{error}");
    /// ```
    pub fn validate(&self) -> Result<()> {
        check_range(
            "write_buffer_size",
            self.write_buffer_size as u64,
            MIN_WRITE_BUFFER_SIZE_BYTES as u64,
            MAX_WRITE_BUFFER_SIZE_BYTES,
            "bytes",
        )?;
        check_range(
            "table_block_size",
            self.table_block_size as u64,
            MIN_TABLE_BLOCK_SIZE_BYTES as u64,
            MAX_TABLE_BLOCK_SIZE_BYTES as u64,
            "bytes",
        )?;
        check_range(
            "bloom_bits_per_key",
            self.bloom_bits_per_key as u64,
            0,
            MAX_BLOOM_BITS_PER_KEY as u64,
            "bits",
        )?;
        check_range(
            "max_immutable_memtables",
            self.max_immutable_memtables as u64,
            1,
            u64::MAX,
            "memtables",
        )?;
        check_range(
            "level0_compaction_trigger",
            self.level0_compaction_trigger as u64,
            MIN_LEVEL0_COMPACTION_TRIGGER as u64,
            MAX_LEVEL0_COMPACTION_TRIGGER as u64,
            "tables",
        )?;
        // The write stalls must not start before compaction would.
        check_range(
            "level0_slowdown_writes_trigger",
            self.level0_slowdown_writes_trigger as u64,
            self.level0_compaction_trigger as u64,
            u64::MAX,
            "tables (level0_compaction_trigger)",
        )?;
        check_range(
            "level0_stop_writes_trigger",
            self.level0_stop_writes_trigger as u64,
            self.level0_slowdown_writes_trigger as u64,
            u64::MAX,
            "tables (level0_slowdown_writes_trigger)",
        )?;
        check_range(
            "max_bytes_for_level_base",
            self.max_bytes_for_level_base,
            MIN_TABLE_SIZE_BYTES,
            u64::MAX,
            "bytes",
        )?;
        check_range(
            "max_bytes_for_level_multiplier",
            self.max_bytes_for_level_multiplier,
            2,
            1_000,
            "times",
        )?;
        check_range(
            "target_file_size_base",
            self.target_file_size_base,
            MIN_TABLE_SIZE_BYTES,
            u64::MAX,
            "bytes",
        )?;
        check_range(
            "num_levels",
            self.num_levels as u64,
            2,
            MAX_NUM_LEVELS as u64,
            "levels",
        )?;
        check_range(
            "max_open_files",
            self.max_open_files as u64,
            MIN_OPEN_FILES as u64,
            u64::MAX,
            "files",
        )?;
        check_range(
            "wal_prefill_bytes",
            self.wal_prefill_bytes,
            0,
            MAX_WAL_PREFILL_BYTES,
            "bytes",
        )?;
        // Writes must be slowed down before they are stopped.
        if self.soft_pending_compaction_bytes_limit != 0
            && self.hard_pending_compaction_bytes_limit != 0
        {
            check_range(
                "hard_pending_compaction_bytes_limit",
                self.hard_pending_compaction_bytes_limit,
                self.soft_pending_compaction_bytes_limit,
                u64::MAX,
                "bytes (soft_pending_compaction_bytes_limit), or 0 for off",
            )?;
        }
        Ok(())
    }

    /// Sets [`Options::wal_prefill_bytes`] (0 turns the prefill off).
    #[must_use]
    pub fn with_wal_prefill_bytes(mut self, bytes: u64) -> Self {
        self.wal_prefill_bytes = bytes;
        self
    }

    /// Whether the live log is prefilled with these options: not where
    /// [`Options::wal_prefill_bytes`] is 0, nor under a recovery mode that
    /// would refuse a write torn over the zeros.
    ///
    /// ```
    /// use strata::{Options, RecoveryMode};
    ///
    /// assert!(Options::default().wal_prefill_active());
    /// let tolerate = Options::default().with_recovery_mode(RecoveryMode::TolerateCorruptedTailRecords);
    /// assert!(!tolerate.wal_prefill_active());
    /// ```
    #[must_use]
    pub fn wal_prefill_active(&self) -> bool {
        self.wal_prefill_step().is_some()
    }

    /// The step of the live log's prefill, or `None` where it is off
    /// ([`Options::wal_prefill_active`]).
    pub(crate) fn wal_prefill_step(&self) -> Option<u64> {
        let tolerates_torn_overwrites = matches!(
            self.recovery_mode,
            RecoveryMode::PointInTimeRecovery | RecoveryMode::SkipAnyCorruptedRecords
        );
        (tolerates_torn_overwrites && self.wal_prefill_bytes > 0).then_some(self.wal_prefill_bytes)
    }

    /// Sets [`Options::compression`].
    #[must_use]
    pub fn with_compression(mut self, compression: Compression) -> Self {
        self.compression = compression;
        self
    }

    /// Sets [`Options::recovery_mode`].
    #[must_use]
    pub fn with_recovery_mode(mut self, recovery_mode: RecoveryMode) -> Self {
        self.recovery_mode = recovery_mode;
        self
    }

    /// Sets [`Options::write_buffer_size`].
    #[must_use]
    pub fn with_write_buffer_size(mut self, bytes: usize) -> Self {
        self.write_buffer_size = bytes;
        self
    }

    /// Sets [`Options::create_if_missing`].
    #[must_use]
    pub fn with_create_if_missing(mut self, create_if_missing: bool) -> Self {
        self.create_if_missing = create_if_missing;
        self
    }

    /// Sets [`Options::error_if_exists`].
    #[must_use]
    pub fn with_error_if_exists(mut self, error_if_exists: bool) -> Self {
        self.error_if_exists = error_if_exists;
        self
    }

    /// Sets [`Options::table_block_size`].
    #[must_use]
    pub fn with_table_block_size(mut self, bytes: usize) -> Self {
        self.table_block_size = bytes;
        self
    }

    /// Sets [`Options::bloom_bits_per_key`].
    #[must_use]
    pub fn with_bloom_bits_per_key(mut self, bits: usize) -> Self {
        self.bloom_bits_per_key = bits;
        self
    }

    /// Sets [`Options::max_immutable_memtables`].
    #[must_use]
    pub fn with_max_immutable_memtables(mut self, count: usize) -> Self {
        self.max_immutable_memtables = count;
        self
    }

    /// Sets [`Options::level0_compaction_trigger`].
    #[must_use]
    pub fn with_level0_compaction_trigger(mut self, tables: usize) -> Self {
        self.level0_compaction_trigger = tables;
        self
    }

    /// Sets [`Options::block_cache_size`].
    #[must_use]
    pub fn with_block_cache_size(mut self, bytes: usize) -> Self {
        self.block_cache_size = bytes;
        self
    }
}

/// `Err(InvalidArgument)` naming `field`, its value and the allowed range
/// unless `min <= value <= max` (`max == u64::MAX`: no upper bound).
fn check_range(field: &str, value: u64, min: u64, max: u64, unit: &str) -> Result<()> {
    if (min..=max).contains(&value) {
        return Ok(());
    }
    // A unit may name where a bound comes from: "tables (level0_…)".
    let plain_unit = unit.split(" (").next().unwrap_or(unit);
    let allowed = if max == u64::MAX {
        format!("at least {min} {unit}")
    } else {
        format!("from {min} to {max} {unit}")
    };
    Err(Error::InvalidArgument(format!(
        "options.{field} is {value} {plain_unit}, but it must be {allowed} \
         (see the documentation of Options::{field})"
    )))
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
