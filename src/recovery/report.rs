//! The recovery report: what an open (or a dry run) read, applied, dropped
//! and kept in quarantine.

use std::fmt;
use std::path::PathBuf;

use strata_wal::{LogReport, ProblemKind, RecoveryMode};

/// A region of a log that recovery did not apply. Its bytes are copied into
/// `quarantine/` before the log is deleted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DroppedRegion {
    /// The log.
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
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecoveryReport {
    /// The mode applied.
    pub mode: RecoveryMode,
    /// Whether this report comes from a dry run that changed nothing.
    pub dry_run: bool,
    /// Every live log read, in order, with what its replay found.
    pub logs: Vec<LogReport>,
    /// Number of write batches applied.
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
