//! The block cache: tables opened with it return the same results as
//! without, keep within the byte bound, and `verify` still reads the file.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use strata_sstable::key::{InternalKey, ValueKind};
use strata_sstable::{BlockCache, Table, TableBuilder, TableOptions};

fn table_bytes(entries: u32) -> Vec<u8> {
    let mut builder = TableBuilder::new(Vec::new(), TableOptions::default());
    for index in 0..entries {
        let key = InternalKey::new(format!("key{index:06}").as_bytes(), 1, ValueKind::Value);
        builder.add(key.as_bytes(), &[index as u8; 200]).unwrap();
    }
    builder.finish().unwrap().0
}

#[test]
fn cached_reads_match_uncached_reads_and_stay_within_the_bound() {
    let bytes = table_bytes(2_000);
    let cache = BlockCache::new(64 << 10);
    let plain = Table::open(bytes.clone(), "plain.sst").unwrap();
    let cached = Table::open_cached(bytes.clone(), "cached.sst", Arc::clone(&cache), 7).unwrap();
    for round in 0..3 {
        for index in (0..2_000u32).step_by(7) {
            let key = format!("key{index:06}");
            let want = plain.get(key.as_bytes(), 5).unwrap();
            assert_eq!(
                cached.get(key.as_bytes(), 5).unwrap(),
                want,
                "round {round}"
            );
        }
        assert!(cache.size_bytes() <= 64 << 10, "{}", cache.size_bytes());
        assert!(cache.size_bytes() > 0);
    }
    // Two tables with different ids share the cache without mixing blocks.
    let other_bytes = {
        let mut builder = TableBuilder::new(Vec::new(), TableOptions::default());
        builder
            .add(
                InternalKey::new(b"key000000", 1, ValueKind::Value).as_bytes(),
                b"other",
            )
            .unwrap();
        builder.finish().unwrap().0
    };
    let other = Table::open_cached(other_bytes, "other.sst", Arc::clone(&cache), 8).unwrap();
    assert_eq!(other.get(b"key000000", 5).unwrap().unwrap().value, b"other");
    assert_eq!(
        cached.get(b"key000000", 5).unwrap().unwrap().value,
        vec![0; 200]
    );
}

#[test]
fn verify_reads_the_file_not_the_cache() {
    // A source whose bytes are damaged after the blocks were cached.
    let bytes: Arc<std::sync::Mutex<Vec<u8>>> = Arc::new(std::sync::Mutex::new(table_bytes(100)));
    struct Shared(Arc<std::sync::Mutex<Vec<u8>>>);
    impl strata_sstable::ReadAt for Shared {
        fn size_bytes(&self) -> std::io::Result<u64> {
            Ok(self.0.lock().unwrap().len() as u64)
        }
        fn read_exact_at(&self, offset: u64, buffer: &mut [u8]) -> std::io::Result<()> {
            let bytes = self.0.lock().unwrap();
            let start = offset as usize;
            buffer.copy_from_slice(&bytes[start..start + buffer.len()]);
            Ok(())
        }
    }
    let cache = BlockCache::new(1 << 20);
    let table = Table::open_cached(Shared(Arc::clone(&bytes)), "shared.sst", cache, 1).unwrap();
    assert_eq!(table.verify().unwrap().entry_count, 100);
    table.get(b"key000050", 5).unwrap();
    bytes.lock().unwrap()[10] ^= 0x40; // inside the first data block
    assert!(table.verify().is_err(), "verify trusted the cache");
}

#[test]
fn hits_and_misses_count_each_lookup_once() {
    let bytes = table_bytes(2_000);
    let cache = BlockCache::new(8 << 20);
    let table = Table::open_cached(bytes, "counted.sst", Arc::clone(&cache), 3).unwrap();
    // The first read of a key loads its block; the second finds it cached.
    table.get(b"key000010", 5).unwrap().unwrap();
    assert_eq!((cache.hits(), cache.misses()), (0, 1));
    table.get(b"key000010", 5).unwrap().unwrap();
    assert_eq!((cache.hits(), cache.misses()), (1, 1));
    // A key in a far block misses again.
    table.get(b"key001990", 5).unwrap().unwrap();
    assert_eq!((cache.hits(), cache.misses()), (1, 2));
}

#[test]
fn the_capacity_is_split_into_shards_of_at_least_half_a_mebibyte() {
    use strata_sstable::{MAX_CACHE_SHARDS, MIN_CACHE_SHARD_BYTES};
    assert_eq!(BlockCache::new(0).shard_count(), 1);
    assert_eq!(BlockCache::new(64 << 10).shard_count(), 1);
    assert_eq!(BlockCache::new(MIN_CACHE_SHARD_BYTES * 3).shard_count(), 2);
    assert_eq!(BlockCache::new(8 << 20).shard_count(), 16);
    assert_eq!(BlockCache::new(1 << 30).shard_count(), MAX_CACHE_SHARDS);
}

#[test]
fn a_sharded_cache_stays_within_its_bound_and_serves_concurrent_readers() {
    // 4 MiB in 8 shards; 4,000 entries of 200 bytes per table, 6 tables:
    // about 5 MB of blocks, more than fits.
    let cache = BlockCache::new(4 << 20);
    assert_eq!(cache.shard_count(), 8);
    let bytes = table_bytes(4_000);
    let plain = Table::open(bytes.clone(), "plain.sst").unwrap();
    let tables: Vec<Table> = (0..6)
        .map(|id| Table::open_cached(bytes.clone(), "cached.sst", Arc::clone(&cache), id).unwrap())
        .collect();
    std::thread::scope(|scope| {
        for thread in 0..4u32 {
            let tables = &tables;
            let plain = &plain;
            scope.spawn(move || {
                for round in 0..2u32 {
                    for index in (thread..4_000).step_by(13) {
                        let key = format!("key{index:06}");
                        let table = &tables[((index + round) % 6) as usize];
                        assert_eq!(
                            table.get(key.as_bytes(), 5).unwrap(),
                            plain.get(key.as_bytes(), 5).unwrap()
                        );
                    }
                }
            });
        }
    });
    assert!(cache.size_bytes() <= 4 << 20, "{}", cache.size_bytes());
    // Most of the capacity is in use: the shards are evenly loaded.
    assert!(cache.size_bytes() >= 3 << 20, "{}", cache.size_bytes());
    assert!(cache.hits() > 0 && cache.misses() > 0);
}
