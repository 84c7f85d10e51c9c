//! Claims: a table written with LZ4 reads back exactly what was added, both
//! ways and by key, and is smaller when the data compresses; blocks that do
//! not compress are stored as they are; an LZ4 block whose bytes are
//! damaged behind a valid checksum (so the decoder sees the damage) is a
//! `Corruption` naming the file and the block's offset, or reads some
//! bytes, and never panics.
#![allow(clippy::unwrap_used)]

use strata_sstable::key::{InternalKey, ValueKind};
use strata_sstable::{
    BLOCK_TRAILER_SIZE, COMPRESSION_LZ4, COMPRESSION_NONE, Compression, Error, Table, TableBuilder,
    TableOptions, mask_checksum,
};

/// User keys and values, in order.
type Entries = Vec<(Vec<u8>, Vec<u8>)>;

fn build(compression: Compression, value: impl Fn(u32) -> Vec<u8>) -> (Vec<u8>, Entries) {
    let options = TableOptions {
        compression,
        ..TableOptions::default()
    };
    let mut builder = TableBuilder::new(Vec::new(), options);
    let mut entries = Vec::new();
    for index in 0..2_000u32 {
        let user_key = format!("user/{index:06}").into_bytes();
        let value = value(index);
        let key = InternalKey::new(&user_key, u64::from(index) + 1, ValueKind::Value);
        builder.add(key.as_bytes(), &value).unwrap();
        entries.push((user_key, value));
    }
    (builder.finish().unwrap().0, entries)
}

fn text_value(index: u32) -> Vec<u8> {
    format!("the value of entry {index} repeats: {index} {index} {index} {index}").into_bytes()
}

fn noise_value(index: u32) -> Vec<u8> {
    let mut state = u64::from(index).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..64)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

fn user_key(internal_key: &[u8]) -> Vec<u8> {
    internal_key[..internal_key.len() - 8].to_vec()
}

/// Every entry, forward; or the first error.
fn try_read_all(table: &Table) -> Result<Entries, Error> {
    let mut entries = Vec::new();
    let mut iterator = table.iter();
    iterator.seek_to_first()?;
    while iterator.valid() {
        entries.push((user_key(iterator.key()), iterator.value().to_vec()));
        iterator.next()?;
    }
    Ok(entries)
}

fn read_all(table: &Table) -> Entries {
    try_read_all(table).unwrap()
}

/// The stored length of the first block (at offset 0) and its compression
/// byte: the first length whose trailer's checksum matches.
fn first_block(bytes: &[u8]) -> (usize, u8) {
    (1..bytes.len() - BLOCK_TRAILER_SIZE)
        .find_map(|length| {
            let compression = bytes[length];
            let mut stored = [0; 4];
            stored.copy_from_slice(&bytes[length + 1..length + 5]);
            (u32::from_le_bytes(stored) == checksum(&bytes[..length], compression))
                .then_some((length, compression))
        })
        .unwrap()
}

fn checksum(stored: &[u8], compression: u8) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(stored);
    hasher.update(&[compression]);
    mask_checksum(hasher.finalize())
}

#[test]
fn an_lz4_table_reads_back_what_was_added_and_is_smaller() {
    let (plain, entries) = build(Compression::None, text_value);
    let (compressed, same) = build(Compression::Lz4, text_value);
    assert_eq!(entries, same);
    assert!(
        compressed.len() * 2 < plain.len(),
        "{} compressed bytes against {} plain",
        compressed.len(),
        plain.len()
    );
    assert_eq!(first_block(&compressed).1, COMPRESSION_LZ4);
    let table = Table::open(compressed, "lz4.sst").unwrap();
    assert_eq!(read_all(&table), entries);
    let mut backward: Vec<_> = Vec::new();
    let mut iterator = table.iter();
    iterator.seek_to_last().unwrap();
    while iterator.valid() {
        backward.push((user_key(iterator.key()), iterator.value().to_vec()));
        iterator.prev().unwrap();
    }
    backward.reverse();
    assert_eq!(backward, entries);
    for (user_key, value) in entries.iter().step_by(7) {
        assert_eq!(
            &table.get(user_key, u64::MAX >> 8).unwrap().unwrap().value,
            value
        );
    }
    let report = table.verify().unwrap();
    assert_eq!(report.entry_count, 2_000);
}

#[test]
fn blocks_that_do_not_compress_are_stored_as_they_are() {
    let (plain, entries) = build(Compression::None, noise_value);
    let (compressed, _) = build(Compression::Lz4, noise_value);
    assert_eq!(first_block(&compressed).1, COMPRESSION_NONE);
    assert_eq!(compressed, plain);
    let table = Table::open(compressed, "noise.sst").unwrap();
    assert_eq!(read_all(&table), entries);
}

#[test]
fn a_damaged_lz4_block_behind_a_valid_checksum_is_an_error_naming_file_and_offset() {
    let (bytes, entries) = build(Compression::Lz4, text_value);
    let (length, compression) = first_block(&bytes);
    assert_eq!(compression, COMPRESSION_LZ4);
    let reseal = |mut damaged: Vec<u8>| {
        let sum = checksum(&damaged[..length], COMPRESSION_LZ4);
        damaged[length + 1..length + 5].copy_from_slice(&sum.to_le_bytes());
        damaged
    };
    // The uncompressed length claims one byte more than the block holds.
    let mut claimed = Vec::new();
    let (real, prefix) = strata_coding::get_varint32(&bytes).unwrap();
    strata_coding::put_varint32(&mut claimed, real + 1);
    assert_eq!(claimed.len(), prefix, "the same varint width");
    let mut damaged = bytes.clone();
    damaged[..prefix].copy_from_slice(&claimed);
    let table = Table::open(reseal(damaged), "damaged.sst").unwrap();
    match table.get(&entries[0].0, u64::MAX >> 8) {
        Err(Error::Corruption {
            file,
            offset,
            reason,
        }) => {
            assert_eq!(file.to_str(), Some("damaged.sst"));
            assert_eq!(offset, 0);
            assert!(reason.contains("LZ4"), "{reason}");
        }
        other => panic!("expected a corruption error, got {other:?}"),
    }
    assert!(table.verify().is_err());
    // Every single-byte change of the block, resealed: an error naming the
    // block, or some entries; never a panic.
    for index in 0..length {
        let mut damaged = bytes.clone();
        damaged[index] ^= 0x21;
        let Ok(table) = Table::open(reseal(damaged), "flip.sst") else {
            continue;
        };
        match try_read_all(&table) {
            Ok(_) => {}
            Err(Error::Corruption {
                file,
                offset,
                reason,
            }) => {
                // Only the first block is damaged; a position inside its
                // decompressed contents is no file offset.
                assert_eq!(file.to_str(), Some("flip.sst"));
                assert_eq!(offset, 0, "flip at {index}: {reason}");
            }
            Err(other) => panic!("flip at {index}: {other:?}"),
        }
    }
}
