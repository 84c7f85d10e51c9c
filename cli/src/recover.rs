//! `strata recover`: what recovery would do under each mode (a dry run that
//! changes nothing), or a real recovery under one chosen mode.

use std::path::Path;

use serde::Serialize;
use strata::{Db, Options, RecoveryMode, RecoveryReport};

use crate::common::{
    self, CLEAN, DAMAGE, Fail, Outcome, REFUSED, code_of, engine_failure, path_text,
};

/// The outcome under one mode.
#[derive(Serialize)]
struct ModeOutcome {
    mode: RecoveryMode,
    /// "open" or "refuse".
    outcome: &'static str,
    /// The exit code this mode alone would give.
    exit_code: u8,
    dropped_bytes: u64,
    /// The first dropped region as `file:offset` (for a refusal, where
    /// recovery refuses).
    first_drop: Option<String>,
    report: Option<RecoveryReport>,
    /// Why recovery would refuse.
    error: Option<String>,
}

#[derive(Serialize)]
struct RecoverOutput {
    directory: String,
    dry_run: bool,
    exit_code: u8,
    modes: Vec<ModeOutcome>,
}

fn outcome(
    directory: &Path,
    mode: RecoveryMode,
    result: strata::Result<RecoveryReport>,
) -> Result<ModeOutcome, Fail> {
    match result {
        Ok(report) => {
            let dropped_bytes = report.dropped.iter().map(|region| region.length).sum();
            let first_drop = report
                .dropped
                .first()
                .map(|region| format!("{}:{}", region.file.display(), region.offset));
            Ok(ModeOutcome {
                mode,
                outcome: "open",
                exit_code: if report.dropped_anything() {
                    DAMAGE
                } else {
                    CLEAN
                },
                dropped_bytes,
                first_drop,
                report: Some(report),
                error: None,
            })
        }
        Err(error) if code_of(&error) == REFUSED => Ok(ModeOutcome {
            mode,
            outcome: "refuse",
            exit_code: REFUSED,
            dropped_bytes: 0,
            first_drop: match &error {
                strata::Error::Refused { file, offset, .. } => {
                    Some(format!("{}:{offset}", file.display()))
                }
                _ => None,
            },
            report: None,
            error: Some(error.to_string()),
        }),
        Err(error) => Err(engine_failure(directory, &error)),
    }
}

/// `--dry-run` (all modes unless one is given), or a real open under `mode`.
pub(crate) fn run(
    directory: &Path,
    mode: Option<RecoveryMode>,
    dry_run: bool,
    json: bool,
) -> Outcome {
    if !dry_run && mode.is_none() {
        return Err(Fail::usage(format!(
            "pick a recovery mode to open {} with: --mode absolute-consistency, \
             tolerate-corrupted-tail-records, point-in-time-recovery or \
             skip-any-corrupted-records; or add --dry-run to compare all four without \
             changing anything",
            directory.display()
        )));
    }
    common::existing_database(directory)?;
    let modes: Vec<RecoveryMode> =
        mode.map_or_else(|| RecoveryMode::ALL.to_vec(), |mode| vec![mode]);
    let mut outcomes = Vec::new();
    for mode in modes {
        let options = Options {
            recovery_mode: mode,
            create_if_missing: false,
            ..Options::default()
        };
        let result = if dry_run {
            Db::inspect_recovery(directory, &options)
        } else {
            open_and_close(directory, options)
        };
        outcomes.push(outcome(directory, mode, result)?);
    }
    let exit_code = if outcomes.len() == 1 {
        outcomes[0].exit_code
    } else if outcomes.iter().all(|outcome| outcome.exit_code == REFUSED) {
        REFUSED
    } else if outcomes.iter().all(|outcome| outcome.exit_code == CLEAN) {
        CLEAN
    } else {
        DAMAGE
    };
    if json {
        common::print_json(&RecoverOutput {
            directory: path_text(directory),
            dry_run,
            exit_code,
            modes: outcomes,
        })?;
    } else {
        print_text(directory, dry_run, &outcomes);
    }
    Ok(exit_code)
}

fn open_and_close(directory: &Path, options: Options) -> strata::Result<RecoveryReport> {
    let db = Db::open(directory, options)?;
    let report = db.recovery_report().clone();
    db.close()?;
    Ok(report)
}

fn print_text(directory: &Path, dry_run: bool, outcomes: &[ModeOutcome]) {
    if outcomes.len() > 1 {
        outln!(
            "recovery of {} (dry run, nothing changed):",
            directory.display()
        );
        outln!(
            "{:<32} {:<8} {:>8} {:>13}  first drop (or refusal) at",
            "mode",
            "outcome",
            "batches",
            "dropped bytes"
        );
        for outcome in outcomes {
            let batches = outcome.report.as_ref().map_or_else(
                || "-".to_owned(),
                |report| report.batches_applied.to_string(),
            );
            outln!(
                "{:<32} {:<8} {:>8} {:>13}  {}",
                outcome.mode.name(),
                if outcome.outcome == "open" {
                    "opens"
                } else {
                    "REFUSES"
                },
                batches,
                outcome.dropped_bytes,
                outcome.first_drop.as_deref().unwrap_or("-")
            );
        }
        outln!();
    }
    for outcome in outcomes {
        match (&outcome.report, &outcome.error) {
            (Some(report), _) => out!("{report}"),
            (None, Some(error)) => outln!(
                "recovery under {}{} refuses: {error}",
                outcome.mode,
                if dry_run { " (dry run)" } else { "" }
            ),
            (None, None) => {}
        }
    }
}

/// The old `inspect` command: a dry run, all modes unless one is given.
pub(crate) fn inspect(directory: &Path, mode: Option<RecoveryMode>) -> Outcome {
    run(directory, mode, true, false)
}
