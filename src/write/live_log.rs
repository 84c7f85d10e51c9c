//! The write-ahead log the write path appends to.

use crate::version::LogWriter;

/// The log the write path appends to.
pub(crate) struct LiveLog {
    pub(crate) writer: LogWriter,
    pub(crate) number: u64,
}
