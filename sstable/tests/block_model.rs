//! Claims: a block built from sorted internal keys reads back exactly, in
//! both directions and from any seek, at every restart interval.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::sync::Arc;

use common::{Step, UserKey, check_cursor, model_of};
use quickcheck::{QuickCheck, TestResult};
use strata_sstable::{Block, BlockBuilder, KeyOrder};

fn block_matches_model(
    entries: Vec<common::GeneratedEntry>,
    restart_choice: u8,
    probes: Vec<(UserKey, u64)>,
    steps: Vec<Step>,
) -> TestResult {
    let restart_interval = [1, 2, 3, 16, 100][usize::from(restart_choice) % 5];
    let model = model_of(&entries);
    let mut builder = BlockBuilder::new(restart_interval);
    for (key, value) in &model {
        builder.add(key.as_bytes(), value);
    }
    let contents = builder.finish();
    let block = Arc::new(
        Block::new(
            contents,
            KeyOrder::Internal,
            Arc::from(Path::new("block")),
            0,
        )
        .unwrap(),
    );
    match check_cursor(&mut block.iter(), &model, &probes, &steps) {
        Ok(()) => TestResult::passed(),
        Err(difference) => {
            TestResult::error(format!("restart interval {restart_interval}: {difference}"))
        }
    }
}

#[test]
fn block_matches_btreemap_model_across_restart_intervals() {
    QuickCheck::new()
        .tests(300)
        .quickcheck(block_matches_model as fn(_, _, _, _) -> TestResult);
}

#[test]
fn empty_block_has_no_entries_in_either_direction() {
    let block = Arc::new(
        Block::new(
            BlockBuilder::new(16).finish(),
            KeyOrder::Internal,
            Arc::from(Path::new("b")),
            0,
        )
        .unwrap(),
    );
    let mut iterator = block.iter();
    iterator.seek_to_first().unwrap();
    assert!(!iterator.valid());
    iterator.seek_to_last().unwrap();
    assert!(!iterator.valid());
    iterator.seek(b"anything").unwrap();
    assert!(!iterator.valid());
}

#[test]
fn malformed_restart_arrays_are_corruption_with_the_block_offset() {
    for contents in [
        vec![],
        vec![1, 0, 0],
        vec![9, 0, 0, 0],
        vec![5, 0, 0, 0, 1, 0, 0, 0],
    ] {
        let error = Block::new(
            contents.clone(),
            KeyOrder::Internal,
            Arc::from(Path::new("t.sst")),
            77,
        )
        .unwrap_err();
        match error {
            strata_sstable::Error::Corruption { file, offset, .. } => {
                assert_eq!(file, Path::new("t.sst"));
                assert_eq!(offset, 77);
            }
            other => panic!("{contents:?}: expected corruption, got {other}"),
        }
    }
}

/// Found by `cargo fuzz run sstable_block` (crash-b5d1d96e...): a byte-wise
/// block whose restart points lie inside an entry's value. A forward scan
/// (decoding from offset 0) and a backward scan (decoding from the last
/// restart point) read different entries. Such a restart point is now a
/// corruption, so both directions fail instead of disagreeing.
#[test]
fn restart_point_inside_an_entry_is_corruption_not_a_different_scan() {
    const FUZZ_INPUT: &[u8] = &[
        0x49, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x16, 0x00, 0x00,
        0x00, 0x02, 0x00, 0x00, 0x00, 0x80, 0x00, 0x5b, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x16, 0x00, 0x00,
        0x00, 0x02, 0x00, 0x00, 0x00,
    ];
    // The fuzz target's framing: selector byte (odd = byte-wise), then a
    // target of `first % 16` bytes, then the block.
    let rest = &FUZZ_INPUT[1..];
    let target_length = usize::from(rest[0] % 16);
    let contents = rest[target_length..].to_vec();
    let block = Arc::new(
        Block::new(
            contents,
            KeyOrder::Bytewise,
            Arc::from(Path::new("fuzz")),
            0,
        )
        .unwrap(),
    );
    let mut iterator = block.iter();
    let mut forward = iterator.seek_to_first();
    while forward.is_ok() && iterator.valid() {
        forward = iterator.next();
    }
    let error = forward.unwrap_err();
    assert!(
        error.to_string().contains("lies inside the entry"),
        "{error}"
    );
    let mut backward = iterator.seek_to_last();
    while backward.is_ok() && iterator.valid() {
        backward = iterator.prev();
    }
    assert!(backward.unwrap_err().is_corruption());
}
