//! The whole engine on the simulated file system: a fuzzed sequence of
//! writes (synced or not), deletes, batches, flushes, reopens and injected
//! failures, then a crash (dropping unsynced bytes, maybe keeping a torn,
//! zeroed or garbled prefix), then recovery under every mode, held to the
//! same contract as the crash tests (tests/crash/mod.rs): synced writes
//! present, a prefix of the history outside SkipAny, AbsoluteConsistency
//! refusing exactly when something had to be dropped, quarantine complete,
//! a failed open changing nothing, a second open identical.
#![no_main]

#[path = "../../tests/crash/mod.rs"]
mod crash;

use std::path::Path;
use std::sync::Arc;

use arbitrary::Arbitrary;
use crash::{Batch, Coverage, History, check_image, options};
use libfuzzer_sys::fuzz_target;
use strata::fs::{CrashOptions, SimFs};
use strata::{Db, RecoveryMode, WriteBatch, WriteOptions};

#[derive(Arbitrary, Debug)]
enum Op {
    Write {
        updates: Vec<(u8, Option<u8>)>,
        sync: bool,
    },
    Flush,
    Reopen,
    FailAfter(u8),
}

#[derive(Arbitrary, Debug)]
struct Input {
    ops: Vec<Op>,
    seed: u64,
    keep_torn_prefix: bool,
    zero_torn_bytes: bool,
    garbage_torn_bytes: bool,
}

fn value(key: u8, length: u8, index: usize) -> Vec<u8> {
    let mut value = vec![key ^ (index as u8); usize::from(length)];
    value.extend_from_slice(&index.to_le_bytes());
    value
}

fn run(input: &Input) -> (History, SimFs) {
    let fs = SimFs::new();
    let directory = Path::new("/db");
    let open = || {
        Db::open_with_fs(
            Arc::new(fs.clone()),
            directory,
            options(RecoveryMode::PointInTimeRecovery),
        )
    };
    let mut history = History {
        batches: Vec::new(),
        synced: 0,
    };
    let Ok(mut db) = open() else {
        return (history, fs.fork());
    };
    for op in input.ops.iter().take(64) {
        match op {
            Op::Write { updates, sync } => {
                if updates.is_empty() {
                    continue;
                }
                let mut batch = WriteBatch::new();
                let mut record = Batch::new();
                for (key, update) in updates.iter().take(8) {
                    let key_bytes = format!("key{:02}", key % 20).into_bytes();
                    match update {
                        Some(length) => {
                            let value = value(*key, *length, history.batches.len());
                            batch.put(&key_bytes, &value);
                            record.push((key_bytes, Some(value)));
                        }
                        None => {
                            batch.delete(&key_bytes);
                            record.push((key_bytes, None));
                        }
                    }
                }
                history.batches.push(record);
                match db.write(batch, &WriteOptions { sync: *sync }) {
                    Ok(()) if *sync => history.synced = history.batches.len(),
                    Ok(()) => {}
                    Err(_) => break,
                }
            }
            Op::Flush => {
                if db.flush().is_err() {
                    break;
                }
            }
            Op::Reopen => {
                drop(db);
                match open() {
                    Ok(reopened) => db = reopened,
                    Err(_) => return (history, fs.fork()),
                }
            }
            Op::FailAfter(count) => fs.fail_after(u64::from(*count)),
        }
    }
    let image = fs.fork();
    drop(db);
    (history, image)
}

fuzz_target!(|input: Input| {
    let (history, image) = run(&input);
    image.clear_faults();
    image.crash(CrashOptions {
        seed: input.seed,
        keep_torn_prefix: input.keep_torn_prefix,
        zero_torn_bytes: input.zero_torn_bytes,
        garbage_torn_bytes: input.garbage_torn_bytes,
    });
    let mut coverage = Coverage::default();
    check_image(
        &image,
        Path::new("/db"),
        &history,
        "fuzz input",
        &mut coverage,
    );
});
