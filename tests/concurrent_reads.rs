//! Reads run beside writes, memtable switches, flushes and compactions
//! without the state mutex: each read takes the published sources. These
//! tests fail if a change to the sources is not published (a read after an
//! acknowledged write misses it), or if a read pairs a sequence with
//! sources it does not match (an iterator sees half of a batch).
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use strata::{Db, Options, WriteBatch, WriteOptions};

/// Tiny memtables and levels, so that a few thousand writes switch,
/// flush and compact many times.
fn busy_options() -> Options {
    Options {
        write_buffer_size: 4 << 10,
        level0_compaction_trigger: 2,
        level0_slowdown_writes_trigger: 8,
        level0_stop_writes_trigger: 12,
        max_bytes_for_level_base: 16 << 10,
        max_bytes_for_level_multiplier: 4,
        target_file_size_base: 4 << 10,
        num_levels: 4,
        ..Options::default()
    }
}

fn counter(value: u64) -> [u8; 8] {
    value.to_be_bytes()
}

fn read_counter(bytes: &[u8]) -> u64 {
    u64::from_be_bytes(bytes.try_into().unwrap())
}

#[test]
fn readers_see_every_acknowledged_write_and_whole_batches_while_the_tree_changes() {
    let directory = tempfile::tempdir().unwrap();
    let db = Arc::new(Db::open(directory.path(), busy_options()).unwrap());
    let acknowledged = AtomicU64::new(0);
    let done = AtomicBool::new(false);
    let rounds = 6_000u64;
    std::thread::scope(|scope| {
        scope.spawn(|| {
            for round in 1..=rounds {
                // Each round writes both counters and filler that fills
                // memtables quickly, in one batch.
                let mut batch = WriteBatch::new();
                batch.put(b"a", counter(round));
                batch.put(format!("filler-{:05}", round % 997), [7u8; 64]);
                batch.put(b"b", counter(round));
                db.write(batch, &WriteOptions::default()).unwrap();
                acknowledged.store(round, Ordering::Release);
            }
            done.store(true, Ordering::Release);
        });
        // Point reads: never older than what was acknowledged before the
        // read started, never going backwards.
        scope.spawn(|| {
            let mut last = 0;
            let mut reads = 0u64;
            while !done.load(Ordering::Acquire) || reads == 0 {
                let floor = acknowledged.load(Ordering::Acquire);
                let seen = db
                    .get(b"a")
                    .unwrap()
                    .map_or(0, |value| read_counter(&value));
                assert!(seen >= floor, "read {seen} after {floor} was acknowledged");
                assert!(seen >= last, "read {seen} after reading {last}");
                last = seen;
                reads += 1;
            }
        });
        // Iterators: both counters of one batch, or neither.
        scope.spawn(|| {
            let mut scans = 0u64;
            while !done.load(Ordering::Acquire) || scans == 0 {
                let floor = acknowledged.load(Ordering::Acquire);
                let entries: Vec<(Vec<u8>, Vec<u8>)> = db
                    .range(&b"a"[..]..=&b"b"[..])
                    .map(Result::unwrap)
                    .collect();
                let values: Vec<u64> = entries
                    .iter()
                    .map(|(_, value)| read_counter(value))
                    .collect();
                match values.as_slice() {
                    [] => assert_eq!(floor, 0),
                    [a, b] => {
                        assert_eq!(a, b, "an iterator saw half a batch");
                        assert!(*a >= floor, "scanned {a} after {floor} was acknowledged");
                    }
                    other => panic!("unexpected scan {other:?}"),
                }
                scans += 1;
            }
        });
    });
    let stats = db.stats();
    assert!(stats.flushes >= 10, "{stats:?}");
    assert!(stats.compactions + stats.trivial_moves >= 3, "{stats:?}");
    assert_eq!(read_counter(&db.get(b"b").unwrap().unwrap()), rounds);
}
