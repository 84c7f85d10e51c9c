//! Crash simulation on the simulated file system, seeded and replayable:
//! random workloads of synced and unsynced batches, memtable switches and
//! flushes, a crash (dropping unsynced bytes, sometimes keeping a torn or
//! damaged prefix, sometimes after an injected failure), then recovery under
//! each of the four modes. It must hold that
//! - every acknowledged synced write is present;
//! - in every mode but SkipAny the state equals a prefix of the history;
//! - AbsoluteConsistency fails exactly when recovery had something to drop;
//! - everything dropped is in `quarantine/`, byte for byte;
//! - reopening again without writes gives the same state.
//!
//! A failing seed replays with `STRATA_SEED=<seed> cargo test --test crash_simulation`.
#![allow(clippy::unwrap_used)]

mod crash;

use std::path::Path;
use std::sync::Arc;

use crash::{Batch, Coverage, History, Rng, check_image, options};
use strata::fs::{CrashOptions, SimFs};
use strata::{Db, RecoveryMode, WriteBatch, WriteOptions};

const DEFAULT_SEEDS: u64 = 1_000;

/// Runs a random workload and takes the crash image after `crash_at`
/// operations (or at the end), before any orderly close could sync.
fn run_workload(rng: &mut Rng, fs: &SimFs, directory: &Path) -> (History, SimFs) {
    let mut history = History {
        batches: Vec::new(),
        synced: 0,
    };
    let mut db = Db::open_with_fs(
        Arc::new(fs.clone()),
        directory,
        options(RecoveryMode::PointInTimeRecovery),
    )
    .unwrap();
    if rng.chance(30) {
        fs.fail_after(rng.below(60));
    }
    let operations = 10 + rng.below(120);
    let crash_at = rng.below(operations + 1);
    for operation in 0..operations {
        if operation == crash_at {
            break;
        }
        match rng.below(100) {
            0..=2 => {
                if db.flush().is_err() {
                    break;
                }
            }
            3..=4 => {
                // A clean close and reopen in the middle of the history.
                drop(db);
                match Db::open_with_fs(
                    Arc::new(fs.clone()),
                    directory,
                    options(RecoveryMode::PointInTimeRecovery),
                ) {
                    Ok(reopened) => db = reopened,
                    Err(_) => return (history, fs.fork()),
                }
            }
            _ => {
                let mut batch = WriteBatch::new();
                let mut record = Batch::new();
                for _ in 0..1 + rng.below(3) {
                    let key = format!("key{:02}", rng.below(16)).into_bytes();
                    if rng.chance(20) {
                        batch.delete(&key);
                        record.push((key, None));
                    } else {
                        let length = rng.below(120) as usize;
                        let value = vec![b'a' + (history.batches.len() % 26) as u8; length];
                        batch.put(&key, &value);
                        record.push((key, Some(value)));
                    }
                }
                let sync = rng.chance(30);
                history.batches.push(record);
                match db.write(batch, &WriteOptions { sync }) {
                    Ok(()) if sync => history.synced = history.batches.len(),
                    Ok(()) => {}
                    Err(_) => break,
                }
            }
        }
    }
    // The crash image is a copy taken while the database is still open; the
    // live handle then closes on its own, which the image never sees.
    let image = fs.fork();
    drop(db);
    (history, image)
}

fn check_seed(seed: u64, coverage: &mut Coverage) {
    let mut rng = Rng(seed);
    let fs = SimFs::new();
    let directory = Path::new("/db");
    let (history, image) = run_workload(&mut rng, &fs, directory);
    coverage.seeds += 1;
    if image
        .file_names(directory)
        .unwrap()
        .iter()
        .any(|name| name.ends_with(".sst"))
    {
        coverage.tables_present += 1;
    }
    image.crash(CrashOptions {
        seed,
        keep_torn_prefix: rng.chance(60),
        zero_torn_bytes: rng.chance(20),
        garbage_torn_bytes: rng.chance(20),
    });
    image.clear_faults();
    check_image(
        &image,
        directory,
        &history,
        &format!("seed {seed}"),
        coverage,
    );
}

fn seeds() -> Vec<u64> {
    match std::env::var("STRATA_SEED") {
        Ok(seed) => vec![seed.parse().unwrap()],
        Err(_) => (0..DEFAULT_SEEDS).collect(),
    }
}

#[test]
fn every_synced_write_survives_and_recovery_is_a_prefix_in_every_mode() {
    let mut coverage = Coverage::default();
    let seeds = seeds();
    for &seed in &seeds {
        check_seed(seed, &mut coverage);
    }
    println!("{coverage:?}");
    if seeds.len() as u64 == DEFAULT_SEEDS {
        // The run must have met every case it claims to check.
        assert!(coverage.point_in_time_dropped >= 50, "{coverage:?}");
        assert!(coverage.absolute_refused >= 50, "{coverage:?}");
        assert!(coverage.tolerate_refused >= 5, "{coverage:?}");
        assert!(coverage.unsynced_lost >= 100, "{coverage:?}");
        assert!(coverage.tables_present >= 100, "{coverage:?}");
    }
}

#[test]
#[ignore = "long run: STRATA_SEEDS=200000 cargo test --release --test crash_simulation -- --ignored"]
fn many_more_seeds_hold_the_same_claims() {
    let count: u64 = std::env::var("STRATA_SEEDS").map_or(20_000, |text| text.parse().unwrap());
    let mut coverage = Coverage::default();
    for seed in 1_000_000..1_000_000 + count {
        check_seed(seed, &mut coverage);
    }
    println!("{coverage:?}");
}

/// Found by the long run: a crash left garbage where the MANIFEST's last,
/// never-synced edit was, and the open refused the whole database. The
/// garbage is now a torn tail, dropped and quarantined in every mode.
#[test]
fn seed_1003727_garbled_manifest_tail_still_opens_in_every_mode() {
    check_seed(1_003_727, &mut Coverage::default());
}

/// Found by the 200,000-seed run: garbage in a torn log tail carried a
/// recyclable type byte and was taken for a stale record, so
/// AbsoluteConsistency opened although a torn record existed.
#[test]
fn seed_1085833_garbage_is_not_mistaken_for_a_stale_record() {
    check_seed(1_085_833, &mut Coverage::default());
}
