//! The memtable choice: `crossbeam-skiplist`'s `SkipMap` (what the engine
//! uses) against a `BTreeMap` behind a `parking_lot::RwLock`, both keyed by
//! internal keys in the engine's order. Measured: inserts from the single
//! write leader, point lookups, and lookups while a writer inserts.
//!
//! `cargo bench -p strata-bench --bench memtable`
#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::hint::black_box;
use std::ops::Bound;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use crossbeam_skiplist::SkipMap;
use parking_lot::RwLock;
use strata_sstable::key::{compare_internal_keys, encode_internal_key, lookup_key};

const ENTRIES: u64 = 50_000;

#[derive(Clone, PartialEq, Eq)]
struct Key(Box<[u8]>);

impl Ord for Key {
    fn cmp(&self, other: &Self) -> Ordering {
        compare_internal_keys(&self.0, &other.0)
    }
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

fn user_key(index: u64) -> Vec<u8> {
    format!(
        "user:{:012}",
        index.wrapping_mul(0x9e37_79b9_7f4a_7c15) % ENTRIES
    )
    .into_bytes()
}

fn internal(index: u64) -> Key {
    Key(encode_internal_key(&user_key(index), index + 1, 1).into_boxed_slice())
}

trait Memtable: Send + Sync {
    fn insert(&self, key: Key, value: Box<[u8]>);
    fn get(&self, user_key: &[u8]) -> Option<usize>;
}

impl Memtable for SkipMap<Key, Box<[u8]>> {
    fn insert(&self, key: Key, value: Box<[u8]>) {
        SkipMap::insert(self, key, value);
    }
    fn get(&self, user_key: &[u8]) -> Option<usize> {
        let lookup = Key(lookup_key(user_key, u64::MAX >> 8).into_boxed_slice());
        self.lower_bound(Bound::Included(&lookup))
            .map(|entry| entry.value().len())
    }
}

impl Memtable for RwLock<BTreeMap<Key, Box<[u8]>>> {
    fn insert(&self, key: Key, value: Box<[u8]>) {
        self.write().insert(key, value);
    }
    fn get(&self, user_key: &[u8]) -> Option<usize> {
        let lookup = Key(lookup_key(user_key, u64::MAX >> 8).into_boxed_slice());
        self.read()
            .range((Bound::Included(&lookup), Bound::Unbounded))
            .next()
            .map(|(_, value)| value.len())
    }
}

fn filled<M: Memtable>(memtable: M) -> M {
    for index in 0..ENTRIES {
        memtable.insert(internal(index), vec![7u8; 100].into_boxed_slice());
    }
    memtable
}

fn compare(c: &mut Criterion) {
    let keys: Vec<Key> = (0..ENTRIES).map(internal).collect();
    let mut group = c.benchmark_group("memtable_insert");
    group.throughput(Throughput::Elements(ENTRIES));
    group.sample_size(10);
    group.bench_function("skiplist", |b| {
        b.iter(|| {
            let map = SkipMap::new();
            for key in &keys {
                Memtable::insert(&map, key.clone(), vec![7u8; 100].into_boxed_slice());
            }
            map
        })
    });
    group.bench_function("btree_rwlock", |b| {
        b.iter(|| {
            let map = RwLock::new(BTreeMap::new());
            for key in &keys {
                Memtable::insert(&map, key.clone(), vec![7u8; 100].into_boxed_slice());
            }
            map
        })
    });
    group.finish();

    let skiplist: Arc<dyn Memtable> = Arc::new(filled(SkipMap::new()));
    let btree: Arc<dyn Memtable> = Arc::new(filled(RwLock::new(BTreeMap::new())));
    let mut group = c.benchmark_group("memtable_get");
    group.throughput(Throughput::Elements(1));
    for (name, memtable) in [("skiplist", &skiplist), ("btree_rwlock", &btree)] {
        let mut index = 0u64;
        group.bench_function(name, |b| {
            b.iter(|| {
                index += 1;
                black_box(memtable.get(&user_key(index)))
            })
        });
        // The same lookups while another thread keeps inserting.
        let stop = Arc::new(AtomicBool::new(false));
        let writer = {
            let memtable = Arc::clone(memtable);
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut index = ENTRIES;
                while !stop.load(AtomicOrdering::Relaxed) {
                    memtable.insert(internal(index), vec![1u8; 100].into_boxed_slice());
                    index += 1;
                }
            })
        };
        group.bench_function(format!("{name}_with_writer"), |b| {
            b.iter(|| {
                index += 1;
                black_box(memtable.get(&user_key(index)))
            })
        });
        stop.store(true, AtomicOrdering::Relaxed);
        writer.join().expect("writer thread");
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default();
    targets = compare
}
criterion_main!(benches);
