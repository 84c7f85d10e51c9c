//! Append and replay throughput of the write-ahead log, with the raw
//! checksum throughput measured in the same run as the reference.
//!
//! `cargo bench -p strata-bench --bench wal`
#![allow(missing_docs)] // criterion_group! generates undocumented items

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::ops::ControlFlow;
use strata_wal::batch::BatchBuilder;
use strata_wal::{
    Checksum, LentEvent, Reader, ReaderOptions, RecoveryMode, Writer, WriterOptions, replay,
    replay_each,
};

/// Each benchmark moves about this many payload bytes per iteration.
const BYTES_PER_ITERATION: usize = 4 << 20;
const RECORD_SIZES: [usize; 3] = [100, 1024, 64 * 1024];

fn batches(record_size: usize) -> Vec<Vec<u8>> {
    let count = BYTES_PER_ITERATION / record_size;
    (0..count)
        .map(|index| {
            // Key of 16 bytes, value filling the rest of the record.
            let key = format!("key{index:013}");
            let value = vec![(index % 251) as u8; record_size.saturating_sub(12 + 2 + 16 + 3)];
            BatchBuilder::new()
                .put(key.as_bytes(), &value)
                .finish(index as u64 + 1)
        })
        .collect()
}

fn log_of(records: &[Vec<u8>]) -> Vec<u8> {
    let mut writer = Writer::new(Vec::new(), WriterOptions::default());
    for record in records {
        writer.add_record(record).expect("writing to memory");
    }
    writer.into_inner()
}

fn checksum_reference(c: &mut Criterion) {
    let data = vec![0x5au8; BYTES_PER_ITERATION];
    let mut group = c.benchmark_group("checksum");
    group.throughput(Throughput::Bytes(data.len() as u64));
    for checksum in [Checksum::Crc32, Checksum::Crc32c] {
        group.bench_function(format!("{checksum:?}"), |b| {
            b.iter(|| checksum.compute(&[black_box(&data)]))
        });
    }
    group.finish();
}

fn append(c: &mut Criterion) {
    let mut group = c.benchmark_group("wal_append");
    for size in RECORD_SIZES {
        let records = batches(size);
        let payload_bytes: usize = records.iter().map(Vec::len).sum();
        group.throughput(Throughput::Bytes(payload_bytes as u64));
        group.bench_with_input(BenchmarkId::from_parameter(size), &records, |b, records| {
            let mut buffer = Vec::with_capacity(payload_bytes * 2);
            b.iter(|| {
                buffer.clear();
                let mut writer = Writer::new(&mut buffer, WriterOptions::default());
                for record in records {
                    writer.add_record(record).expect("writing to memory");
                }
            })
        });
    }
    group.finish();
}

fn read_and_replay(c: &mut Criterion) {
    let mut group = c.benchmark_group("wal_read");
    for size in RECORD_SIZES {
        let records = batches(size);
        let payload_bytes: usize = records.iter().map(Vec::len).sum();
        let log = log_of(&records);
        group.throughput(Throughput::Bytes(payload_bytes as u64));
        group.bench_with_input(BenchmarkId::new("reader", size), &log, |b, log| {
            b.iter(|| {
                let reader = Reader::new(&log[..], ReaderOptions::default());
                reader
                    .records()
                    .map(|record| record.map(|r| r.len()))
                    .sum::<Result<usize, _>>()
            })
        });
        // The same records lent from the slice: no copy of blocks or
        // unfragmented payloads.
        group.bench_with_input(BenchmarkId::new("reader_lent", size), &log, |b, log| {
            b.iter(|| {
                let mut reader = Reader::from_slice(&log[..], ReaderOptions::default());
                let mut bytes = 0;
                while let Some(event) = reader.next_lent().expect("reading from memory") {
                    if let LentEvent::Record(record) = event {
                        bytes += record.payload.len();
                    }
                }
                bytes
            })
        });
        // Replay handing each batch on as recovery does (lent, not kept).
        group.bench_with_input(
            BenchmarkId::new("replay_each_lent", size),
            &log,
            |b, log| {
                b.iter(|| {
                    let reader = Reader::from_slice(&log[..], ReaderOptions::default());
                    let mut count = 0u64;
                    let outcome = replay_each(
                        reader,
                        RecoveryMode::PointInTimeRecovery,
                        "bench.log".as_ref(),
                        |batch| {
                            count += u64::from(batch.count);
                            black_box(batch.payload);
                            ControlFlow::<()>::Continue(())
                        },
                    )
                    .expect("intact log");
                    (count, matches!(outcome, ControlFlow::Continue(_)))
                })
            },
        );
        group.bench_with_input(BenchmarkId::new("replay", size), &log, |b, log| {
            b.iter(|| {
                let reader = Reader::new(&log[..], ReaderOptions::default());
                let replayed = replay(
                    reader,
                    RecoveryMode::PointInTimeRecovery,
                    "bench.log".as_ref(),
                )
                .expect("intact log");
                replayed.batches.len()
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default();
    targets = checksum_reference, append, read_and_replay
}
criterion_main!(benches);
