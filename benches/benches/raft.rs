//! The Raft log store (`strata-raft`): entries appended per second, each
//! append one synced batch (one entry per batch, as a follower persisting a
//! single proposal; 16 per batch, as a leader persisting a Ready that
//! gathered 16 proposals), with the hard state in the same batch.
//!
//! `cargo bench -p strata-bench --bench raft`
//! (The whole cluster's throughput with 1 and 16 proposers is measured by
//! `cargo run --release -p strata-raft --example raft_chaos -- --kills 0`.)
#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use raft::prelude::{Entry, HardState};
use strata::Options;
use strata_raft::RaftStorage;

const ENTRY_BYTES: usize = 100;
const ENTRIES_PER_RUN: u64 = 2_000;

fn append(c: &mut Criterion) {
    let mut group = c.benchmark_group("raft_append_synced");
    group.throughput(Throughput::Elements(ENTRIES_PER_RUN));
    group.sample_size(10);
    for per_batch in [1u64, 16] {
        group.bench_with_input(
            BenchmarkId::new("entries_per_batch", per_batch),
            &per_batch,
            |b, &per_batch| {
                b.iter_custom(|iterations| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iterations {
                        let directory = tempfile::tempdir().expect("temporary directory");
                        let storage =
                            RaftStorage::open(directory.path(), Options::default()).expect("open");
                        let start = Instant::now();
                        let mut index = 1;
                        while index <= ENTRIES_PER_RUN {
                            let entries: Vec<Entry> = (index..index + per_batch)
                                .map(|index| Entry {
                                    index,
                                    term: 1,
                                    data: vec![0x42; ENTRY_BYTES].into(),
                                    ..Entry::default()
                                })
                                .collect();
                            let hard_state = HardState {
                                term: 1,
                                vote: 1,
                                commit: index,
                                ..HardState::default()
                            };
                            storage
                                .append_with_hard_state(&entries, Some(&hard_state))
                                .expect("append");
                            index += per_batch;
                        }
                        total += start.elapsed();
                    }
                    total
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, append);
criterion_main!(benches);
