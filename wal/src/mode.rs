//! The four recovery modes, named as RocksDB names them.

use std::fmt;
use std::str::FromStr;

/// What replay does when a log is damaged. The full contract is the table in
/// `docs/wal_format.md` (and DESIGN.md §5).
///
/// A mode is written in kebab-case, and read (by [`str::parse`] and, with
/// the `serde` feature, by serde) in kebab-case, as rust-rocksdb's
/// `DBRecoveryMode` variant names it (`PointInTime`), or as RocksDB names it
/// (`kPointInTimeRecovery`).
///
/// ```
/// use strata_wal::RecoveryMode;
///
/// let mode: RecoveryMode = "tolerate-corrupted-tail-records".parse()?;
/// assert_eq!(mode, "kTolerateCorruptedTailRecords".parse()?);
/// assert_eq!(mode, "TolerateCorruptedTailRecords".parse()?);
/// assert_eq!(
///     "PointInTime".parse::<RecoveryMode>()?,
///     RecoveryMode::PointInTimeRecovery
/// );
/// assert_eq!(RecoveryMode::default(), RecoveryMode::PointInTimeRecovery);
/// assert_eq!(mode.to_string(), "tolerate-corrupted-tail-records");
/// # Ok::<(), strata_wal::ParseRecoveryModeError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
pub enum RecoveryMode {
    /// Any problem in any log, even the torn tail a crash leaves, fails the
    /// open. Not crash-safe: use it only for logs known to be complete.
    AbsoluteConsistency,
    /// A truncated last record (the log simply ends early) is dropped; any
    /// corruption fails the open.
    TolerateCorruptedTailRecords,
    /// Replay stops at the first problem; what follows is dropped (and kept in
    /// quarantine). The result is always a prefix of the write history.
    #[default]
    PointInTimeRecovery,
    /// Every damaged region is skipped and everything readable after it is
    /// replayed. The result may have holes.
    SkipAnyCorruptedRecords,
}

impl RecoveryMode {
    /// All four modes, strictest first.
    pub const ALL: [RecoveryMode; 4] = [
        RecoveryMode::AbsoluteConsistency,
        RecoveryMode::TolerateCorruptedTailRecords,
        RecoveryMode::PointInTimeRecovery,
        RecoveryMode::SkipAnyCorruptedRecords,
    ];

    /// The kebab-case name (`point-in-time-recovery`).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            RecoveryMode::AbsoluteConsistency => "absolute-consistency",
            RecoveryMode::TolerateCorruptedTailRecords => "tolerate-corrupted-tail-records",
            RecoveryMode::PointInTimeRecovery => "point-in-time-recovery",
            RecoveryMode::SkipAnyCorruptedRecords => "skip-any-corrupted-records",
        }
    }

    /// rust-rocksdb's `DBRecoveryMode` variant name (`PointInTime`).
    #[must_use]
    pub fn rust_rocksdb_name(self) -> &'static str {
        match self {
            RecoveryMode::AbsoluteConsistency => "AbsoluteConsistency",
            RecoveryMode::TolerateCorruptedTailRecords => "TolerateCorruptedTailRecords",
            RecoveryMode::PointInTimeRecovery => "PointInTime",
            RecoveryMode::SkipAnyCorruptedRecords => "SkipAnyCorruptedRecord",
        }
    }

    /// RocksDB's name (`kPointInTimeRecovery`).
    #[must_use]
    pub fn rocksdb_name(self) -> &'static str {
        match self {
            RecoveryMode::AbsoluteConsistency => "kAbsoluteConsistency",
            RecoveryMode::TolerateCorruptedTailRecords => "kTolerateCorruptedTailRecords",
            RecoveryMode::PointInTimeRecovery => "kPointInTimeRecovery",
            RecoveryMode::SkipAnyCorruptedRecords => "kSkipAnyCorruptedRecords",
        }
    }
}

impl fmt::Display for RecoveryMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The text given to [`RecoveryMode::from_str`] names no mode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseRecoveryModeError {
    given: String,
}

impl fmt::Display for ParseRecoveryModeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown recovery mode {:?}; use one of absolute-consistency, \
             tolerate-corrupted-tail-records, point-in-time-recovery, \
             skip-any-corrupted-records (rust-rocksdb's AbsoluteConsistency, \
             TolerateCorruptedTailRecords, PointInTime, SkipAnyCorruptedRecord and \
             RocksDB's kAbsoluteConsistency etc. are accepted too)",
            self.given
        )
    }
}

impl std::error::Error for ParseRecoveryModeError {}

/// Reads a mode through [`FromStr`], so serde accepts exactly the names
/// `str::parse` does, and a wrong one is an error listing them.
#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for RecoveryMode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl FromStr for RecoveryMode {
    type Err = ParseRecoveryModeError;

    /// Accepts the kebab-case names, rust-rocksdb's variant names and
    /// RocksDB's `k`-prefixed names, exactly as spelled (no case folding, so
    /// a typo is an error rather than a guess).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        RecoveryMode::ALL
            .into_iter()
            .find(|mode| {
                text == mode.name()
                    || text == mode.rust_rocksdb_name()
                    || text == mode.rocksdb_name()
            })
            .ok_or_else(|| ParseRecoveryModeError {
                given: text.to_owned(),
            })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn every_mode_parses_from_both_spellings_and_displays_kebab_case() {
        for mode in RecoveryMode::ALL {
            assert_eq!(mode.name().parse::<RecoveryMode>().unwrap(), mode);
            assert_eq!(mode.rocksdb_name().parse::<RecoveryMode>().unwrap(), mode);
            assert_eq!(
                mode.rust_rocksdb_name().parse::<RecoveryMode>().unwrap(),
                mode
            );
            assert_eq!(mode.to_string(), mode.name());
        }
    }

    #[test]
    fn unknown_names_are_rejected_with_the_valid_choices() {
        for typo in [
            "point-in-time",
            "pointintime",
            "kPointInTime",
            "SkipAnyCorruptedRecords",
            "",
        ] {
            let error = typo.parse::<RecoveryMode>().unwrap_err();
            assert!(
                error.to_string().contains("point-in-time-recovery"),
                "{typo}"
            );
        }
    }
}
