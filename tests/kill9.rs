//! kill -9 on the real file system: a child process writes synced batches
//! and reports each acknowledgement over a pipe; the parent kills it at a
//! random moment, reopens, and checks that every acknowledged write is there
//! and that what is there is a prefix of what was written. 20 rounds, each
//! continuing the same database, the child's recovery mode alternately
//! TolerateCorruptedTailRecords and PointInTimeRecovery (whose log is
//! prefilled with zeros for the synced writes).
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use strata::{Db, Options, RecoveryMode, WriteBatch, WriteOptions};

const DIRECTORY_VARIABLE: &str = "STRATA_KILL9_DIRECTORY";
const START_VARIABLE: &str = "STRATA_KILL9_START";
const MODE_VARIABLE: &str = "STRATA_KILL9_MODE";
const ROUNDS: u64 = 20;

fn key(index: u64) -> Vec<u8> {
    format!("key{index:08}").into_bytes()
}

fn value(index: u64) -> Vec<u8> {
    format!("value-{index}-")
        .repeat(1 + (index % 50) as usize)
        .into_bytes()
}

/// The child: runs only when the parent sets the directory variable.
#[test]
#[ignore = "run by acknowledged_synced_writes_survive_kill_9 as a child process"]
fn child_writes_synced_batches_until_killed() {
    let Ok(directory) = std::env::var(DIRECTORY_VARIABLE) else {
        return;
    };
    let start: u64 = std::env::var(START_VARIABLE).unwrap().parse().unwrap();
    let mode: RecoveryMode = std::env::var(MODE_VARIABLE).unwrap().parse().unwrap();
    let options = Options {
        write_buffer_size: 64 << 10,
        recovery_mode: mode,
        ..Options::default()
    };
    let db = Db::open(&directory, options).unwrap();
    let mut stdout = std::io::stdout().lock();
    for index in start.. {
        let mut batch = WriteBatch::new();
        batch.put(key(index), value(index));
        db.write(batch, &WriteOptions::SYNC).unwrap();
        writeln!(stdout, "ack {index}").unwrap();
        stdout.flush().unwrap();
    }
}

/// The keys present must be exactly 0..n for some n: a prefix.
fn check(directory: &Path, acknowledged: Option<u64>, writer_mode: RecoveryMode) -> u64 {
    // A process kill leaves at most its last write torn, never a
    // corruption before it: at the end of the log, which
    // TolerateCorruptedTailRecords accepts, or, in a log prefilled with
    // zeros, followed by zeros, which the mode that prefills it
    // (PointInTimeRecovery) accepts and TolerateCorruptedTailRecords may
    // refuse.
    let same_mode = Options {
        recovery_mode: writer_mode,
        ..Options::default()
    };
    let report = Db::inspect_recovery(directory, &same_mode).unwrap();
    if writer_mode == RecoveryMode::PointInTimeRecovery {
        // TolerateCorruptedTailRecords may refuse only a write torn over
        // the zeros: one region, from it to the end of the newest log,
        // ending in the prefill's zeros.
        let tolerate = Options {
            recovery_mode: RecoveryMode::TolerateCorruptedTailRecords,
            ..Options::default()
        };
        if let Err(error) = Db::inspect_recovery(directory, &tolerate) {
            let [region] = report.dropped.as_slice() else {
                panic!("tolerate refused ({error}) but the dry run drops {report}");
            };
            let bytes = std::fs::read(&region.file).unwrap();
            let zeros = bytes.iter().rev().take_while(|&&byte| byte == 0).count();
            assert_eq!(
                Some(&region.file),
                report.logs.last().map(|log| &log.file),
                "{report}"
            );
            assert_eq!(
                region.offset + region.length,
                bytes.len() as u64,
                "{report}"
            );
            assert!(zeros >= 64 << 10, "{zeros} zeros at the end: {report}");
        }
    }
    let db = Db::open(directory, Options::default()).unwrap();
    let mut count = 0;
    for entry in db.iter() {
        let (k, v) = entry.unwrap();
        assert_eq!(k, key(count), "not a prefix: key {count} missing");
        assert_eq!(v, value(count));
        count += 1;
    }
    if let Some(acknowledged) = acknowledged {
        assert!(
            count > acknowledged,
            "acknowledged write {acknowledged} lost ({count} present)"
        );
    }
    count
}

#[test]
fn acknowledged_synced_writes_survive_kill_9() {
    let directory = tempfile::tempdir().unwrap();
    let executable = std::env::current_exe().unwrap();
    let mut next = 0;
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    for round in 0..ROUNDS {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let kill_after = 1 + seed % 40;
        let mode = if round % 2 == 0 {
            RecoveryMode::TolerateCorruptedTailRecords
        } else {
            RecoveryMode::PointInTimeRecovery
        };
        let mut child = Command::new(&executable)
            .args([
                "--exact",
                "child_writes_synced_batches_until_killed",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(DIRECTORY_VARIABLE, directory.path())
            .env(START_VARIABLE, next.to_string())
            .env(MODE_VARIABLE, mode.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut acknowledged = None;
        let mut seen = 0;
        for line in stdout.lines() {
            let line = line.unwrap();
            if let Some(index) = line.strip_prefix("ack ") {
                acknowledged = Some(index.parse::<u64>().unwrap());
                seen += 1;
                if seen == kill_after {
                    break;
                }
            }
        }
        child.kill().unwrap(); // SIGKILL: no destructor, no orderly close
        child.wait().unwrap();
        assert!(
            acknowledged.is_some(),
            "round {round}: the child acknowledged nothing"
        );
        next = check(directory.path(), acknowledged, mode);
    }
}
