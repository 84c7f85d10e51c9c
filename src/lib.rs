//! Strata: an embedded, pure-Rust LSM-tree key-value store whose write-ahead
//! log replay implements RocksDB's four recovery modes natively, reports
//! what it did, and keeps whatever it drops in `quarantine/`.
//!
//! ```
//! use strata::{Db, Options, RecoveryMode, WriteOptions, WriteBatch};
//!
//! let directory = tempfile::tempdir()?;
//! let options = Options {
//!     recovery_mode: RecoveryMode::TolerateCorruptedTailRecords,
//!     ..Options::default()
//! };
//! {
//!     let db = Db::open(directory.path(), options.clone())?;
//!     let mut batch = WriteBatch::new();
//!     batch.put(b"raft/term", b"7").put(b"raft/vote", b"node-2");
//!     db.write(batch, &WriteOptions::SYNC)?;
//! }
//! let db = Db::open(directory.path(), options)?;
//! assert_eq!(db.get(b"raft/term")?, Some(b"7".to_vec()));
//! println!("{}", db.recovery_report());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
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
mod version;
mod write;

pub use db::Db;
pub use error::{Error, ErrorKind, RefusalReason, Result};
pub use options::{Options, WriteOptions};
pub use read::iterator::DbIterator;
pub use read::snapshot::Snapshot;
pub use recovery::{
    DropReason, DroppedRegion, LogSetOptions, LogSetRecovery, RecoveryReport, recover_log_set,
};
pub use stats::{LevelSummary, Stats};
pub use strata_wal::{
    Checksum, LogEnd, LogReport, ParseRecoveryModeError, ProblemKind, RecoveryMode, ReplayedBatch,
};
pub use write::batch::{MAX_FIELD_BYTES, WriteBatch};

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
