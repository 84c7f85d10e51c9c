//! Side-by-side runner: the same workloads on Strata and on RocksDB, in one
//! process, one after the other, printing each figure and the ratio.
//!
//! `cargo run --release -p strata-bench --features rocksdb --bin compare -- [SCALE]`
//!
//! Workloads (100-byte values, 16-byte keys): sequential fill, random fill,
//! random point reads after a flush, and synced single-key writes from 1, 4
//! and 16 threads. Both engines run with their default options except a
//! 4 MiB write buffer; the WAL is on and synced where the workload says so.
//! The machine is shared and noisy: compare ratios measured in the same run.

use std::sync::Arc;
use std::time::Instant;

const VALUE_SIZE: usize = 100;

fn key(index: u64) -> [u8; 16] {
    let mut key = [0u8; 16];
    key[..8].copy_from_slice(b"key00000");
    key[8..].copy_from_slice(&index.to_be_bytes());
    key
}

fn scatter(index: u64, keys: u64) -> u64 {
    index.wrapping_mul(0x9e37_79b9_7f4a_7c15) % keys
}

/// The operations both engines offer to the workloads.
trait Engine: Send + Sync {
    fn put(&self, key: &[u8], value: &[u8], sync: bool);
    fn get(&self, key: &[u8]) -> Option<Vec<u8>>;
    fn flush(&self);
}

struct StrataEngine(strata::Db);

impl Engine for StrataEngine {
    fn put(&self, key: &[u8], value: &[u8], sync: bool) {
        let mut batch = strata::WriteBatch::new();
        batch.put(key, value);
        self.0
            .write(batch, &strata::WriteOptions { sync })
            .expect("strata write");
    }
    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.0.get(key).expect("strata get")
    }
    fn flush(&self) {
        self.0.flush().expect("strata flush");
    }
}

struct RocksEngine(rocksdb::DB);

impl Engine for RocksEngine {
    fn put(&self, key: &[u8], value: &[u8], sync: bool) {
        let mut options = rocksdb::WriteOptions::default();
        options.set_sync(sync);
        self.0.put_opt(key, value, &options).expect("rocksdb write");
    }
    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.0.get(key).expect("rocksdb get")
    }
    fn flush(&self) {
        self.0.flush().expect("rocksdb flush");
    }
}

const WRITE_BUFFER_SIZE: usize = 4 << 20;

fn open(name: &str, directory: &std::path::Path) -> Arc<dyn Engine> {
    match name {
        "strata" => {
            let options = strata::Options {
                write_buffer_size: WRITE_BUFFER_SIZE,
                ..strata::Options::default()
            };
            Arc::new(StrataEngine(
                strata::Db::open(directory, options).expect("open strata"),
            ))
        }
        _ => {
            let mut options = rocksdb::Options::default();
            options.create_if_missing(true);
            options.set_write_buffer_size(WRITE_BUFFER_SIZE);
            Arc::new(RocksEngine(
                rocksdb::DB::open(&options, directory).expect("open rocksdb"),
            ))
        }
    }
}

/// Operations per second of `work` run on `threads` threads, each doing
/// `per_thread` operations.
fn measure(
    engine: &Arc<dyn Engine>,
    threads: u64,
    per_thread: u64,
    work: fn(&dyn Engine, u64, u64),
) -> f64 {
    let start = Instant::now();
    std::thread::scope(|scope| {
        for thread in 0..threads {
            let engine = Arc::clone(engine);
            scope.spawn(move || {
                for index in 0..per_thread {
                    work(engine.as_ref(), thread, index);
                }
            });
        }
    });
    (threads * per_thread) as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let scale: u64 = std::env::args()
        .nth(1)
        .map_or(1, |text| text.parse().expect("SCALE is a number"));
    let keys = 200_000 * scale;
    let synced = 2_000 * scale;
    let value = [0x42u8; VALUE_SIZE];
    let mut rows: Vec<(String, f64, f64)> = Vec::new();
    let mut results: std::collections::HashMap<(&str, String), f64> = Default::default();
    for name in ["strata", "rocksdb"] {
        let workspace = tempfile::tempdir().expect("temporary directory");
        let engine = open(name, &workspace.path().join("sequential"));
        let start = Instant::now();
        for index in 0..keys {
            engine.put(&key(index), &value, false);
        }
        results.insert(
            (name, "fill sequential (ops/s)".into()),
            keys as f64 / start.elapsed().as_secs_f64(),
        );

        let engine = open(name, &workspace.path().join("random"));
        let start = Instant::now();
        for index in 0..keys {
            engine.put(&key(scatter(index, keys)), &value, false);
        }
        results.insert(
            (name, "fill random (ops/s)".into()),
            keys as f64 / start.elapsed().as_secs_f64(),
        );
        engine.flush();
        let reads = keys / 2;
        let start = Instant::now();
        let mut found = 0u64;
        for index in 0..reads {
            found += u64::from(
                engine
                    .get(&key(scatter((index * 7 + 3) % keys, keys)))
                    .is_some(),
            );
        }
        assert_eq!(found, reads, "{name}: every read must hit");
        results.insert(
            (name, "read random (ops/s)".into()),
            reads as f64 / start.elapsed().as_secs_f64(),
        );
        drop(engine);

        for threads in [1u64, 4, 16] {
            let engine = open(name, &workspace.path().join(format!("synced-{threads}")));
            let rate = measure(
                &engine,
                threads,
                synced / threads,
                |engine, thread, index| {
                    engine.put(&key(thread << 40 | index), &[7u8; VALUE_SIZE], true);
                },
            );
            results.insert(
                (name, format!("synced write, {threads:>2} threads (ops/s)")),
                rate,
            );
        }
    }
    let mut labels: Vec<String> = results.keys().map(|(_, label)| label.clone()).collect();
    labels.sort();
    labels.dedup();
    for label in labels {
        let strata = results[&("strata", label.clone())];
        let rocks = results[&("rocksdb", label.clone())];
        rows.push((label, strata, rocks));
    }
    println!(
        "{:<36} {:>14} {:>14} {:>8}",
        "workload", "strata", "rocksdb", "ratio"
    );
    for (label, strata, rocks) in rows {
        println!(
            "{label:<36} {strata:>14.0} {rocks:>14.0} {:>7.2}x",
            strata / rocks
        );
    }
    println!(
        "(ratio = Strata / RocksDB; above 1 means Strata is faster; keys {keys}, synced writes {synced} per run)"
    );
}
