//! The error type of the log crate.

use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::mode::RecoveryMode;
use crate::problem::ProblemKind;

/// An error of the log crate.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing a log failed.
    Io {
        /// The log.
        file: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// The log holds a problem the recovery mode does not accept.
    Corruption {
        /// The log.
        file: PathBuf,
        /// File offset of the problem.
        offset: u64,
        /// What is wrong there.
        kind: ProblemKind,
        /// The mode that refused it.
        mode: RecoveryMode,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { file, source } => {
                write!(f, "I/O error on log {}: {source}", file.display())
            }
            Error::Corruption {
                file,
                offset,
                kind,
                mode,
            } => {
                let what = if kind.is_truncation() {
                    "truncation"
                } else {
                    "corruption"
                };
                write!(
                    f,
                    "{what} in log {} at offset {offset}: {kind}. Recovery mode {mode} does not \
                     accept it. Recovering with point-in-time-recovery would keep the \
                     records before it and drop the rest.",
                    file.display()
                )
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            Error::Corruption { .. } => None,
        }
    }
}
