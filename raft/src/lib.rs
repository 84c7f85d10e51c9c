//! Raft log storage on Strata: raft-rs's [`raft::Storage`] implemented on a
//! Strata database ([`RaftStorage`]), and a three-node test cluster whose
//! chaos test kills nodes mid-write and restarts them under a chosen
//! recovery mode ([`cluster`]).
//!
//! The layout follows what Raft metadata stores built on RocksDB use: one
//! keyspace, keys of a one-byte discriminator plus (for entries) a
//! big-endian index, every change one synced write batch, the last index
//! found by seeking to the last entry key, a conflicting suffix deleted in
//! the same batch that appends its replacement.
//!
//! The recovery mode is `strata::Options::recovery_mode` given to
//! [`RaftStorage::open`]: TolerateCorruptedTailRecords or
//! PointInTimeRecovery start after a crash that tore the log's last record;
//! AbsoluteConsistency refuses with an error naming the file and offset,
//! and `strata::Db::inspect_recovery` says, without changing anything, what
//! another mode would keep. Keep one mode across restarts: under
//! PointInTimeRecovery the log is prefilled with zeros for faster synced
//! writes (`strata::Options::wal_prefill_bytes`), and a crash in the middle
//! of a write over them leaves what TolerateCorruptedTailRecords refuses
//! and PointInTimeRecovery recovers.

pub mod cluster;
pub mod keys;
mod storage;

pub use storage::{CorruptRaftState, OpenError, RaftStorage};
