//! Iterators against a `BTreeMap` model (quickcheck): random puts, deletes
//! and flushes (tiny memtables, so memtables, tables and compactions mix),
//! then random ranges and prefixes read forward, in reverse, and with
//! `next` and `next_back` interleaved, which must meet in the middle exactly
//! as a `BTreeMap` range does — at the latest state and at snapshots.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;

use quickcheck::{Arbitrary, Gen, QuickCheck, TestResult};
use strata::fs::SimFs;
use strata::{Db, DbIterator, Options, Snapshot};

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

/// Short keys over a tiny alphabet, `0xff` included, so that prefixes
/// overlap and the prefix's upper bound has to carry.
#[derive(Clone, Debug)]
struct Key(Vec<u8>);

impl Arbitrary for Key {
    fn arbitrary(g: &mut Gen) -> Self {
        let length = usize::arbitrary(g) % 4;
        Key((0..length)
            .map(|_| *g.choose(&[b'a', b'b', 0xff]).unwrap())
            .collect())
    }
}

#[derive(Clone, Debug)]
enum Bounds {
    Unbounded,
    Included(Key),
    Excluded(Key),
}

impl Arbitrary for Bounds {
    fn arbitrary(g: &mut Gen) -> Self {
        match u8::arbitrary(g) % 3 {
            0 => Bounds::Unbounded,
            1 => Bounds::Included(Key::arbitrary(g)),
            _ => Bounds::Excluded(Key::arbitrary(g)),
        }
    }
}

impl Bounds {
    fn bound(&self) -> Bound<Vec<u8>> {
        match self {
            Bounds::Unbounded => Bound::Unbounded,
            Bounds::Included(key) => Bound::Included(key.0.clone()),
            Bounds::Excluded(key) => Bound::Excluded(key.0.clone()),
        }
    }
}

/// Which end each step reads from: `true` is `next`, `false` `next_back`.
type Pattern = Vec<bool>;

#[derive(Clone, Debug)]
enum Op {
    Put(Key, u8),
    Delete(Key),
    Flush,
    TakeSnapshot,
    Range(Bounds, Bounds, Pattern),
    Prefix(Key, Pattern),
}

impl Arbitrary for Op {
    fn arbitrary(g: &mut Gen) -> Self {
        match u8::arbitrary(g) % 16 {
            0..=6 => Op::Put(Key::arbitrary(g), u8::arbitrary(g)),
            7..=8 => Op::Delete(Key::arbitrary(g)),
            9..=10 => Op::Flush,
            11 => Op::TakeSnapshot,
            12..=14 => Op::Range(
                Bounds::arbitrary(g),
                Bounds::arbitrary(g),
                Pattern::arbitrary(g),
            ),
            _ => Op::Prefix(Key::arbitrary(g), Pattern::arbitrary(g)),
        }
    }
}

fn value_bytes(key: &[u8], value: u8) -> Vec<u8> {
    // Long enough that a few writes fill the smallest memtable.
    let mut bytes = key.to_vec();
    bytes.resize(40 + usize::from(value), value);
    bytes
}

/// Whether `range` is one `BTreeMap::range` accepts (it panics on a start
/// after the end, or on equal ends both excluded).
fn valid(range: &(Bound<Vec<u8>>, Bound<Vec<u8>>)) -> bool {
    let (Bound::Included(start) | Bound::Excluded(start)) = &range.0 else {
        return true;
    };
    let (Bound::Included(end) | Bound::Excluded(end)) = &range.1 else {
        return true;
    };
    start < end || (start == end && !matches!(range, (Bound::Excluded(_), Bound::Excluded(_))))
}

/// Reads `iterator` with `pattern` (then forward to the end; every other
/// forward step through `next_ref`) and the model's range the same way;
/// `Err` describes the first difference.
fn compare(
    mut iterator: DbIterator,
    model: &Model,
    range: (Bound<Vec<u8>>, Bound<Vec<u8>>),
    pattern: &[bool],
) -> Result<(), String> {
    let mut want = model.range(range.clone());
    let steps = pattern.iter().copied().chain(std::iter::repeat(true));
    for (index, forward) in steps.enumerate() {
        let (got, expected) = if forward && index % 2 == 1 {
            // Every other forward step lends the entry instead.
            let lent = iterator
                .next_ref()
                .map(|entry| entry.map(|(key, value)| (key.to_vec(), value.to_vec())));
            (lent, want.next())
        } else if forward {
            (iterator.next(), want.next())
        } else {
            (iterator.next_back(), want.next_back())
        };
        let got = got.transpose().map_err(|error| error.to_string())?;
        let expected = expected.map(|(key, value)| (key.clone(), value.clone()));
        if got != expected {
            return Err(format!(
                "{range:?} step {index} ({}): got {got:?}, want {expected:?}",
                if forward { "next" } else { "next_back" }
            ));
        }
        if got.is_none() {
            // Exhausted from both ends, like the model.
            if iterator.next().is_some()
                || iterator.next_ref().is_some()
                || iterator.next_back().is_some()
            {
                return Err(format!("{range:?}: items after the end"));
            }
            return Ok(());
        }
    }
    unreachable!("the forward steps end the loop")
}

fn prefix_range(prefix: &[u8], model: &Model) -> Model {
    model
        .iter()
        .filter(|(key, _)| key.starts_with(prefix))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect()
}

fn run(ops: Vec<Op>) -> TestResult {
    let options = Options {
        write_buffer_size: 512,
        level0_compaction_trigger: 3,
        table_block_size: 256,
        ..Options::default()
    };
    let db = Db::open_with_fs(Arc::new(SimFs::new()), Path::new("/model"), options).unwrap();
    let mut model = Model::new();
    let mut snapshots: Vec<(Snapshot, Model)> = Vec::new();
    for op in ops {
        let checked = match op {
            Op::Put(key, value) => {
                db.put(&key.0, value_bytes(&key.0, value)).unwrap();
                model.insert(key.0.clone(), value_bytes(&key.0, value));
                Ok(())
            }
            Op::Delete(key) => {
                db.delete(&key.0).unwrap();
                model.remove(&key.0);
                Ok(())
            }
            Op::Flush => {
                db.flush().unwrap();
                Ok(())
            }
            Op::TakeSnapshot => {
                snapshots.push((db.snapshot(), model.clone()));
                Ok(())
            }
            Op::Range(start, end, pattern) => {
                let range = (start.bound(), end.bound());
                if valid(&range) {
                    compare(db.range(range.clone()), &model, range, &pattern)
                } else {
                    // An empty range, read from either end.
                    let mut iterator = db.range(range.clone());
                    match (iterator.next_back().is_some(), iterator.next().is_some()) {
                        (false, false) => Ok(()),
                        _ => Err(format!("{range:?} is empty but yields items")),
                    }
                }
            }
            Op::Prefix(prefix, pattern) => {
                let matching = prefix_range(&prefix.0, &model);
                compare(
                    db.prefix(&prefix.0),
                    &matching,
                    (Bound::Unbounded, Bound::Unbounded),
                    &pattern,
                )
            }
        };
        if let Err(difference) = checked {
            return TestResult::error(difference);
        }
    }
    for (snapshot, then) in &snapshots {
        let all = (Bound::Unbounded, Bound::Unbounded);
        let alternating: Pattern = (0..then.len())
            .map(|index| index.is_multiple_of(2))
            .collect();
        for pattern in [Vec::new(), vec![false; then.len()], alternating] {
            if let Err(difference) = compare(db.range_at(.., snapshot), then, all.clone(), &pattern)
            {
                return TestResult::error(format!(
                    "snapshot {}: {difference}",
                    snapshot.sequence()
                ));
            }
        }
    }
    TestResult::passed()
}

#[test]
fn iterators_read_both_ways_like_a_btreemap() {
    QuickCheck::new()
        .tests(300)
        .quickcheck(run as fn(Vec<Op>) -> TestResult);
}

/// A fixed case: many versions of the same keys across tables and
/// memtables, read backwards at the latest state and at a snapshot.
#[test]
fn reverse_iteration_sees_the_newest_visible_version_across_tables() {
    let options = Options {
        write_buffer_size: 512,
        level0_compaction_trigger: 64,
        level0_slowdown_writes_trigger: 64,
        level0_stop_writes_trigger: 64,
        ..Options::default()
    };
    let db = Db::open_with_fs(Arc::new(SimFs::new()), Path::new("/db"), options).unwrap();
    let mut snapshot = None;
    for round in 0..5_u8 {
        for key in 0..30_u8 {
            if (key + round).is_multiple_of(7) {
                db.delete([key]).unwrap();
            } else {
                db.put([key], [round; 30]).unwrap();
            }
        }
        if round == 2 {
            snapshot = Some(db.snapshot());
        }
        if round.is_multiple_of(2) {
            db.flush().unwrap();
        }
    }
    let snapshot = snapshot.unwrap();
    let expected = |round: u8| -> Vec<(Vec<u8>, Vec<u8>)> {
        (0..30_u8)
            .filter(|key| !(key + round).is_multiple_of(7))
            .map(|key| (vec![key], vec![round; 30]))
            .rev()
            .collect()
    };
    let latest: Vec<_> = db.iter().rev().collect::<Result<_, _>>().unwrap();
    assert_eq!(latest, expected(4));
    let then: Vec<_> = db
        .range_at(.., &snapshot)
        .rev()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(then, expected(2));
}
