//! Sorted-table throughput: building, point gets that hit and that miss
//! (answered by the bloom filter), and a full forward scan; each with data
//! blocks stored plain and with LZ4 (the `_lz4` functions). The values (a
//! byte repeated) compress well, so the LZ4 figures show the codec's cost
//! on blocks it does compress. The tables are read without a block cache:
//! every get decodes (and decompresses) its block.
//!
//! `cargo bench -p strata-bench --bench sstable`
#![allow(missing_docs)] // criterion_group! generates undocumented items
#![allow(clippy::unwrap_used)] // a bench aborts on the first error anyway

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use strata_sstable::key::{InternalKey, ValueKind};
use strata_sstable::{Compression, Table, TableBuilder, TableOptions};

const ENTRY_COUNT: u32 = 100_000;
const VALUE_SIZE_BYTES: usize = 100;

fn user_key(index: u32) -> Vec<u8> {
    format!("user-key-{index:010}").into_bytes()
}

/// Internal keys (16-byte user keys + 8-byte trailer) with 100-byte values.
fn entries() -> Vec<(Vec<u8>, Vec<u8>)> {
    (0..ENTRY_COUNT)
        .map(|index| {
            let key = InternalKey::new(&user_key(index), u64::from(index) + 1, ValueKind::Value);
            (
                key.into_bytes(),
                vec![(index % 251) as u8; VALUE_SIZE_BYTES],
            )
        })
        .collect()
}

const CODECS: [(Compression, &str); 2] = [(Compression::None, ""), (Compression::Lz4, "_lz4")];

fn build(entries: &[(Vec<u8>, Vec<u8>)], buffer: Vec<u8>, compression: Compression) -> Vec<u8> {
    let options = TableOptions {
        compression,
        ..TableOptions::default()
    };
    let mut builder = TableBuilder::new(buffer, options);
    for (key, value) in entries {
        builder.add(key, value).unwrap();
    }
    builder.finish().unwrap().0
}

fn payload_bytes(entries: &[(Vec<u8>, Vec<u8>)]) -> u64 {
    entries
        .iter()
        .map(|(key, value)| (key.len() + value.len()) as u64)
        .sum()
}

fn build_throughput(c: &mut Criterion) {
    let entries = entries();
    let mut group = c.benchmark_group("sstable_build");
    group.throughput(Throughput::Bytes(payload_bytes(&entries)));
    group.sample_size(10);
    for (compression, suffix) in CODECS {
        group.bench_function(format!("100k_entries_100B_values{suffix}"), |b| {
            let mut spare = Vec::new();
            b.iter(|| {
                spare.clear();
                let table = build(black_box(&entries), std::mem::take(&mut spare), compression);
                spare = table;
            })
        });
    }
    group.finish();
}

fn point_gets(c: &mut Criterion) {
    let mut group = c.benchmark_group("sstable_get");
    group.throughput(Throughput::Elements(1));
    for (compression, suffix) in CODECS {
        let table = Table::open(build(&entries(), Vec::new(), compression), "bench.sst").unwrap();
        point_gets_of(&mut group, &table, suffix);
    }
    group.finish();
}

fn point_gets_of(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    table: &Table,
    suffix: &str,
) {
    let mut index = 0u32;
    group.bench_function(format!("hit{suffix}"), |b| {
        b.iter(|| {
            index = (index + 7919) % ENTRY_COUNT;
            let found = table.get(black_box(&user_key(index)), u64::MAX).unwrap();
            assert!(found.is_some());
        })
    });
    group.bench_function(format!("miss{suffix}"), |b| {
        b.iter(|| {
            index = (index + 7919) % ENTRY_COUNT;
            let mut key = user_key(index);
            key.push(b'x');
            black_box(table.get(black_box(&key), u64::MAX).unwrap());
        })
    });
}

fn full_scan(c: &mut Criterion) {
    let entries = entries();
    let mut group = c.benchmark_group("sstable_scan");
    group.throughput(Throughput::Bytes(payload_bytes(&entries)));
    group.sample_size(10);
    for (compression, suffix) in CODECS {
        let table = Table::open(build(&entries, Vec::new(), compression), "bench.sst").unwrap();
        group.bench_function(format!("forward{suffix}"), |b| {
            b.iter(|| {
                let mut iterator = table.iter();
                iterator.seek_to_first().unwrap();
                let mut count = 0u32;
                while iterator.valid() {
                    black_box(iterator.value());
                    count += 1;
                    iterator.next().unwrap();
                }
                assert_eq!(count, ENTRY_COUNT);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, build_throughput, point_gets, full_scan);
criterion_main!(benches);
