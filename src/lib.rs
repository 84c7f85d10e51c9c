//! Strata: an embedded, pure-Rust LSM-tree key-value store whose write-ahead
//! log replay implements RocksDB's four recovery modes natively, reports
//! what it did, and keeps whatever it drops in `quarantine/`.
//!
//! ```
//! use strata::{Db, Options, RecoveryMode, WriteOptions, WriteBatch};
//!
//! let directory = tempfile::tempdir()?;
//! let options = Options::default().with_recovery_mode(RecoveryMode::TolerateCorruptedTailRecords);
//! {
//!     let db = Db::open(directory.path(), options.clone())?;
//!     let mut batch = WriteBatch::new();
//!     batch.put("raft/term", "7").put("raft/vote", "node-2");
//!     db.write(batch, &WriteOptions::SYNC)?; // durable before it returns
//!     db.put("raft/applied", "41")?; // survives a process crash, not a power cut...
//!     db.sync_wal()?; // ...until the log is synced
//!     db.close()?; // reports what Drop would have to swallow
//! }
//! let db = Db::open(directory.path(), options)?;
//! assert_eq!(db.get("raft/term")?, Some(b"7".to_vec()));
//! let newest_key_first: Vec<Vec<u8>> = db
//!     .prefix("raft/")
//!     .rev()
//!     .map(|entry| entry.map(|(key, _)| key))
//!     .collect::<Result<_, _>>()?;
//! assert_eq!(newest_key_first[0], b"raft/vote");
//! println!("{}", db.recovery_report());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! What a rust-rocksdb or fjall user looks for:
//! - [`Options`], checked at open by [`Options::validate`] (each field
//!   documents its range; the bounds are the `MIN_`/`MAX_` constants here),
//!   built with struct-update syntax or `with_` setters, and (feature
//!   `serde`) read from configuration files that may name the recovery mode
//!   as rust-rocksdb or RocksDB does.
//! - Keys and values as anything that is bytes (`impl AsRef<[u8]>`);
//!   ranges in the usual spellings ([`KeyRange`]).
//! - [`DbIterator`] runs both ways (`.rev()`, `next_back`); [`Db::prefix`].
//! - [`Snapshot`] reads on the snapshot itself: [`Snapshot::get`],
//!   [`Snapshot::iter`], [`Snapshot::range`], [`Snapshot::prefix`].
//! - [`Db::sync_wal`] and [`Db::close`].
//! - [`Db::stats`] (WAL bytes and syncs, group-commit sizes, flushes,
//!   compactions, stall time, block-cache hits and misses) and, with the
//!   `tracing` feature (on by default), events for each log recovered, each
//!   dropped region (file, offset, length, reason), quarantine files,
//!   recovery progress, flushes, compactions, write stalls and poisoning,
//!   under the targets `strata::recovery`, `strata::flush`,
//!   `strata::compaction` and `strata::write`.
//!
//! The crates underneath are usable on their own: `strata-wal` (the log
//! framing, reader, modes and per-log report) and `strata-sstable` (the
//! table format). The types of theirs that appear in Strata's API (the
//! recovery mode, the per-log report, problem kinds) are re-exported here.

mod compaction;
mod db;
mod directory;
mod engine;
mod error;
mod flush;
pub mod fs;
mod key;
mod levels;
mod memtable;
mod options;
mod read;
mod recovery;
mod state;
mod stats;
mod table;
mod table_cache;
mod trace;
mod version;
mod write;

pub use db::Db;
pub use error::{Error, ErrorKind, RefusalReason, Result};
pub use options::{
    MAX_BLOOM_BITS_PER_KEY, MAX_LEVEL0_COMPACTION_TRIGGER, MAX_NUM_LEVELS,
    MAX_TABLE_BLOCK_SIZE_BYTES, MAX_WAL_PREFILL_BYTES, MAX_WRITE_BUFFER_SIZE_BYTES,
    MIN_LEVEL0_COMPACTION_TRIGGER, MIN_OPEN_FILES, MIN_TABLE_BLOCK_SIZE_BYTES,
    MIN_TABLE_SIZE_BYTES, MIN_WRITE_BUFFER_SIZE_BYTES, Options, WriteOptions,
};
pub use read::iterator::DbIterator;
pub use read::key_range::KeyRange;
pub use read::snapshot::Snapshot;
pub use recovery::{
    DropReason, DroppedRegion, LogSetOptions, LogSetRecovery, RecoveryReport, recover_log_set,
};
pub use stats::{LevelSummary, Stats};
pub use strata_sstable::Compression;
pub use strata_wal::{
    Checksum, LogEnd, LogReport, ParseRecoveryModeError, ProblemKind, RecoveryMode, ReplayedBatch,
};
pub use version::dump::{ManifestDump, ManifestEdit, ManifestProblem, ManifestTable};
pub use write::batch::{MAX_FIELD_BYTES, MAX_KEY_BYTES, WriteBatch};

/// Entry points for the fuzz targets: decoders of on-disk bytes that are
/// not public API. Not part of the stable interface.
#[doc(hidden)]
pub mod fuzzing {
    /// Decodes a MANIFEST's bytes into the state they describe; every outcome
    /// must be a value or an error, never a panic.
    pub fn read_manifest(bytes: &[u8]) -> bool {
        crate::version::manifest::read(std::path::Path::new("MANIFEST-fuzz"), bytes).is_ok()
    }

    /// Decodes one version edit and checks that re-encoding round-trips.
    pub fn version_edit_round_trip(bytes: &[u8]) {
        if let Ok(edit) = crate::version::VersionEdit::decode(bytes) {
            let again = crate::version::VersionEdit::decode(&edit.encode());
            assert_eq!(again.ok(), Some(edit));
        }
    }
}
