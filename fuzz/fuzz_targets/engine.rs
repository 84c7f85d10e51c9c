//! The whole engine on the simulated file system: a fuzzed sequence of
//! writes (synced or not), deletes, batches, groups of concurrent writers,
//! flushes, reopens and injected failures, then a crash (dropping unsynced
//! bytes, maybe keeping a torn, zeroed or garbled prefix), then recovery
//! under every mode, held to the same contract as the crash tests
//! (tests/crash/mod.rs): synced writes present, a prefix of the history
//! (inside a concurrent group: any per-writer prefix of its batches) outside
//! SkipAny, AbsoluteConsistency refusing exactly when something had to be
//! dropped, quarantine complete, a failed open changing nothing, a second
//! open identical.
//!
//! The input is decoded by hand so that any bytes are a long history: a
//! header, then one operation per few bytes until the input ends (derived
//! `Arbitrary` collections stop at the first even "continue" byte, so
//! random bytes made one or two operations). Run it with long inputs from
//! the start (fuzz/run_all.sh does):
//!
//!   cd fuzz && mkdir -p corpus/engine && cp seeds/engine/* corpus/engine/
//!   cargo +nightly fuzz run engine corpus/engine -- -max_len=8192 -len_control=0
//!
//! Concurrent writers make a run depend on thread timing: a crash found
//! with a group may need a few runs of its input to replay.
//!
//! With `STRATA_FUZZ_STATS` set, each run prints how many operations it
//! decoded and ran, and the history it made (to see that inputs really
//! make long histories):
//!
//!   STRATA_FUZZ_STATS=1 cargo +nightly fuzz run engine corpus/engine -- -runs=0
//!
//! (`-runs=0` runs the corpus once and stops.)
#![no_main]

#[path = "../../tests/crash/mod.rs"]
mod crash;

use std::path::Path;
use std::sync::Arc;

use arbitrary::{Arbitrary, Result, Unstructured};
use crash::{Batch, Coverage, History, check_image, options, write_batch, write_concurrently};
use libfuzzer_sys::fuzz_target;
use strata::fs::{CrashOptions, SimFs};
use strata::{Db, RecoveryMode, WriteOptions};

/// Operations past this many are ignored. A write takes about 8 bytes of
/// input and a group about 40, so 8 KiB make some 500 operations; the cap
/// only bounds inputs of one-byte operations (flushes, reopens).
const MAX_OPS: usize = 2_048;
/// Keys are `key00` to `key19`.
const KEYS: u8 = 20;
/// Writers of a concurrent group: writer `w` uses the keys `k` with
/// `k % MAX_WRITERS == w`, so the writers' keys are disjoint.
const MAX_WRITERS: u8 = 4;

/// One update: a key and a value length, or a deletion.
#[derive(Debug)]
struct Update {
    key: u8,
    value_length: Option<u8>,
}

#[derive(Debug)]
struct Write {
    updates: Vec<Update>,
    sync: bool,
}

#[derive(Debug)]
enum Op {
    Write(Write),
    /// Two to four threads at once, each writing its batches in order.
    Concurrent(Vec<Vec<Write>>),
    Flush,
    Reopen,
    FailAfter(u64),
}

#[derive(Debug)]
struct Input {
    seed: u64,
    keep_torn_prefix: bool,
    zero_torn_bytes: bool,
    garbage_torn_bytes: bool,
    ops: Vec<Op>,
}

impl<'a> Arbitrary<'a> for Write {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let count = u.int_in_range(1..=4u8)?;
        let mut updates = Vec::new();
        for _ in 0..count {
            let key = u.arbitrary::<u8>()?;
            let length = u.arbitrary::<u8>()?;
            updates.push(Update {
                key,
                // One update in eight deletes.
                value_length: (length % 8 != 0).then_some(length),
            });
        }
        // One write in four is synced.
        let sync = u.arbitrary::<u8>()? % 4 == 0;
        Ok(Write { updates, sync })
    }
}

impl<'a> Arbitrary<'a> for Op {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(match u.arbitrary::<u8>()? {
            0..=179 => Op::Write(u.arbitrary()?),
            180..=219 => {
                let writers = u.int_in_range(2..=MAX_WRITERS)?;
                let mut group = Vec::new();
                for _ in 0..writers {
                    let batches = u.int_in_range(1..=3u8)?;
                    group.push(
                        (0..batches)
                            .map(|_| u.arbitrary())
                            .collect::<Result<Vec<Write>>>()?,
                    );
                }
                Op::Concurrent(group)
            }
            220..=239 => Op::Flush,
            240..=251 => Op::Reopen,
            // Rare, and often far ahead, so that most histories run long.
            _ => Op::FailAfter(if u.arbitrary::<bool>()? {
                u64::from(u.arbitrary::<u8>()?)
            } else {
                u64::from(u.arbitrary::<u16>()?)
            }),
        })
    }
}

impl<'a> Arbitrary<'a> for Input {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let seed = u.arbitrary()?;
        let keep_torn_prefix = u.arbitrary()?;
        let zero_torn_bytes = u.arbitrary()?;
        let garbage_torn_bytes = u.arbitrary()?;
        let mut ops = Vec::new();
        while !u.is_empty() && ops.len() < MAX_OPS {
            ops.push(u.arbitrary()?);
        }
        Ok(Input {
            seed,
            keep_torn_prefix,
            zero_torn_bytes,
            garbage_torn_bytes,
            ops,
        })
    }
}

fn value(key: u8, length: u8, index: usize) -> Vec<u8> {
    let mut value = vec![key ^ (index as u8); usize::from(length)];
    value.extend_from_slice(&index.to_le_bytes());
    value
}

/// The recorded batch of `write`, the `index`-th of the history, with its
/// keys mapped by `key` (values are unique per batch).
fn record(write: &Write, index: usize, key: impl Fn(u8) -> u8) -> Batch {
    write
        .updates
        .iter()
        .map(|update| {
            let k = key(update.key);
            let key_bytes = format!("key{k:02}").into_bytes();
            (
                key_bytes,
                update.value_length.map(|length| value(k, length, index)),
            )
        })
        .collect()
}

/// Runs the history of `input` and returns it, the crash image, and how
/// many operations ran (a failed one, which ends the history, included).
fn run(input: &Input) -> (History, SimFs, usize) {
    let fs = SimFs::new();
    let directory = Path::new("/db");
    let open = || {
        Db::open_with_fs(
            Arc::new(fs.clone()),
            directory,
            options(RecoveryMode::PointInTimeRecovery),
        )
    };
    let mut history = History::default();
    let Ok(mut db) = open() else {
        return (history, fs.fork(), 0);
    };
    let mut ran = 0;
    for op in &input.ops {
        ran += 1;
        match op {
            Op::Write(write) => {
                let batch = record(write, history.batches.len(), |key| key % KEYS);
                history.batches.push(batch.clone());
                match db.write(write_batch(&batch), &WriteOptions { sync: write.sync }) {
                    Ok(()) if write.sync => history.synced = history.batches.len(),
                    Ok(()) => {}
                    Err(_) => break,
                }
            }
            Op::Concurrent(group) => {
                let mut index = history.batches.len();
                let mut writers = Vec::new();
                for (w, writes) in (0u8..).zip(group) {
                    let mut batches = Vec::new();
                    for write in writes {
                        let batch = record(write, index, |key| {
                            key % (KEYS / MAX_WRITERS) * MAX_WRITERS + w
                        });
                        batches.push((batch, write.sync));
                        index += 1;
                    }
                    writers.push(batches);
                }
                if !write_concurrently(&db, &mut history, &writers) {
                    break;
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
                    Err(_) => return (history, fs.fork(), ran),
                }
            }
            Op::FailAfter(count) => fs.fail_after(*count),
        }
    }
    let image = fs.fork();
    drop(db);
    (history, image, ran)
}

fuzz_target!(|input: Input| {
    let stats = std::env::var_os("STRATA_FUZZ_STATS").is_some();
    let started = std::time::Instant::now();
    let (history, image, ran) = run(&input);
    let ran_for = started.elapsed();
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
    if stats {
        eprintln!(
            "engine stats: {} ops decoded, {ran} run, {} batches, {} synced, {} groups; \
             history {ran_for:.2?}, recovery and checks {:.2?}",
            input.ops.len(),
            history.batches.len(),
            history.synced,
            history.groups.len(),
            started.elapsed() - ran_for
        );
    }
});
