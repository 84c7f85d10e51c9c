//! The database against a `BTreeMap` model: random sequences of puts,
//! deletes, batches, gets, range scans, snapshots, iterators held open,
//! flushes, manual compactions and reopens (quickcheck), with tiny memtables
//! and tiny level sizes so flushes, leveled compactions, trivial moves and
//! table reads at several levels all happen under the snapshots and
//! iterators.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use quickcheck::{Arbitrary, Gen, QuickCheck, TestResult};
use strata::fs::SimFs;
use strata::{Compression, Db, DbIterator, Options, Snapshot, WriteBatch, WriteOptions};

#[derive(Clone, Debug)]
enum Op {
    Put(u8, u8),
    Delete(u8),
    Batch(Vec<(u8, Option<u8>)>),
    Get(u8),
    Scan(u8, u8),
    TakeSnapshot,
    ReadSnapshot(u8, u8),
    Flush,
    CompactRange(u8, u8),
    StartIterator,
    FinishIterator(u8),
    Reopen,
}

impl Arbitrary for Op {
    fn arbitrary(g: &mut Gen) -> Self {
        let key = |g: &mut Gen| u8::arbitrary(g) % 24;
        match u8::arbitrary(g) % 24 {
            0..=6 => Op::Put(key(g), u8::arbitrary(g)),
            7..=8 => Op::Delete(key(g)),
            9..=10 => {
                let length = usize::arbitrary(g) % 5;
                Op::Batch(
                    (0..length)
                        .map(|_| (key(g), Option::<u8>::arbitrary(g)))
                        .collect(),
                )
            }
            11..=12 => Op::Get(key(g)),
            13..=14 => Op::Scan(key(g), key(g)),
            15 => Op::TakeSnapshot,
            16 => Op::ReadSnapshot(u8::arbitrary(g), key(g)),
            17..=18 => Op::Flush,
            19 => Op::CompactRange(key(g), key(g)),
            20 => Op::StartIterator,
            21..=22 => Op::FinishIterator(u8::arbitrary(g)),
            _ => Op::Reopen,
        }
    }
}

fn key_bytes(key: u8) -> Vec<u8> {
    format!("k{key:02}").into_bytes()
}

fn value_bytes(value: u8) -> Vec<u8> {
    vec![value; 1 + usize::from(value) % 37]
}

/// Small levels, so that a short history compacts down to level 2; with
/// `lz4`, tables store their (repetitive, so compressible) data blocks
/// LZ4-compressed; `dynamic` picks dynamic or static level sizes.
fn options(lz4: bool, dynamic: bool) -> Options {
    Options {
        level_compaction_dynamic_level_bytes: dynamic,
        compression: if lz4 {
            Compression::Lz4
        } else {
            Compression::None
        },
        write_buffer_size: 512,
        level0_compaction_trigger: 3,
        max_bytes_for_level_base: 1024,
        max_bytes_for_level_multiplier: 2,
        target_file_size_base: 512,
        num_levels: 4,
        ..Options::default()
    }
}

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

/// The deepest level that held a table, and the compactions and trivial
/// moves seen, over all runs: the model test must reach them to mean much.
static DEEPEST_LEVEL: AtomicUsize = AtomicUsize::new(0);
static COMPACTIONS: AtomicU64 = AtomicU64::new(0);
static TRIVIAL_MOVES: AtomicU64 = AtomicU64::new(0);

fn note_shape(db: &Db) {
    if let Some(deepest) = db.levels().iter().rev().find(|level| level.tables > 0) {
        DEEPEST_LEVEL.fetch_max(deepest.level, Ordering::Relaxed);
    }
    let stats = db.stats();
    COMPACTIONS.fetch_add(stats.compactions, Ordering::Relaxed);
    TRIVIAL_MOVES.fetch_add(stats.trivial_moves, Ordering::Relaxed);
}

fn run(ops: Vec<Op>) -> TestResult {
    let fs = SimFs::new();
    let directory = Path::new("/model");
    // Half of the histories run with LZ4 tables, and independently half
    // with dynamic level sizes.
    let lz4 = ops.len() % 2 == 1;
    let dynamic = ops.len() % 4 >= 2;
    let open = || Db::open_with_fs(Arc::new(fs.clone()), directory, options(lz4, dynamic)).unwrap();
    let mut db = open();
    let mut model = Model::new();
    let mut snapshots: Vec<(Snapshot, Model)> = Vec::new();
    let mut iterators: Vec<(DbIterator, Model)> = Vec::new();
    for op in ops {
        match op {
            Op::Put(key, value) => {
                db.put(key_bytes(key), value_bytes(value)).unwrap();
                model.insert(key_bytes(key), value_bytes(value));
            }
            Op::Delete(key) => {
                db.delete(key_bytes(key)).unwrap();
                model.remove(&key_bytes(key));
            }
            Op::Batch(updates) => {
                let mut batch = WriteBatch::new();
                for (key, value) in &updates {
                    match value {
                        Some(value) => {
                            batch.put(key_bytes(*key), value_bytes(*value));
                            model.insert(key_bytes(*key), value_bytes(*value));
                        }
                        None => {
                            batch.delete(key_bytes(*key));
                            model.remove(&key_bytes(*key));
                        }
                    }
                }
                db.write(batch, &WriteOptions::SYNC).unwrap();
            }
            Op::Get(key) => {
                if db.get(key_bytes(key)).unwrap() != model.get(&key_bytes(key)).cloned() {
                    return TestResult::error(format!("get {key} differs"));
                }
            }
            Op::Scan(from, to) => {
                let (low, high) = (from.min(to), from.max(to));
                let range = (
                    Bound::Included(key_bytes(low)),
                    Bound::Excluded(key_bytes(high)),
                );
                let got: Vec<(Vec<u8>, Vec<u8>)> =
                    db.range(range.clone()).collect::<Result<_, _>>().unwrap();
                let want: Vec<(Vec<u8>, Vec<u8>)> = model
                    .range(range)
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                if got != want {
                    return TestResult::error(format!("scan {low}..{high} differs"));
                }
            }
            Op::TakeSnapshot => snapshots.push((db.snapshot(), model.clone())),
            Op::ReadSnapshot(which, key) => {
                if let Some((snapshot, then)) =
                    snapshots.get(usize::from(which) % snapshots.len().max(1))
                {
                    let got = db.get_at(key_bytes(key), snapshot).unwrap();
                    if got != then.get(&key_bytes(key)).cloned() {
                        return TestResult::error(format!("snapshot get {key} differs"));
                    }
                    let all: Model = db
                        .range_at::<&[u8], _>(.., snapshot)
                        .collect::<Result<_, _>>()
                        .unwrap();
                    if &all != then {
                        return TestResult::error("snapshot scan differs");
                    }
                }
            }
            Op::Flush => db.flush().unwrap(),
            Op::CompactRange(from, to) => {
                let (low, high) = (from.min(to), from.max(to));
                db.compact_range(key_bytes(low)..=key_bytes(high)).unwrap();
            }
            Op::StartIterator => iterators.push((db.iter(), model.clone())),
            Op::FinishIterator(which) => {
                if !iterators.is_empty() {
                    let index = usize::from(which) % iterators.len();
                    let (iterator, then) = iterators.swap_remove(index);
                    let all: Model = iterator.collect::<Result<_, _>>().unwrap();
                    if all != then {
                        return TestResult::error("an iterator held across changes differs");
                    }
                }
            }
            Op::Reopen => {
                note_shape(&db);
                // Snapshots and iterators do not outlive the handle.
                snapshots.clear();
                iterators.clear();
                drop(db);
                db = open();
            }
        }
    }
    for (iterator, then) in iterators {
        let all: Model = iterator.collect::<Result<_, _>>().unwrap();
        if all != then {
            return TestResult::error("an iterator held to the end differs");
        }
    }
    note_shape(&db);
    let all: Model = db.iter().collect::<Result<_, _>>().unwrap();
    // Backwards through the same levels, one cursor per level past 0.
    let backwards: Vec<(Vec<u8>, Vec<u8>)> = db.iter().rev().collect::<Result<_, _>>().unwrap();
    let expected: Vec<(Vec<u8>, Vec<u8>)> = model.clone().into_iter().rev().collect();
    if backwards != expected {
        return TestResult::error("a reverse scan differs");
    }
    TestResult::from_bool(all == model)
}

#[test]
fn database_behaves_like_a_btreemap() {
    QuickCheck::new()
        .tests(300)
        .quickcheck(run as fn(Vec<Op>) -> TestResult);
    let deepest = DEEPEST_LEVEL.load(Ordering::Relaxed);
    let compactions = COMPACTIONS.load(Ordering::Relaxed);
    let moves = TRIVIAL_MOVES.load(Ordering::Relaxed);
    println!("deepest level {deepest}, {compactions} compactions, {moves} trivial moves");
    assert!(deepest >= 2, "no table reached level 2");
    assert!(
        compactions > 0 && moves > 0,
        "{compactions} compactions, {moves} moves"
    );
}
