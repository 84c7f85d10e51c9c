//! The recovery report: what an open (or a dry run) read, applied, dropped
//! and kept in quarantine.

use std::fmt;
use std::path::PathBuf;

use strata_wal::{LogReport, ProblemKind, RecoveryMode};

/// A region of a log that recovery did not apply. Its bytes are copied into
/// `quarantine/` before the log is deleted.
///
/// With the `serde` feature it serializes as `{ "file", "offset", "length",
/// "reason", "truncation" }`, the file as a string.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct DroppedRegion {
    /// The log.
    #[cfg_attr(feature = "serde", serde(serialize_with = "serde_paths::path"))]
    pub file: PathBuf,
    /// Offset of the first dropped byte.
    pub offset: u64,
    /// Number of bytes dropped (0 for a missing log or a gap that dropped
    /// nothing).
    pub length: u64,
    /// Why.
    pub reason: DropReason,
    /// Whether this is a truncation (the log ended early) rather than a
    /// corruption or a gap.
    pub truncation: bool,
}

/// Why recovery dropped a region or a whole log.
///
/// With the `serde` feature it is written as a map whose `"kind"` is a
/// stable kebab-case name: a problem's [`ProblemKind::name`] (with the
/// fields [`ProblemKind`] writes), or `"sequence-gap"` (with `"expected"`
/// and `"found"`), `"does-not-continue"` (with `"expected"`) or
/// `"missing-log"`; every reason also has `"description"`, its `Display`
/// sentence.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DropReason {
    /// A problem the log reader found there.
    Problem(ProblemKind),
    /// A batch does not continue the sequence: a gap (or an overlap).
    SequenceGap {
        /// The sequence the batch should have carried.
        expected: u64,
        /// The sequence it carries.
        found: u64,
    },
    /// PointInTimeRecovery had stopped in an earlier log, and this log does
    /// not start at the next expected sequence.
    DoesNotContinue {
        /// The sequence it should have started at.
        expected: u64,
    },
    /// The MANIFEST records this log, but the directory lacks it.
    MissingLog,
}

#[cfg(feature = "serde")]
impl serde::Serialize for DropReason {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let name = match self {
            DropReason::Problem(kind) => return kind.serialize(serializer),
            DropReason::SequenceGap { .. } => "sequence-gap",
            DropReason::DoesNotContinue { .. } => "does-not-continue",
            DropReason::MissingLog => "missing-log",
        };
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("kind", name)?;
        map.serialize_entry("truncation", &false)?;
        map.serialize_entry("description", &self.to_string())?;
        match self {
            DropReason::SequenceGap { expected, found } => {
                map.serialize_entry("expected", expected)?;
                map.serialize_entry("found", found)?;
            }
            DropReason::DoesNotContinue { expected } => {
                map.serialize_entry("expected", expected)?;
            }
            DropReason::Problem(_) | DropReason::MissingLog => {}
        }
        map.end()
    }
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DropReason::Problem(kind) => kind.fmt(f),
            DropReason::SequenceGap { expected, found } => {
                write!(f, "sequence gap: expected {expected}, found {found}")
            }
            DropReason::DoesNotContinue { expected } => write!(
                f,
                "replay stopped in an earlier log and this log does not continue at sequence {expected}"
            ),
            DropReason::MissingLog => {
                f.write_str("the MANIFEST records this log but it is missing")
            }
        }
    }
}

/// What recovery did (or, for a dry run, would do).
///
/// With the `serde` feature it serializes field by field (paths as strings,
/// `sequence_range` as `[first, last]` or `null`), plus
/// `"missing_sequences"` ([`RecoveryReport::missing_sequences`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecoveryReport {
    /// The mode applied.
    pub mode: RecoveryMode,
    /// Whether this report comes from a dry run that changed nothing.
    pub dry_run: bool,
    /// Every live log read, in order, with what its replay found.
    pub logs: Vec<LogReport>,
    /// Number of write batches applied that hold at least one update. The
    /// empty marker batch that recovery (and the creation of a database)
    /// writes at the start of each new log is not counted.
    pub batches_applied: u64,
    /// Number of updates (puts and deletes) applied.
    pub updates_applied: u64,
    /// The sequence range recovered from the logs (first, last), if any.
    pub sequence_range: Option<(u64, u64)>,
    /// The last sequence number of the recovered state.
    pub last_sequence: u64,
    /// Regions (and whole logs) not applied.
    pub dropped: Vec<DroppedRegion>,
    /// Files written into `quarantine/` with the dropped bytes.
    pub quarantined: Vec<PathBuf>,
}

#[cfg(feature = "serde")]
impl serde::Serialize for RecoveryReport {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let quarantined: Vec<std::borrow::Cow<'_, str>> = self
            .quarantined
            .iter()
            .map(|path| path.to_string_lossy())
            .collect();
        let mut report = serializer.serialize_struct("RecoveryReport", 10)?;
        report.serialize_field("mode", &self.mode)?;
        report.serialize_field("dry_run", &self.dry_run)?;
        report.serialize_field("logs", &self.logs)?;
        report.serialize_field("batches_applied", &self.batches_applied)?;
        report.serialize_field("updates_applied", &self.updates_applied)?;
        report.serialize_field("sequence_range", &self.sequence_range)?;
        report.serialize_field("last_sequence", &self.last_sequence)?;
        report.serialize_field("missing_sequences", &self.missing_sequences())?;
        report.serialize_field("dropped", &self.dropped)?;
        report.serialize_field("quarantined", &quarantined)?;
        report.end()
    }
}

#[cfg(feature = "serde")]
mod serde_paths {
    use std::path::Path;

    /// Paths are written as strings (lossily if they are not UTF-8).
    pub(super) fn path<S: serde::Serializer>(
        path: &Path,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&path.to_string_lossy())
    }
}

impl RecoveryReport {
    /// The sequence ranges recovery skipped over (SkipAnyCorruptedRecords
    /// goes on after a gap): the writes numbered there were lost with the
    /// dropped bytes. Empty when the result is a prefix of the history.
    #[must_use]
    pub fn missing_sequences(&self) -> Vec<(u64, u64)> {
        let Some((_, last)) = self.sequence_range else {
            return Vec::new();
        };
        self.dropped
            .iter()
            .filter_map(|region| match region.reason {
                // A gap that replay went on past; one it stopped at ends
                // the recovered range instead.
                DropReason::SequenceGap { expected, found }
                    if found > expected && found <= last =>
                {
                    Some((expected, found - 1))
                }
                _ => None,
            })
            .collect()
    }

    /// Whether recovery dropped anything.
    #[must_use]
    pub fn dropped_anything(&self) -> bool {
        !self.dropped.is_empty()
    }
}

impl fmt::Display for RecoveryReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "recovery under {}{}: logs read: {}, {} batches ({} updates) applied, last sequence {}",
            self.mode,
            if self.dry_run { " (dry run)" } else { "" },
            self.logs.len(),
            self.batches_applied,
            self.updates_applied,
            self.last_sequence
        )?;
        if let Some((first, last)) = self.sequence_range {
            let holes = self.missing_sequences();
            if holes.is_empty() {
                writeln!(f, "  sequences {first}..={last} came from the logs")?;
            } else {
                let listed: Vec<String> = holes
                    .iter()
                    .map(|(low, high)| format!("{low}..={high}"))
                    .collect();
                writeln!(
                    f,
                    "  sequences {first}..={last} came from the logs except {} (lost with dropped bytes)",
                    listed.join(", ")
                )?;
            }
        }
        for region in &self.dropped {
            writeln!(
                f,
                "  dropped {} bytes of {} at offset {}: {} ({})",
                region.length,
                region.file.display(),
                region.offset,
                region.reason,
                if region.truncation {
                    "truncation"
                } else {
                    "corruption or gap"
                }
            )?;
        }
        for file in &self.quarantined {
            writeln!(f, "  kept in {}", file.display())?;
        }
        Ok(())
    }
}
