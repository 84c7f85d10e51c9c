//! DESIGN.md §5 as code: what each recovery mode does with each problem,
//! inside one log and across logs. The replay of one log ([`crate::replay`])
//! and the engine's plan over a set of logs both ask here; no other code
//! matches on a mode.

use crate::mode::RecoveryMode;
use crate::problem::ProblemKind;

/// What a mode does with one problem.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Record the region as dropped and keep reading after it.
    DropAndContinue,
    /// Drop everything from the problem to the end of the log; whether
    /// replay goes on into newer logs is [`stops_replay`]'s answer.
    Stop,
    /// Refuse to recover: the open fails and nothing on disk changes.
    Refuse,
}

/// What `mode` does with a problem the log reader reported (or a record
/// that holds no well-formed batch).
///
/// ```
/// use strata_wal::policy::{Decision, on_problem};
/// use strata_wal::{ProblemKind, RecoveryMode};
///
/// let torn = ProblemKind::TruncatedBody;
/// assert_eq!(on_problem(RecoveryMode::TolerateCorruptedTailRecords, &torn), Decision::DropAndContinue);
/// assert_eq!(on_problem(RecoveryMode::AbsoluteConsistency, &torn), Decision::Refuse);
/// ```
#[must_use]
pub fn on_problem(mode: RecoveryMode, kind: &ProblemKind) -> Decision {
    match (mode, kind) {
        (RecoveryMode::SkipAnyCorruptedRecords, _) => Decision::DropAndContinue,
        (RecoveryMode::PointInTimeRecovery, _) => Decision::Stop,
        // A stale record of a recycled log is its end, except that
        // AbsoluteConsistency refuses one that interrupts a chain
        // (RocksDB log_reader.cc, kOldRecord).
        (
            RecoveryMode::AbsoluteConsistency,
            ProblemKind::StaleRecord {
                inside_chain: false,
            },
        )
        | (RecoveryMode::TolerateCorruptedTailRecords, ProblemKind::StaleRecord { .. }) => {
            Decision::Stop
        }
        (RecoveryMode::TolerateCorruptedTailRecords, kind) if kind.is_truncation() => {
            Decision::DropAndContinue
        }
        _ => Decision::Refuse,
    }
}

/// What `mode` does when the history does not continue: a batch whose
/// sequence is not the next expected one (inside a log or between logs), or
/// a log the MANIFEST records but the directory lacks. Deliberately stricter
/// than RocksDB, which (without `track_and_verify_wals_in_manifest`) opens
/// such databases in every mode with a hole in the history.
#[must_use]
pub fn on_discontinuity(mode: RecoveryMode) -> Decision {
    match mode {
        RecoveryMode::AbsoluteConsistency | RecoveryMode::TolerateCorruptedTailRecords => {
            Decision::Refuse
        }
        RecoveryMode::PointInTimeRecovery => Decision::Stop,
        RecoveryMode::SkipAnyCorruptedRecords => Decision::DropAndContinue,
    }
}

/// Whether a [`Decision::Stop`] under `mode` ends the whole replay (true for
/// PointInTimeRecovery: a newer log is then replayed only if it continues the
/// sequence exactly, and no table may hold anything past the stop point), or
/// only the log it happened in (a stale record under the other modes; the
/// next log must then continue the sequence like any other).
#[must_use]
pub fn stops_replay(mode: RecoveryMode) -> bool {
    mode == RecoveryMode::PointInTimeRecovery
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_skip_any_continues_past_a_corruption() {
        let corruption = ProblemKind::ChecksumMismatch;
        let decisions: Vec<Decision> = RecoveryMode::ALL
            .into_iter()
            .map(|mode| on_problem(mode, &corruption))
            .collect();
        assert_eq!(
            decisions,
            [
                Decision::Refuse,
                Decision::Refuse,
                Decision::Stop,
                Decision::DropAndContinue
            ]
        );
    }

    #[test]
    fn a_discontinuity_is_refused_by_the_strict_modes_and_stops_point_in_time() {
        let decisions: Vec<Decision> = RecoveryMode::ALL
            .into_iter()
            .map(on_discontinuity)
            .collect();
        assert_eq!(
            decisions,
            [
                Decision::Refuse,
                Decision::Refuse,
                Decision::Stop,
                Decision::DropAndContinue
            ]
        );
        assert!(stops_replay(RecoveryMode::PointInTimeRecovery));
        assert!(!stops_replay(RecoveryMode::TolerateCorruptedTailRecords));
    }
}
