//! The write-ahead log the write path appends to.

use crate::version::LogWriter;

/// The log the write path appends to.
pub(crate) struct LiveLog {
    pub(crate) writer: LogWriter,
    pub(crate) number: u64,
    /// Logs created by memtable switches that the MANIFEST does not list
    /// yet, oldest first (the live one among them, unless a sync listed
    /// it). A log is listed, after a sync of its directory, before the
    /// first sync of it is acknowledged (`Engine::make_live_log_durable`).
    pub(crate) unlisted: Vec<u64>,
    /// How long the log file is with its prefilled zeros
    /// (`Options::wal_prefill_bytes`); 0 before its first prefill,
    /// `u64::MAX` once the disk had no room for them.
    pub(crate) prefilled: u64,
}
