//! The error type of the engine.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use strata_wal::RecoveryMode;

use crate::recovery::DropReason;

/// The result type of the engine.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error of the engine. Cheap to clone: every member of a failed write
/// group gets the same error the group's leader saw.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Error {
    /// A file operation failed.
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What was being done.
        operation: &'static str,
        /// The operating system's error.
        source: Arc<io::Error>,
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
    /// Recovery found something its mode does not accept; nothing on disk
    /// was changed. The same facts appear as a dropped region of the
    /// recovery report under a mode that tolerates them.
    Refused {
        /// The mode that refused.
        mode: RecoveryMode,
        /// The log (or, for [`RefusalReason::TablesAhead`], the table).
        file: PathBuf,
        /// Offset of the problem in `file`.
        offset: u64,
        /// What was found.
        reason: RefusalReason,
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
    Table(Arc<strata_sstable::Error>),
    /// An earlier write or sync failed; the database refuses writes until it
    /// is reopened (a retried fsync can report success for lost data).
    Poisoned {
        /// The first failure.
        cause: Box<Error>,
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
    /// The directory holds database files but no `CURRENT`: it is not a
    /// database Strata can open, and it is not empty either. Nothing was
    /// changed.
    MissingCurrent {
        /// The directory.
        path: PathBuf,
        /// The database files found (MANIFESTs, tables, logs).
        found: Vec<String>,
    },
    /// An argument or option is out of range.
    InvalidArgument(String),
}

/// Why recovery refused to open a database.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RefusalReason {
    /// A region the mode would have had to drop (a reader problem, a gap in
    /// the sequence, a missing log).
    Dropped(DropReason),
    /// Replay stopped at `recovered_sequence`, but a table already holds a
    /// newer write: opening would lose it.
    TablesAhead {
        /// The last sequence the logs could give.
        recovered_sequence: u64,
        /// The largest sequence in the table.
        table_sequence: u64,
    },
}

/// The kind of an [`Error`], for callers that branch on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// [`Error::Io`].
    Io,
    /// [`Error::Corruption`], or a table's bytes are damaged.
    Corruption,
    /// [`Error::Refused`].
    Refused,
    /// [`Error::Unsupported`].
    Unsupported,
    /// [`Error::Table`] other than damaged bytes.
    Table,
    /// [`Error::Poisoned`].
    Poisoned,
    /// [`Error::Locked`].
    Locked,
    /// [`Error::NotFound`].
    NotFound,
    /// [`Error::AlreadyExists`].
    AlreadyExists,
    /// [`Error::MissingCurrent`].
    MissingCurrent,
    /// [`Error::InvalidArgument`].
    InvalidArgument,
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, operation: &'static str, source: io::Error) -> Self {
        Error::Io {
            path: path.into(),
            operation,
            source: Arc::new(source),
        }
    }

    /// What kind of error this is.
    #[must_use]
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Io { .. } => ErrorKind::Io,
            Error::Corruption { .. } => ErrorKind::Corruption,
            Error::Refused { .. } => ErrorKind::Refused,
            Error::Unsupported { .. } => ErrorKind::Unsupported,
            Error::Table(error) => match error.as_ref() {
                strata_sstable::Error::Corruption { .. } => ErrorKind::Corruption,
                _ => ErrorKind::Table,
            },
            Error::Poisoned { .. } => ErrorKind::Poisoned,
            Error::Locked { .. } => ErrorKind::Locked,
            Error::NotFound { .. } => ErrorKind::NotFound,
            Error::AlreadyExists { .. } => ErrorKind::AlreadyExists,
            Error::MissingCurrent { .. } => ErrorKind::MissingCurrent,
            Error::InvalidArgument(_) => ErrorKind::InvalidArgument,
        }
    }

    /// Whether bytes on disk were found damaged: a corruption, or a
    /// recovery refusal.
    #[must_use]
    pub fn is_corruption(&self) -> bool {
        matches!(self.kind(), ErrorKind::Corruption | ErrorKind::Refused)
    }

    /// The operating system's error kind behind this error, if an I/O
    /// failure caused it (seen through [`Error::Poisoned`]): for example
    /// `StorageFull` when the disk filled.
    #[must_use]
    pub fn io_error_kind(&self) -> Option<io::ErrorKind> {
        match self {
            Error::Io { source, .. } => Some(source.kind()),
            Error::Poisoned { cause } => cause.io_error_kind(),
            Error::Table(error) => match error.as_ref() {
                strata_sstable::Error::Io { source, .. } => Some(source.kind()),
                _ => None,
            },
            _ => None,
        }
    }

    /// Converts a refusal of one log's replay into the engine's error.
    pub(crate) fn from_replay(error: strata_wal::Error) -> Self {
        match error {
            strata_wal::Error::Corruption {
                file,
                offset,
                kind,
                mode,
            } => Error::Refused {
                mode,
                file,
                offset,
                reason: RefusalReason::Dropped(DropReason::Problem(kind)),
            },
            strata_wal::Error::Io { file, source } => Error::io(file, "read", source),
            other => Error::Corruption {
                path: PathBuf::new(),
                offset: 0,
                reason: other.to_string(),
            },
        }
    }
}

impl fmt::Display for RefusalReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RefusalReason::Dropped(reason) => reason.fmt(f),
            RefusalReason::TablesAhead {
                recovered_sequence,
                table_sequence,
            } => write!(
                f,
                "tables are ahead of the log: replay stopped at sequence {recovered_sequence} \
                 but the table holds sequence {table_sequence}"
            ),
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
            Error::Refused {
                mode,
                file,
                offset,
                reason,
            } => {
                let what = match reason {
                    RefusalReason::Dropped(DropReason::Problem(kind)) if kind.is_truncation() => {
                        "truncation"
                    }
                    RefusalReason::Dropped(DropReason::Problem(_)) => "corruption",
                    _ => "inconsistency",
                };
                write!(
                    f,
                    "recovery refused: {what} in {} at offset {offset}: {reason}. Recovery mode \
                     {mode} does not accept it; nothing was changed on disk. \
                     `Db::inspect_recovery` (or `strata recover DIR --dry-run`) shows what each \
                     recovery mode would do.",
                    file.display()
                )
            }
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
            Error::MissingCurrent { path, found } => write!(
                f,
                "{} holds database files ({}) but no CURRENT file naming the live MANIFEST; \
                 refusing to treat it as a new database, which would delete them. Nothing was \
                 changed. Restore CURRENT (one line: the name of the newest MANIFEST-NNNNNN) \
                 or move the files away.",
                path.display(),
                found.join(", ")
            ),
            Error::InvalidArgument(reason) => write!(f, "invalid argument: {reason}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source.as_ref()),
            Error::Table(error) => Some(error.as_ref()),
            Error::Poisoned { cause } => Some(cause.as_ref()),
            _ => None,
        }
    }
}

impl From<strata_sstable::Error> for Error {
    fn from(error: strata_sstable::Error) -> Self {
        Error::Table(Arc::new(error))
    }
}
