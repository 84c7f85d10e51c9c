//! The log reader and every recovery mode on arbitrary bytes: never a panic
//! or a hang, every byte accounted for as a record, a drop or padding, and
//! each mode's result consistent with what the reader saw.
//!
//! Raw bytes rarely carry a valid checksum, so half of the inputs are
//! assembled from structured pieces whose checksums are computed here.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use strata_wal::batch::DecodedBatch;
use strata_wal::{
    Checksum, Event, LentEvent, ProblemKind, Reader, ReaderOptions, RecoveryMode, mask_checksum,
    replay,
};

#[derive(Arbitrary, Debug)]
enum Piece {
    /// A physical record with a correct checksum.
    Record {
        type_byte: u8,
        payload: Vec<u8>,
        log_number: u32,
    },
    /// A write batch as a Full record with a correct checksum.
    Batch { sequence: u8, keys: Vec<Vec<u8>> },
    /// A header whose length field lies.
    LyingLength { type_byte: u8, length: u16 },
    /// Zeros.
    Zeros(u8),
    /// Anything.
    Raw(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
struct Input {
    block_size_choice: u8,
    crc32c: bool,
    log_number: Option<u8>,
    structured: bool,
    pieces: Vec<Piece>,
    raw: Vec<u8>,
}

fn physical(type_byte: u8, payload: &[u8], log_number: u32, checksum: Checksum) -> Vec<u8> {
    let recyclable = matches!(type_byte, 5..=8) || (type_byte >= 10 && type_byte & 1 == 1);
    let number = log_number.to_le_bytes();
    let covered: &[u8] = if recyclable { &number } else { &[] };
    let crc = checksum.compute(&[&[type_byte], covered, payload]);
    let mut bytes = mask_checksum(crc).to_le_bytes().to_vec();
    bytes.extend_from_slice(&(payload.len().min(u16::MAX as usize) as u16).to_le_bytes());
    bytes.push(type_byte);
    bytes.extend_from_slice(covered);
    bytes.extend_from_slice(payload);
    bytes
}

fn assemble(pieces: &[Piece], checksum: Checksum) -> Vec<u8> {
    let mut bytes = Vec::new();
    for piece in pieces {
        match piece {
            Piece::Record {
                type_byte,
                payload,
                log_number,
            } => bytes.extend(physical(*type_byte, payload, *log_number, checksum)),
            Piece::Batch { sequence, keys } => {
                let mut builder = strata_wal::batch::BatchBuilder::new();
                for key in keys {
                    builder.put(key, b"v");
                }
                bytes.extend(physical(
                    1,
                    &builder.finish(u64::from(*sequence)),
                    0,
                    checksum,
                ));
            }
            Piece::LyingLength { type_byte, length } => {
                bytes.extend_from_slice(&[1, 2, 3, 4]);
                bytes.extend_from_slice(&length.to_le_bytes());
                bytes.push(*type_byte);
            }
            Piece::Zeros(count) => bytes.resize(bytes.len() + usize::from(*count), 0),
            Piece::Raw(raw) => bytes.extend_from_slice(raw),
        }
    }
    bytes
}

fn check(bytes: &[u8], options: ReaderOptions) {
    let mut reader = Reader::new(bytes, options);
    let mut good = Vec::new();
    let mut problems = Vec::new();
    let mut covered_until = 0u64;
    for event in reader.by_ref() {
        let event = event.expect("reading from memory does not fail");
        let (start, end) = match &event {
            Event::Record(record) => (record.offset, record.end_offset),
            Event::Problem(problem) => (problem.offset, problem.end_offset()),
        };
        assert!(
            start >= covered_until,
            "regions overlap or go backwards: {event:?}"
        );
        assert!(end <= bytes.len() as u64 && start <= end);
        covered_until = end;
        match event {
            Event::Record(record) => good.push(record.payload),
            Event::Problem(problem) => problems.push(problem),
        }
    }
    assert_eq!(
        reader.accounting().total(),
        bytes.len() as u64,
        "bytes unaccounted for"
    );
    // Lending from a slice finds exactly what copying from a reader does.
    let mut lending = Reader::from_slice(bytes, options);
    let mut lent_good = Vec::new();
    let mut lent_problems = Vec::new();
    while let Some(event) = lending
        .next_lent()
        .expect("reading from memory does not fail")
    {
        match event {
            LentEvent::Record(record) => lent_good.push(record.payload.to_vec()),
            LentEvent::Problem(problem) => lent_problems.push(problem),
        }
    }
    assert_eq!(lent_good, good);
    assert_eq!(lent_problems, problems);
    assert_eq!(lending.accounting(), reader.accounting());
    let batches: Vec<&Vec<u8>> = good
        .iter()
        .filter(|p| DecodedBatch::decode(p).is_ok())
        .collect();
    let all_clean = problems.is_empty() && batches.len() == good.len();

    for mode in RecoveryMode::ALL {
        let result = replay(Reader::new(bytes, options), mode, "fuzz.log".as_ref());
        let from_slice = replay(
            Reader::from_slice(bytes, options),
            mode,
            "fuzz.log".as_ref(),
        );
        assert_eq!(
            result.as_ref().map_err(ToString::to_string),
            from_slice.as_ref().map_err(ToString::to_string)
        );
        match result {
            Ok(replayed) => {
                let applied: Vec<&Vec<u8>> = replayed.batches.iter().map(|b| &b.payload).collect();
                let dropped: u64 = replayed.report.dropped_bytes();
                assert!(dropped <= bytes.len() as u64);
                assert_eq!(replayed.report.length, bytes.len() as u64);
                match mode {
                    RecoveryMode::SkipAnyCorruptedRecords => assert_eq!(applied, batches),
                    _ => assert!(batches.starts_with(&applied), "{mode} is not a prefix"),
                }
                if mode == RecoveryMode::AbsoluteConsistency {
                    // Only a stale record at a record boundary ends a log
                    // quietly under AbsoluteConsistency.
                    assert!(problems.first().is_none_or(|p| matches!(
                        p.kind,
                        ProblemKind::StaleRecord {
                            inside_chain: false
                        }
                    )));
                }
            }
            Err(strata_wal::Error::Corruption { .. }) => {
                assert!(!all_clean, "{mode} failed on a clean log");
                assert_ne!(mode, RecoveryMode::PointInTimeRecovery);
                assert_ne!(mode, RecoveryMode::SkipAnyCorruptedRecords);
            }
            Err(other) => panic!("unexpected error {other}"),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut unstructured = Unstructured::new(data);
    let Ok(input) = Input::arbitrary(&mut unstructured) else {
        return;
    };
    let block_size = [12, 16, 32, 64, 100, 32 * 1024][usize::from(input.block_size_choice) % 6];
    let checksum = if input.crc32c {
        Checksum::Crc32c
    } else {
        Checksum::Crc32
    };
    let options = ReaderOptions {
        block_size,
        checksum,
        log_number: input.log_number.map(u64::from),
    };
    let bytes = if input.structured {
        assemble(&input.pieces, checksum)
    } else {
        input.raw
    };
    check(&bytes, options);
});
