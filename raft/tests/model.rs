//! `RaftStorage` against raft-rs's `MemStorage` as a model: random appends
//! (overwriting suffixes), compactions, hard states and snapshots, with
//! reopens in between; after every step both answer alike.
#![allow(clippy::unwrap_used)]

use raft::prelude::{Entry, HardState, Snapshot};
use raft::storage::MemStorage;
use raft::{GetEntriesContext, Storage};
use strata::Options;
use strata_raft::RaftStorage;

struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound.max(1)
    }
}

fn compare(seed: u64, step: usize, model: &MemStorage, storage: &RaftStorage) {
    let context = format!("seed {seed} step {step}");
    let first = model.first_index().unwrap();
    let last = model.last_index().unwrap();
    assert_eq!(storage.first_index().unwrap(), first, "{context}");
    assert_eq!(storage.last_index().unwrap(), last, "{context}");
    assert_eq!(
        storage.initial_state().unwrap().hard_state,
        model.initial_state().unwrap().hard_state,
        "{context}"
    );
    assert_eq!(
        storage.initial_state().unwrap().conf_state,
        model.initial_state().unwrap().conf_state,
        "{context}"
    );
    for index in first..=last {
        assert_eq!(
            storage.term(index),
            model.term(index),
            "{context} term({index})"
        );
    }
    if first <= last {
        let limit = 1 + (seed + step as u64) % 200;
        for max_size in [None, Some(limit)] {
            assert_eq!(
                storage.entries(first, last + 1, max_size, GetEntriesContext::empty(false)),
                model.entries(first, last + 1, max_size, GetEntriesContext::empty(false)),
                "{context} entries({first}, {}, {max_size:?})",
                last + 1
            );
        }
    }
}

fn run(seed: u64, steps: usize) {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("raft");
    let options = Options::default().with_write_buffer_size(4096);
    let mut storage = RaftStorage::open(&path, options.clone()).unwrap();
    let model = MemStorage::new();
    let mut random = Random(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut term = 1;
    for step in 0..steps {
        let first = model.first_index().unwrap();
        let last = model.last_index().unwrap();
        match random.below(10) {
            0..=4 => {
                // Append from anywhere in [first, last + 1], overwriting
                // the suffix after it.
                let start = first + random.below(last + 2 - first);
                if random.below(4) == 0 {
                    term += 1;
                }
                let entries: Vec<Entry> = (0..1 + random.below(5))
                    .map(|offset| Entry {
                        index: start + offset,
                        term,
                        data: vec![b'x'; random.below(40) as usize].into(),
                        ..Entry::default()
                    })
                    .collect();
                model.wl().append(&entries).unwrap();
                storage.append(&entries).unwrap();
            }
            5 => {
                // Not to `last + 1`: `MemStorage` then forgets its first
                // index (it falls back to its last snapshot's), where this
                // storage keeps it (tested in tests/storage.rs).
                let to = first + random.below(last + 1 - first.min(last + 1));
                model.wl().compact(to).unwrap();
                storage.compact(to).unwrap();
            }
            6 => {
                let hard_state = HardState {
                    term,
                    vote: random.below(4),
                    commit: random.below(last + 1),
                    ..HardState::default()
                };
                model.wl().set_hardstate(hard_state.clone());
                storage.set_hard_state(&hard_state).unwrap();
            }
            7 if random.below(4) == 0 => {
                let mut snapshot = Snapshot::default();
                let index = first + random.below(last + 5);
                snapshot.mut_metadata().index = index;
                snapshot.mut_metadata().term = term;
                snapshot.mut_metadata().mut_conf_state().voters = vec![1, 2, 3];
                model.wl().apply_snapshot(snapshot.clone()).unwrap();
                storage.apply_snapshot(snapshot).unwrap();
            }
            _ => {
                storage.close().unwrap();
                storage = RaftStorage::open(&path, options.clone()).unwrap();
            }
        }
        compare(seed, step, &model, &storage);
    }
}

#[test]
fn random_histories_match_mem_storage() {
    for seed in 1..=8 {
        run(seed, 300);
    }
}
