//! The blackbox crash test: kill -9 a writer of synced batches at random
//! moments, reopen, and check the acknowledged writes and the prefix
//! property. Each round continues the same database.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use strata::{Db, Options, RecoveryMode, WriteBatch, WriteOptions};

use crate::Failure;
use strata_powercut::{NoSyncFs, SkippedSyncs};

/// The signal `Child::kill` sends.
const SIGKILL: i32 = 9;

pub(crate) fn key(index: u64) -> Vec<u8> {
    format!("crash-test/{index:010}").into_bytes()
}

pub(crate) fn value(index: u64) -> Vec<u8> {
    format!("{index}:")
        .repeat(1 + (index % 97) as usize)
        .into_bytes()
}

/// The child: writes synced batches from `start` on, printing `ack N` after
/// each one is durable, until it is killed. With `no_sync` (the negative
/// control of the power-loss test) it opens the database on [`NoSyncFs`],
/// so its acknowledgements are lies.
pub(crate) fn writer(
    directory: &Path,
    start: u64,
    no_sync: Option<SkippedSyncs>,
    mode: RecoveryMode,
) -> Result<(), Failure> {
    let options = Options {
        write_buffer_size: 256 << 10,
        recovery_mode: mode,
        ..Options::default()
    };
    let db = match no_sync {
        Some(skipped) => Db::open_with_fs(Arc::new(NoSyncFs(skipped)), directory, options)?,
        None => Db::open(directory, options)?,
    };
    let mut stdout = std::io::stdout().lock();
    for index in start.. {
        let mut batch = WriteBatch::new();
        batch.put(key(index), value(index));
        db.write(batch, &WriteOptions::SYNC)?;
        writeln!(stdout, "ack {index}")?;
        stdout.flush()?;
    }
    Ok(())
}

/// The recovery mode of round `round`'s writer, alternately
/// TolerateCorruptedTailRecords and PointInTimeRecovery, whose writer
/// prefills its log with zeros (`Options::wal_prefill_bytes`).
fn writer_mode(round: u64) -> RecoveryMode {
    if round.is_multiple_of(2) {
        RecoveryMode::TolerateCorruptedTailRecords
    } else {
        RecoveryMode::PointInTimeRecovery
    }
}

/// Opens the database and checks it holds exactly keys `0..n` with their
/// values for some `n` past the last acknowledgement; returns `n`.
fn verify(
    directory: &Path,
    acknowledged: Option<u64>,
    writer_mode: RecoveryMode,
) -> Result<u64, Failure> {
    // A process kill leaves at most its last write torn: at the end of the
    // log, which TolerateCorruptedTailRecords must accept, or, in a log
    // prefilled with zeros, followed by zeros, which the mode that
    // prefills it (PointInTimeRecovery) must accept and
    // TolerateCorruptedTailRecords may refuse, but only that.
    let same_mode = Options {
        recovery_mode: writer_mode,
        ..Options::default()
    };
    let report = Db::inspect_recovery(directory, &same_mode)?;
    if writer_mode == RecoveryMode::PointInTimeRecovery {
        let tolerate = Options {
            recovery_mode: RecoveryMode::TolerateCorruptedTailRecords,
            ..Options::default()
        };
        if let Err(error) = Db::inspect_recovery(directory, &tolerate) {
            torn_over_zeros(&report).map_err(|why| {
                format!("tolerate-corrupted-tail-records refuses ({error}), and {why}")
            })?;
        }
    }
    let db = Db::open(directory, Options::default())?;
    let mut count = 0;
    for entry in db.iter() {
        let (k, v) = entry?;
        if k != key(count) || v != value(count) {
            return Err(
                format!("not a prefix of the writes: entry {count} is wrong or missing").into(),
            );
        }
        count += 1;
    }
    if let Some(acknowledged) = acknowledged
        && count <= acknowledged
    {
        return Err(format!("lost acknowledged write {acknowledged}: only {count} present").into());
    }
    Ok(count)
}

/// Whether `report` (a dry run under PointInTimeRecovery) shows only a
/// write torn over prefilled zeros: one region dropped, in the newest log,
/// running to its end, which is at least 64 KiB of zeros (the prefill keeps
/// a megabyte of them ahead of every synced write).
fn torn_over_zeros(report: &strata::RecoveryReport) -> Result<(), String> {
    let [region] = report.dropped.as_slice() else {
        return Err(format!(
            "the dry run drops other than one region:\n{report}"
        ));
    };
    if report.logs.last().map(|log| &log.file) != Some(&region.file) {
        return Err(format!("the region is not in the newest log:\n{report}"));
    }
    let bytes = std::fs::read(&region.file).map_err(|error| error.to_string())?;
    let zeros = bytes.iter().rev().take_while(|&&byte| byte == 0).count();
    if region.offset + region.length != bytes.len() as u64 || zeros < 64 << 10 {
        return Err(format!(
            "the region does not run into the zeros at the end of the log:\n{report}"
        ));
    }
    Ok(())
}

/// Fails unless `status` says the writer died of our SIGKILL: a writer that
/// exited on its own (an error, a panic) is a failure of its own kind, not
/// a crash to recover from.
pub(crate) fn check_killed(
    status: ExitStatus,
    round: u64,
    acknowledgements: u64,
) -> Result<(), Failure> {
    if status.signal() == Some(SIGKILL) {
        return Ok(());
    }
    Err(format!(
        "round {}: the writer exited on its own ({status}) after {acknowledgements} \
         acknowledgements, before it was killed (its error, if any, is above)",
        round + 1
    )
    .into())
}

pub(crate) fn run(
    rounds: u64,
    seconds: u64,
    directory: Option<PathBuf>,
    seed: u64,
) -> Result<(), Failure> {
    let temporary;
    let directory = match directory {
        Some(directory) => directory,
        None => {
            temporary =
                std::env::temp_dir().join(format!("strata-crash-test-{}", std::process::id()));
            temporary
        }
    };
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let executable = std::env::current_exe()?;
    let mut state = seed.max(1);
    let mut next = if directory.exists() {
        verify(&directory, None, RecoveryMode::PointInTimeRecovery)?
    } else {
        0
    };
    let mut completed = 0;
    while completed < rounds && Instant::now() < deadline {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let kill_after_acks = 1 + state % 200;
        let mut child = Command::new(&executable)
            .arg("crash-test-writer")
            .arg(&directory)
            .arg(next.to_string())
            .arg(format!("--mode={}", writer_mode(completed)))
            .stdout(Stdio::piped())
            .spawn()?;
        let stdout = BufReader::new(child.stdout.take().ok_or("no child stdout")?);
        let mut acknowledged = None;
        let mut seen = 0;
        for line in stdout.lines() {
            if let Some(index) = line?.strip_prefix("ack ") {
                acknowledged = Some(index.parse::<u64>()?);
                seen += 1;
                if seen == kill_after_acks {
                    break;
                }
            }
        }
        child.kill()?;
        let status = child.wait()?;
        check_killed(status, completed, seen)?;
        if acknowledged.is_none() {
            return Err(format!(
                "round {}: the writer acknowledged nothing ({status})",
                completed + 1
            )
            .into());
        }
        let mode = writer_mode(completed);
        next = verify(&directory, acknowledged, mode)?;
        completed += 1;
        println!(
            "round {completed}: writer under {mode} killed after {seen} acknowledgements; \
             {next} writes present, none lost"
        );
    }
    println!(
        "crash test passed: {completed} kill -9 rounds, {next} writes, no acknowledged write lost"
    );
    Ok(())
}
