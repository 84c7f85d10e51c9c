//! The error type of the engine.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// The result type of the engine.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error of the engine.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A file operation failed.
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What was being done.
        operation: &'static str,
        /// The operating system's error.
        source: io::Error,
    },
    /// Bytes on disk are not what they must be.
    Corruption {
        /// The file.
        path: PathBuf,
        /// Offset of the bad bytes in the file.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// Recovery found a problem its mode does not accept; nothing on disk
    /// was changed.
    Recovery(strata_wal::Error),
    /// Recovery found a gap or other inconsistency across logs and tables
    /// that its mode does not accept; nothing on disk was changed.
    Inconsistent {
        /// What is inconsistent, naming the files.
        reason: String,
    },
    /// A log holds an intact write batch with something Strata does not
    /// support (a column family, a merge, a range deletion); nothing on disk
    /// was changed.
    Unsupported {
        /// The log.
        path: PathBuf,
        /// Offset of the record holding the batch.
        offset: u64,
        /// What is not supported.
        reason: String,
    },
    /// A table file is damaged or could not be read or written.
    Table(strata_sstable::Error),
    /// An earlier write or sync failed; the database refuses writes until it
    /// is reopened (a retried fsync can report success for lost data).
    Poisoned {
        /// The first failure.
        cause: String,
    },
    /// Another process (or handle) has the database open.
    Locked {
        /// The lock file.
        path: PathBuf,
    },
    /// The database does not exist and `create_if_missing` is off.
    NotFound {
        /// The directory.
        path: PathBuf,
    },
    /// The database exists and `error_if_exists` is on.
    AlreadyExists {
        /// The directory.
        path: PathBuf,
    },
    /// An argument or option is out of range.
    InvalidArgument(String),
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, operation: &'static str, source: io::Error) -> Self {
        Error::Io {
            path: path.into(),
            operation,
            source,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io {
                path,
                operation,
                source,
            } => write!(f, "could not {operation} {}: {source}", path.display()),
            Error::Corruption {
                path,
                offset,
                reason,
            } => write!(
                f,
                "corruption in {} at offset {offset}: {reason}",
                path.display()
            ),
            Error::Recovery(error) => write!(f, "recovery refused: {error}"),
            Error::Inconsistent { reason } => write!(
                f,
                "recovery refused: {reason}. Nothing was changed on disk; \
                 `Db::inspect_recovery` shows what each recovery mode would do."
            ),
            Error::Unsupported {
                path,
                offset,
                reason,
            } => write!(
                f,
                "cannot recover {}: the write batch at offset {offset} holds {reason}, which \
                 Strata does not support. Nothing was changed on disk.",
                path.display()
            ),
            Error::Table(error) => write!(f, "table error: {error}"),
            Error::Poisoned { cause } => write!(
                f,
                "the database refuses writes after an earlier failure ({cause}); \
                 reopen it to recover"
            ),
            Error::Locked { path } => write!(
                f,
                "the database is in use: {} is locked by another process or handle",
                path.display()
            ),
            Error::NotFound { path } => write!(
                f,
                "no database at {} (set create_if_missing to create one)",
                path.display()
            ),
            Error::AlreadyExists { path } => write!(
                f,
                "a database already exists at {} and error_if_exists is set",
                path.display()
            ),
            Error::InvalidArgument(reason) => write!(f, "invalid argument: {reason}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            Error::Recovery(error) => Some(error),
            Error::Table(error) => Some(error),
            _ => None,
        }
    }
}

impl From<strata_wal::Error> for Error {
    fn from(error: strata_wal::Error) -> Self {
        Error::Recovery(error)
    }
}

impl From<strata_sstable::Error> for Error {
    fn from(error: strata_sstable::Error) -> Self {
        Error::Table(error)
    }
}
