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
