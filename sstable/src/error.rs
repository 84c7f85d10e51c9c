//! The error type of the table crate.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// An error of the table crate.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// Reading a table failed.
    Io {
        /// The table, as named when it was opened.
        file: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// Writing a table failed; the partial file is unusable.
    Write {
        /// The writer's error.
        source: io::Error,
    },
    /// The table's bytes are damaged or are not a table.
    Corruption {
        /// The table, as named when it was opened.
        file: PathBuf,
        /// File offset of the damaged block, footer or entry.
        offset: u64,
        /// What is wrong there.
        reason: String,
    },
    /// A key was added to a table builder out of order.
    OutOfOrder {
        /// The key added before.
        previous: Vec<u8>,
        /// The key that does not sort after it.
        got: Vec<u8>,
    },
    /// A key given to a table builder is not a valid internal key.
    InvalidKey {
        /// The key.
        key: Vec<u8>,
        /// Why it is not valid.
        reason: &'static str,
    },
    /// A key or value is larger than a table entry can hold (4 GiB - 1).
    EntryTooLarge {
        /// Key length in bytes.
        key_bytes: usize,
        /// Value length in bytes.
        value_bytes: usize,
    },
    /// The table builder failed earlier and accepts no more calls.
    BuilderFailed,
}

impl Error {
    /// Whether this error reports damaged table bytes.
    #[must_use]
    pub fn is_corruption(&self) -> bool {
        matches!(self, Error::Corruption { .. })
    }
}

fn escaped(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { file, source } => {
                write!(f, "I/O error reading table {}: {source}", file.display())
            }
            Error::Write { source } => write!(
                f,
                "writing the table failed: {source}. The partial file is unusable; delete it \
                 and build the table again."
            ),
            Error::Corruption {
                file,
                offset,
                reason,
            } => write!(
                f,
                "corruption in table {} at offset {offset}: {reason}. The table cannot be \
                 trusted; restore it from a replica or rebuild it from its source.",
                file.display()
            ),
            Error::OutOfOrder { previous, got } => write!(
                f,
                "key \"{}\" was added after \"{}\", but table keys must be added in strictly \
                 increasing internal-key order.",
                escaped(got),
                escaped(previous)
            ),
            Error::InvalidKey { key, reason } => write!(
                f,
                "key \"{}\" is not a valid internal key: {reason}.",
                escaped(key)
            ),
            Error::EntryTooLarge {
                key_bytes,
                value_bytes,
            } => write!(
                f,
                "an entry with a {key_bytes}-byte key and a {value_bytes}-byte value is too \
                 large; keys and values must each be shorter than 4 GiB."
            ),
            Error::BuilderFailed => write!(
                f,
                "the table builder failed earlier and accepts no more calls; start a new table."
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } | Error::Write { source } => Some(source),
            _ => None,
        }
    }
}

/// The result type of the table crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
