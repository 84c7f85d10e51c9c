//! Engine benchmarks: sequential and random fill with 100-byte values,
//! random reads, and synced writes from 1, 4 and 16 threads (group commit
//! should make 16 threads several times faster than 1).
//!
//! `cargo bench -p strata-bench --bench db`
#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use strata::{Db, Options, WriteBatch, WriteOptions};

const VALUE_SIZE: usize = 100;
const FILL_KEYS: u64 = 20_000;

fn key(index: u64) -> [u8; 16] {
    let mut key = [0u8; 16];
    key[..8].copy_from_slice(b"key00000");
    key[8..].copy_from_slice(&index.to_be_bytes());
    key
}

/// A fixed pseudo-random permutation step: odd multiplier modulo 2^64.
fn scatter(index: u64) -> u64 {
    index.wrapping_mul(0x9e37_79b9_7f4a_7c15) % FILL_KEYS
}

fn fresh_db() -> (tempfile::TempDir, Db) {
    let directory = tempfile::tempdir().expect("temporary directory");
    let db = Db::open(directory.path(), Options::default()).expect("open");
    (directory, db)
}

fn fill(c: &mut Criterion) {
    let value = [0x42u8; VALUE_SIZE];
    let mut group = c.benchmark_group("fill");
    group.throughput(Throughput::Elements(FILL_KEYS));
    group.sample_size(10);
    for (name, order) in [("sequential", false), ("random", true)] {
        group.bench_function(name, |b| {
            b.iter_custom(|iterations| {
                let mut total = Duration::ZERO;
                for _ in 0..iterations {
                    let (_directory, db) = fresh_db();
                    let start = Instant::now();
                    for index in 0..FILL_KEYS {
                        let index = if order { scatter(index) } else { index };
                        db.put(key(index), value).expect("put");
                    }
                    total += start.elapsed();
                }
                total
            })
        });
    }
    group.finish();
}

fn random_read(c: &mut Criterion) {
    let (_directory, db) = fresh_db();
    let value = [0x42u8; VALUE_SIZE];
    for index in 0..FILL_KEYS {
        db.put(key(index), value).expect("put");
    }
    db.flush().expect("flush");
    let mut group = c.benchmark_group("read");
    group.throughput(Throughput::Elements(1));
    let mut index = 0;
    group.bench_function("random_hit", |b| {
        b.iter(|| {
            index += 1;
            black_box(db.get(key(scatter(index))).expect("get"))
        })
    });
    group.bench_function("random_miss", |b| {
        b.iter(|| {
            index += 1;
            black_box(db.get(key(FILL_KEYS + scatter(index))).expect("get"))
        })
    });
    group.finish();
}

fn synced_writes(c: &mut Criterion) {
    let mut group = c.benchmark_group("synced_write");
    group.sample_size(10);
    const WRITES_PER_ITERATION: u64 = 1_600;
    group.throughput(Throughput::Elements(WRITES_PER_ITERATION));
    for threads in [1u64, 4, 16] {
        group.bench_with_input(
            BenchmarkId::from_parameter(threads),
            &threads,
            |b, &threads| {
                let (_directory, db) = fresh_db();
                let db = Arc::new(db);
                b.iter_custom(|iterations| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iterations {
                        let start = Instant::now();
                        std::thread::scope(|scope| {
                            for thread in 0..threads {
                                let db = Arc::clone(&db);
                                scope.spawn(move || {
                                    for index in 0..WRITES_PER_ITERATION / threads {
                                        let mut batch = WriteBatch::new();
                                        batch.put(key(thread << 32 | index), [7u8; VALUE_SIZE]);
                                        db.write(batch, &WriteOptions::SYNC).expect("write");
                                    }
                                });
                            }
                        });
                        total += start.elapsed();
                    }
                    total
                })
            },
        );
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default();
    targets = fill, random_read, synced_writes
}
criterion_main!(benches);
