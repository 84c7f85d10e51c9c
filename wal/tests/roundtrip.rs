//! Whatever the writer writes, the reader returns unchanged, with no problem
//! reported and every byte accounted for: any records (empty ones and ones
//! spanning several blocks), both header formats, both checksums.
#![allow(clippy::unwrap_used)]

use quickcheck::{QuickCheck, TestResult};
use strata_wal::{
    Checksum, Event, HeaderFormat, LentEvent, MIN_BLOCK_SIZE, Reader, ReaderOptions, Writer,
    WriterOptions,
};

fn round_trip(
    records: &[Vec<u8>],
    block_size: usize,
    checksum: Checksum,
    recyclable: bool,
) -> bool {
    let header_format = if recyclable {
        HeaderFormat::Recyclable { log_number: 77 }
    } else {
        HeaderFormat::Legacy
    };
    let options = WriterOptions {
        block_size,
        checksum,
        header_format,
    };
    let mut writer = Writer::new(Vec::new(), options);
    for record in records {
        writer.add_record(record).unwrap();
    }
    let written = writer.file_offset();
    let bytes = writer.into_inner();
    assert_eq!(written, bytes.len() as u64);

    let reader_options = ReaderOptions {
        block_size,
        checksum,
        log_number: Some(77),
    };
    let mut reader = Reader::new(&bytes[..], reader_options);
    let mut read = Vec::new();
    for event in reader.by_ref() {
        match event.unwrap() {
            Event::Record(record) => read.push(record.payload),
            Event::Problem(problem) => panic!("problem in an intact log: {problem}"),
        }
    }
    let accounting = reader.accounting();
    // Lent from the slice (whole records in place, fragmented ones
    // reassembled), the same records.
    let mut lending = Reader::from_slice(&bytes, reader_options);
    let mut lent = Vec::new();
    while let Some(event) = lending.next_lent().unwrap() {
        match event {
            LentEvent::Record(record) => lent.push(record.payload.to_vec()),
            LentEvent::Problem(problem) => panic!("problem in an intact log: {problem}"),
        }
    }
    read == records
        && lent == records
        && lending.accounting() == accounting
        && accounting.total() == bytes.len() as u64
        && accounting.dropped_bytes == 0
}

#[test]
fn any_records_round_trip_through_writer_and_reader() {
    fn property(records: Vec<Vec<u8>>, block: u8, crc32c: bool, recyclable: bool) -> TestResult {
        let block_size = MIN_BLOCK_SIZE + usize::from(block) % 100;
        TestResult::from_bool(round_trip(
            &records,
            block_size,
            if crc32c {
                Checksum::Crc32c
            } else {
                Checksum::Crc32
            },
            recyclable,
        ))
    }
    QuickCheck::new()
        .tests(2_000)
        .quickcheck(property as fn(Vec<Vec<u8>>, u8, bool, bool) -> TestResult);
}

#[test]
fn records_spanning_several_32k_blocks_round_trip() {
    let records: Vec<Vec<u8>> = [0, 1, 32_761, 32_762, 32_768, 100_000, 7, 0]
        .iter()
        .enumerate()
        .map(|(index, &size)| (0..size).map(|i| (i + index) as u8).collect())
        .collect();
    for checksum in [Checksum::Crc32, Checksum::Crc32c] {
        for recyclable in [false, true] {
            assert!(round_trip(&records, 32 * 1024, checksum, recyclable));
        }
    }
}

#[test]
fn every_record_size_around_the_block_boundary_round_trips() {
    for block_size in [MIN_BLOCK_SIZE, 13, 32, 64] {
        for first in 0..3 * block_size {
            let records = vec![
                vec![1; first],
                vec![2; block_size / 2],
                Vec::new(),
                vec![3; 5],
            ];
            assert!(round_trip(&records, block_size, Checksum::Crc32, false));
            assert!(round_trip(&records, block_size, Checksum::Crc32c, true));
        }
    }
}
