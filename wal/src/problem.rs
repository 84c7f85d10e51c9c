//! What a reader can find wrong with a log, and where.

use std::fmt;

/// The kind of a problem found in a log.
///
/// The first three kinds are **truncations**: the log ends inside a header,
/// inside a body, or inside a First…Middle chain — what a killed writer leaves
/// behind. Every other kind is a **corruption**, wherever it sits.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProblemKind {
    /// The log ends with fewer bytes than a header.
    TruncatedHeader,
    /// The log ends inside a record's body.
    TruncatedBody,
    /// The log ends after a First (and maybe Middle) fragment, before the Last.
    TruncatedChain,
    /// The stored checksum does not match the record's bytes; the rest of the
    /// block is dropped, since the length field itself may be wrong.
    ChecksumMismatch,
    /// The length field points past the end of the block the record starts
    /// in: no record crosses a block boundary, so no torn write produces it.
    ImpossibleLength,
    /// A type byte this reader does not know and may not skip (bit 7 clear).
    UnknownType(u8),
    /// A Middle or Last fragment without a First before it.
    MissingFirst,
    /// A First or Full fragment arrived before the previous chain's Last; the
    /// unfinished chain is dropped.
    InterruptedChain,
    /// Zero bytes where a record should be, followed later by non-zero bytes,
    /// or zeros inside a fragment chain. Zeros from a record boundary to the
    /// end of the log are padding, not a problem.
    UnexpectedZeros,
    /// A recyclable record carrying another log's number: a leftover of an
    /// earlier use of the file. `inside_chain` tells whether it interrupted a
    /// First…Middle chain of this log.
    StaleRecord {
        /// Whether a chain of this log was in progress.
        inside_chain: bool,
    },
    /// The record is intact but its payload is not a valid write batch.
    BadBatch(String),
}

impl ProblemKind {
    /// Whether this is a truncation (the log simply ends early) rather than a
    /// corruption.
    #[must_use]
    pub fn is_truncation(&self) -> bool {
        matches!(
            self,
            ProblemKind::TruncatedHeader | ProblemKind::TruncatedBody | ProblemKind::TruncatedChain
        )
    }

    /// A short, stable, kebab-case name, used in reports and fixtures.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            ProblemKind::TruncatedHeader => "truncated-header",
            ProblemKind::TruncatedBody => "truncated-body",
            ProblemKind::TruncatedChain => "truncated-chain",
            ProblemKind::ChecksumMismatch => "checksum-mismatch",
            ProblemKind::ImpossibleLength => "impossible-length",
            ProblemKind::UnknownType(_) => "unknown-type",
            ProblemKind::MissingFirst => "missing-first",
            ProblemKind::InterruptedChain => "interrupted-chain",
            ProblemKind::UnexpectedZeros => "unexpected-zeros",
            ProblemKind::StaleRecord { .. } => "stale-record",
            ProblemKind::BadBatch(_) => "bad-batch",
        }
    }
}

impl fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProblemKind::TruncatedHeader => f.write_str("the log ends inside a record header"),
            ProblemKind::TruncatedBody => f.write_str("the log ends inside a record body"),
            ProblemKind::TruncatedChain => {
                f.write_str("the log ends inside a fragmented record (no Last fragment)")
            }
            ProblemKind::ChecksumMismatch => f.write_str("record checksum mismatch"),
            ProblemKind::ImpossibleLength => {
                f.write_str("record length reaches past the end of its block")
            }
            ProblemKind::UnknownType(byte) => write!(f, "unknown record type {byte}"),
            ProblemKind::MissingFirst => {
                f.write_str("Middle or Last fragment without a First fragment")
            }
            ProblemKind::InterruptedChain => {
                f.write_str("a new record began before the fragmented record ended")
            }
            ProblemKind::UnexpectedZeros => {
                f.write_str("zero bytes where a record was expected, with data after them")
            }
            ProblemKind::StaleRecord { inside_chain } => {
                f.write_str("record from an older log number (recycled file)")?;
                if *inside_chain {
                    f.write_str(" inside a fragmented record")?;
                }
                Ok(())
            }
            ProblemKind::BadBatch(reason) => write!(f, "invalid write batch: {reason}"),
        }
    }
}

/// With the `serde` feature a kind is written as a map: `"kind"` (the
/// [`ProblemKind::name`]), `"truncation"`, `"description"` (the `Display`
/// sentence) and the variant's detail if it has one (`"type"` for
/// `unknown-type`, `"inside_chain"` for `stale-record`, `"reason"` for
/// `bad-batch`).
#[cfg(feature = "serde")]
impl serde::Serialize for ProblemKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("kind", self.name())?;
        map.serialize_entry("truncation", &self.is_truncation())?;
        map.serialize_entry("description", &self.to_string())?;
        match self {
            ProblemKind::UnknownType(byte) => map.serialize_entry("type", byte)?,
            ProblemKind::StaleRecord { inside_chain } => {
                map.serialize_entry("inside_chain", inside_chain)?;
            }
            ProblemKind::BadBatch(reason) => map.serialize_entry("reason", reason)?,
            _ => {}
        }
        map.end()
    }
}

/// A region of a log that a reader could not turn into records.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Problem {
    /// File offset of the first dropped byte.
    pub offset: u64,
    /// Number of bytes dropped, starting at `offset`.
    pub length: u64,
    /// What was wrong.
    pub kind: ProblemKind,
}

impl Problem {
    /// The offset just past the dropped region.
    #[must_use]
    pub fn end_offset(&self) -> u64 {
        self.offset + self.length
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at offset {} ({} bytes dropped)",
            self.kind, self.offset, self.length
        )
    }
}
