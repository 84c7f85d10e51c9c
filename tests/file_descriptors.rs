//! File descriptors: a database reopened many times, or holding more tables
//! than `max_open_files`, opens and reads with few descriptors. One test, so
//! that no other test of this process opens files while it counts.
#![allow(clippy::unwrap_used)]

use strata::{Db, Options};

fn key(index: u64) -> [u8; 16] {
    let mut key = [0; 16];
    key[..8].copy_from_slice(b"key00000");
    key[8..].copy_from_slice(&index.to_be_bytes());
    key
}

fn small_levels() -> Options {
    Options {
        write_buffer_size: 64 << 10,
        level0_compaction_trigger: 4,
        max_bytes_for_level_base: 256 << 10,
        max_bytes_for_level_multiplier: 4,
        target_file_size_base: 64 << 10,
        num_levels: 5,
        ..Options::default()
    }
}

fn cycle_options() -> Options {
    Options {
        write_buffer_size: 64 << 10,
        ..Options::default()
    }
}

#[test]
fn reopened_and_many_table_databases_use_few_descriptors() {
    a_database_reopened_many_times_opens_with_few_file_descriptors();
    more_tables_than_max_open_files_stay_readable_with_few_descriptors();
}

/// The same on the real file system, counting the descriptors an open takes.
fn a_database_reopened_many_times_opens_with_few_file_descriptors() {
    let directory = tempfile::tempdir().unwrap();
    for cycle in 0..500u64 {
        let db = Db::open(directory.path(), cycle_options()).unwrap();
        db.put(key(cycle), [1; 100]).unwrap();
    }
    let descriptors = || std::fs::read_dir("/proc/self/fd").map_or(0, Iterator::count);
    let before = descriptors();
    let db = Db::open(directory.path(), cycle_options()).unwrap();
    let taken = descriptors().saturating_sub(before);
    assert!(
        taken < 64,
        "one open took {taken} descriptors: {:?}",
        db.levels()
    );
    assert_eq!(db.iter().count(), 500);
}

/// With more tables than `max_open_files`, reads still see everything while
/// the process keeps no more than about that many table files open.
fn more_tables_than_max_open_files_stay_readable_with_few_descriptors() {
    let directory = tempfile::tempdir().unwrap();
    let options = Options {
        max_open_files: 16,
        ..small_levels()
    };
    {
        let db = Db::open(directory.path(), options.clone()).unwrap();
        for index in 0..60_000 {
            db.put(key(index), [b'v'; 100]).unwrap();
        }
        db.flush().unwrap();
        db.wait_for_background_idle().unwrap();
    }
    let tables = std::fs::read_dir(directory.path())
        .unwrap()
        .filter(|entry| {
            entry
                .as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|extension| extension == "sst")
        })
        .count();
    assert!(tables > 40, "the fill made only {tables} tables");
    let descriptors = || std::fs::read_dir("/proc/self/fd").map_or(0, Iterator::count);
    let before = descriptors();
    let db = Db::open(directory.path(), options).unwrap();
    let mut state = 0x9e37_79b9_u64;
    for _ in 0..5_000 {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        let index = (state >> 33) % 60_000;
        assert_eq!(db.get(key(index)).unwrap(), Some(vec![b'v'; 100]));
    }
    assert_eq!(db.iter().count(), 60_000);
    // Halfway through a reverse scan, one table per level is open.
    let mut backwards = db.iter().rev();
    for _ in 0..30_000 {
        backwards.next().unwrap().unwrap();
    }
    let during = descriptors().saturating_sub(before);
    assert!(
        during <= 16 + 8,
        "{during} descriptors during a reverse scan"
    );
    assert_eq!(backwards.count(), 30_000);
    let taken = descriptors().saturating_sub(before);
    assert!(taken <= 16 + 8, "{taken} descriptors for {tables} tables");
}
