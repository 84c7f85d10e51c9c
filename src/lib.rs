//! Strata: an embedded, pure-Rust LSM-tree key-value store whose write-ahead
//! log replay implements RocksDB's four recovery modes natively.
//!
//! The engine (`Db`) is being built on top of two crates that are usable on
//! their own today:
//!
//! - [`wal`] (`strata-wal`): the write-ahead log framing, reader, recovery
//!   modes and recovery report;
//! - [`sstable`] (`strata-sstable`): the sorted table format.

pub use strata_sstable as sstable;
pub use strata_wal as wal;
