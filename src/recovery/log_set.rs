//! Reading a directory of logs without a MANIFEST (RocksDB's WAL files, for
//! example) through the same read-only pass `Db::open` runs.

use std::path::Path;

use strata_wal::{Checksum, RecoveryMode, ReplayedBatch};

use super::plan::{for_each_kept_batch, plan};
use super::report::RecoveryReport;
use crate::error::Result;
use crate::fs::FileSystem;
use crate::version::VersionState;

/// How to read a directory of logs that has no Strata MANIFEST, such as the
/// WAL files of a RocksDB database.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogSetOptions {
    /// The checksum algorithm of the logs (CRC-32C for RocksDB's).
    pub checksum: Checksum,
    /// The sequence number the oldest log must start at.
    pub first_sequence: u64,
}

impl Default for LogSetOptions {
    fn default() -> Self {
        LogSetOptions {
            checksum: Checksum::Crc32,
            first_sequence: 1,
        }
    }
}

/// What [`recover_log_set`] decided: the report and the batches to apply.
#[derive(Clone, Debug)]
pub struct LogSetRecovery {
    /// The same report a dry run of `Db::open` gives.
    pub report: RecoveryReport,
    /// The write batches to apply, in order.
    pub batches: Vec<ReplayedBatch>,
}

/// Runs the read-only pass of recovery — the code `Db::open` runs — over
/// every `NNNNNN.log` in `directory`, under `mode`, without a MANIFEST and
/// without changing anything. Used to compare Strata's decisions with
/// RocksDB's on WAL files RocksDB wrote.
pub fn recover_log_set(
    fs: &dyn FileSystem,
    directory: &Path,
    mode: RecoveryMode,
    options: LogSetOptions,
) -> Result<LogSetRecovery> {
    let state = VersionState {
        flushed_sequence: options.first_sequence.saturating_sub(1),
        ..VersionState::default()
    };
    let plan = plan(fs, directory, &state, mode, options.checksum)?;
    let mut batches = Vec::new();
    for log in &plan.logs {
        for_each_kept_batch(fs, log, mode, plan.checksum, |batch| {
            batches.push(batch.to_batch());
            Ok(())
        })?;
    }
    Ok(LogSetRecovery {
        report: plan.report,
        batches,
    })
}
