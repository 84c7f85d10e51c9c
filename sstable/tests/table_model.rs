//! Claims: a table built from sorted internal keys reads back exactly (scans
//! both ways, seeks both ways, a mixed walk, point gets at any sequence),
//! across block sizes and restart intervals, with and without a filter, from
//! memory and from a mapped file.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Step, UserKey, build_table, check_cursor, check_gets, model_of};
use quickcheck::{QuickCheck, TestResult};
use strata_sstable::key::{InternalKey, ValueKind};
use strata_sstable::{Compression, Error, FilterLayout, Table, TableBuilder, TableOptions};

fn options(block_choice: u8, restart_choice: u8, bloom_choice: u8) -> TableOptions {
    TableOptions {
        block_size_bytes: [1, 40, 128, 512, 4096][usize::from(block_choice) % 5],
        restart_interval: [1, 2, 4, 16][usize::from(restart_choice) % 4],
        bloom_bits_per_key: [10, 10, 1, 0][usize::from(bloom_choice) % 4],
        filter_layout: if bloom_choice & 0x40 != 0 {
            FilterLayout::Spread
        } else {
            FilterLayout::Local
        },
        compression: if block_choice & 0x80 != 0 {
            Compression::Lz4
        } else {
            Compression::None
        },
    }
}

fn table_matches_model(
    entries: Vec<common::GeneratedEntry>,
    choices: (u8, u8, u8),
    probes: Vec<(UserKey, u64)>,
    steps: Vec<Step>,
) -> TestResult {
    let options = options(choices.0, choices.1, choices.2);
    let model = model_of(&entries);
    let bytes = build_table(&model, options);
    let table = Table::open(bytes, "model.sst").unwrap();
    let report = table.verify().unwrap();
    if report.entry_count != model.len() as u64 {
        return TestResult::error(format!("verify counted {} entries", report.entry_count));
    }
    let result = check_cursor(&mut table.iter(), &model, &probes, &steps)
        .and_then(|()| check_gets(&table, &model, &probes));
    match result {
        Ok(()) => TestResult::passed(),
        Err(difference) => TestResult::error(format!("{options:?}: {difference}")),
    }
}

#[test]
fn table_matches_btreemap_model_across_block_sizes_and_restart_intervals() {
    QuickCheck::new()
        .tests(300)
        .quickcheck(table_matches_model as fn(_, _, _, _) -> TestResult);
}

#[test]
fn large_table_with_default_options_reads_back_through_a_mapped_file() {
    let mut builder = TableBuilder::new(Vec::new(), TableOptions::default());
    for index in 0..20_000u32 {
        let key = InternalKey::new(
            format!("key{index:08}").as_bytes(),
            u64::from(index),
            ValueKind::Value,
        );
        builder
            .add(key.as_bytes(), format!("value{index}").as_bytes())
            .unwrap();
    }
    let (bytes, summary) = builder.finish().unwrap();
    assert!(summary.data_block_count > 50, "{summary:?}");
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("000001.sst");
    std::fs::write(&path, &bytes).unwrap();
    let table = Table::open_path(&path).unwrap();
    assert_eq!(table.file(), path);
    assert_eq!(table.verify().unwrap().entry_count, 20_000);
    for index in (0..20_000u32).step_by(97) {
        let user_key = format!("key{index:08}");
        let entry = table.get(user_key.as_bytes(), u64::MAX).unwrap().unwrap();
        assert_eq!(entry.value, format!("value{index}").as_bytes());
        if index > 0 {
            // Written at sequence `index`: invisible to an older snapshot.
            assert_eq!(
                table
                    .get(user_key.as_bytes(), u64::from(index) - 1)
                    .unwrap(),
                None
            );
        }
        assert_eq!(
            table
                .get(format!("key{index:08}x").as_bytes(), u64::MAX)
                .unwrap(),
            None
        );
    }
}

#[test]
fn empty_table_opens_and_holds_nothing() {
    let (bytes, summary) = TableBuilder::new(Vec::new(), TableOptions::default())
        .finish()
        .unwrap();
    assert_eq!(summary.smallest_key, None);
    let table = Table::open(bytes, "empty.sst").unwrap();
    assert_eq!(table.get(b"k", u64::MAX).unwrap(), None);
    let mut iterator = table.iter();
    iterator.seek_to_first().unwrap();
    assert!(!iterator.valid());
    iterator.seek_to_last().unwrap();
    assert!(!iterator.valid());
    assert_eq!(table.verify().unwrap().entry_count, 0);
}

#[test]
fn out_of_order_and_duplicate_keys_are_errors_not_panics() {
    let mut builder = TableBuilder::new(Vec::new(), TableOptions::default());
    builder
        .add(InternalKey::new(b"b", 5, ValueKind::Value).as_bytes(), b"")
        .unwrap();
    for key in [
        InternalKey::new(b"a", 9, ValueKind::Value),
        InternalKey::new(b"b", 5, ValueKind::Value),
        InternalKey::new(b"b", 6, ValueKind::Value),
    ] {
        let error = builder.add(key.as_bytes(), b"").unwrap_err();
        assert!(matches!(error, Error::OutOfOrder { .. }), "{error}");
        assert!(error.to_string().contains("strictly increasing"), "{error}");
    }
    builder
        .add(
            InternalKey::new(b"b", 4, ValueKind::Deletion).as_bytes(),
            b"",
        )
        .unwrap();
    assert!(matches!(
        builder.add(b"short", b"").unwrap_err(),
        Error::InvalidKey { .. }
    ));
    let mut bad_kind = InternalKey::new(b"c", 1, ValueKind::Value).into_bytes();
    bad_kind[1] = 9;
    assert!(matches!(
        builder.add(&bad_kind, b"").unwrap_err(),
        Error::InvalidKey { .. }
    ));
    let (bytes, summary) = builder.finish().unwrap();
    assert_eq!(summary.entry_count, 2);
    assert_eq!(
        Table::open(bytes, "t")
            .unwrap()
            .verify()
            .unwrap()
            .entry_count,
        2
    );
}

#[test]
fn filter_answers_misses_without_reading_data_blocks() {
    // A table whose only data block is damaged: a get for an absent key must
    // still answer None, because the filter is consulted first.
    let mut builder = TableBuilder::new(Vec::new(), TableOptions::default());
    builder
        .add(
            InternalKey::new(b"present", 1, ValueKind::Value).as_bytes(),
            b"v",
        )
        .unwrap();
    let (mut bytes, _) = builder.finish().unwrap();
    bytes[0] ^= 0xff;
    let table = Table::open(bytes, "t.sst").unwrap();
    let misses = (0..1000)
        .filter(|index| table.get(format!("absent{index}").as_bytes(), 9).is_ok())
        .count();
    assert!(
        misses >= 980,
        "only {misses} of 1000 misses were answered by the filter"
    );
    assert!(table.get(b"present", 9).unwrap_err().is_corruption());
}
