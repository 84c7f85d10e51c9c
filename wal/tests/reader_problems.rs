//! One test per problem the reader can report, and per recovery-mode decision
//! on it: the byte-surgery cases of LevelDB's log_test, with Strata's kinds
//! and offsets, plus the differences DESIGN.md §5 makes on purpose.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use common::{payloads, replay_bytes};
use strata_wal::batch::BatchBuilder;
use strata_wal::{
    Checksum, Error, Event, HeaderFormat, LogEnd, Problem, ProblemKind, Reader, ReaderOptions,
    RecoveryMode, Writer, WriterOptions, mask_checksum, replay,
};

const BLOCK: usize = 64;

fn batch(sequence: u64, value: &[u8]) -> Vec<u8> {
    BatchBuilder::new().put(b"k", value).finish(sequence)
}

fn write(payloads: &[Vec<u8>]) -> Vec<u8> {
    let options = WriterOptions {
        block_size: BLOCK,
        ..WriterOptions::default()
    };
    let mut writer = Writer::new(Vec::new(), options);
    for payload in payloads {
        writer.add_record(payload).unwrap();
    }
    writer.into_inner()
}

/// A legacy physical record with a correct checksum.
fn physical(type_byte: u8, payload: &[u8]) -> Vec<u8> {
    let crc = Checksum::Crc32.compute(&[&[type_byte], payload]);
    let mut bytes = mask_checksum(crc).to_le_bytes().to_vec();
    bytes.extend_from_slice(&(payload.len() as u16).to_le_bytes());
    bytes.push(type_byte);
    bytes.extend_from_slice(payload);
    bytes
}

fn events(bytes: &[u8]) -> (Vec<Event>, u64) {
    let options = common::reader_options(BLOCK);
    let mut reader = Reader::new(bytes, options);
    let events: Vec<Event> = reader.by_ref().collect::<Result<_, _>>().unwrap();
    let accounting = reader.accounting();
    assert_eq!(
        accounting.total(),
        bytes.len() as u64,
        "every byte accounted for"
    );
    // The reader over a slice, lending records, finds exactly the same.
    let mut lending = Reader::from_slice(bytes, options);
    let mut lent = Vec::new();
    while let Some(event) = lending.next_lent().unwrap() {
        lent.push(event.to_event());
    }
    assert_eq!(lent, events);
    assert_eq!(lending.accounting(), accounting);
    (events, accounting.dropped_bytes)
}

fn problems(bytes: &[u8]) -> Vec<Problem> {
    events(bytes)
        .0
        .into_iter()
        .filter_map(|event| match event {
            Event::Problem(problem) => Some(problem),
            Event::Record(_) => None,
        })
        .collect()
}

fn outcome(bytes: &[u8], mode: RecoveryMode) -> Result<Vec<Vec<u8>>, ProblemKind> {
    match replay_bytes(bytes, BLOCK, mode) {
        Ok(replayed) => Ok(payloads(&replayed)),
        Err(Error::Corruption { kind, .. }) => Err(kind),
        Err(other) => panic!("unexpected error {other}"),
    }
}

#[test]
fn truncated_header_at_the_end_is_a_truncation() {
    let mut bytes = write(&[batch(1, b"a"), batch(2, b"b")]);
    let second = bytes.len() - 7 - 17;
    bytes.truncate(second + 3);
    let found = problems(&bytes);
    assert_eq!(
        found,
        vec![Problem {
            offset: second as u64,
            length: 3,
            kind: ProblemKind::TruncatedHeader
        }]
    );
    assert_eq!(
        outcome(&bytes, RecoveryMode::AbsoluteConsistency),
        Err(ProblemKind::TruncatedHeader)
    );
    for mode in [
        RecoveryMode::TolerateCorruptedTailRecords,
        RecoveryMode::PointInTimeRecovery,
        RecoveryMode::SkipAnyCorruptedRecords,
    ] {
        assert_eq!(
            outcome(&bytes, mode).unwrap(),
            vec![batch(1, b"a")],
            "{mode}"
        );
    }
}

#[test]
fn fewer_than_seven_zero_bytes_at_the_end_are_a_truncated_header() {
    let mut bytes = write(&[batch(1, b"a")]);
    bytes.extend_from_slice(&[0; 6]);
    assert_eq!(problems(&bytes)[0].kind, ProblemKind::TruncatedHeader);
    assert!(outcome(&bytes, RecoveryMode::AbsoluteConsistency).is_err());
}

#[test]
fn truncated_body_at_the_end_is_a_truncation() {
    let mut bytes = write(&[batch(1, b"a"), batch(2, b"bbbb")]);
    bytes.pop();
    let found = problems(&bytes);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].kind, ProblemKind::TruncatedBody);
    assert_eq!(found[0].end_offset(), bytes.len() as u64);
    assert_eq!(
        outcome(&bytes, RecoveryMode::AbsoluteConsistency),
        Err(ProblemKind::TruncatedBody)
    );
    assert_eq!(
        outcome(&bytes, RecoveryMode::TolerateCorruptedTailRecords).unwrap(),
        vec![batch(1, b"a")]
    );
}

#[test]
fn log_ending_inside_a_fragment_chain_is_a_truncation() {
    let big = batch(1, &[9; 100]);
    let mut bytes = write(std::slice::from_ref(&big));
    bytes.truncate(BLOCK); // the First fragment and nothing else
    let found = problems(&bytes);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].kind, ProblemKind::TruncatedChain);
    assert_eq!((found[0].offset, found[0].length), (0, BLOCK as u64));
    assert!(outcome(&bytes, RecoveryMode::AbsoluteConsistency).is_err());
    assert_eq!(
        outcome(&bytes, RecoveryMode::TolerateCorruptedTailRecords).unwrap(),
        Vec::<Vec<u8>>::new()
    );
}

#[test]
fn checksum_mismatch_drops_the_rest_of_the_block_and_resynchronises() {
    // a [0,24), b [24,48), c: First [48,64) + Last [64,98), d [98,122).
    let payloads = [
        batch(1, b"a"),
        batch(2, b"b"),
        batch(3, &[3; 20]),
        batch(4, b"d"),
    ];
    let mut bytes = write(&payloads);
    bytes[24 + 10] ^= 1; // inside b's payload
    let found = problems(&bytes);
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(found[0].kind, ProblemKind::ChecksumMismatch);
    assert_eq!((found[0].offset, found[0].end_offset()), (24, BLOCK as u64));
    assert_eq!(
        found[1].kind,
        ProblemKind::MissingFirst,
        "c's Last, whose First was dropped"
    );
    assert_eq!((found[1].offset, found[1].end_offset()), (64, 98));
    assert_eq!(
        outcome(&bytes, RecoveryMode::SkipAnyCorruptedRecords).unwrap(),
        vec![payloads[0].clone(), payloads[3].clone()],
        "the hole SkipAny leaves"
    );
    assert_eq!(
        outcome(&bytes, RecoveryMode::PointInTimeRecovery).unwrap(),
        vec![payloads[0].clone()]
    );
    assert_eq!(
        outcome(&bytes, RecoveryMode::TolerateCorruptedTailRecords),
        Err(ProblemKind::ChecksumMismatch)
    );
}

#[test]
fn corruption_of_the_last_record_is_not_a_tolerable_tail() {
    let mut bytes = write(&[batch(1, b"a"), batch(2, b"b")]);
    let last = bytes.len() - 1;
    bytes[last] ^= 0x40;
    assert_eq!(
        outcome(&bytes, RecoveryMode::TolerateCorruptedTailRecords),
        Err(ProblemKind::ChecksumMismatch)
    );
    assert_eq!(
        outcome(&bytes, RecoveryMode::PointInTimeRecovery).unwrap(),
        vec![batch(1, b"a")]
    );
}

#[test]
fn impossible_length_inside_a_full_block_is_a_corruption() {
    // a [0,24), b: First [24,64) + Last [64,84), c [84,108).
    let payloads = [batch(1, b"a"), batch(2, &[2; 30]), batch(3, b"c")];
    let mut bytes = write(&payloads);
    bytes[4] = 200; // a's length: 200 cannot fit a 64-byte block
    let found = problems(&bytes);
    assert_eq!(found[0].kind, ProblemKind::ImpossibleLength);
    assert_eq!((found[0].offset, found[0].end_offset()), (0, BLOCK as u64));
    assert_eq!(found[1].kind, ProblemKind::MissingFirst);
    assert_eq!(
        outcome(&bytes, RecoveryMode::SkipAnyCorruptedRecords).unwrap(),
        vec![payloads[2].clone()]
    );
    assert_eq!(
        outcome(&bytes, RecoveryMode::PointInTimeRecovery).unwrap(),
        Vec::<Vec<u8>>::new()
    );
}

#[test]
fn length_that_cannot_fit_any_block_is_a_corruption_even_at_the_end() {
    let mut bytes = write(&[batch(1, b"a")]);
    bytes[4] = 200; // the file ends in a partial block, but 200 > 64
    assert_eq!(problems(&bytes)[0].kind, ProblemKind::ImpossibleLength);
    assert_eq!(
        outcome(&bytes, RecoveryMode::TolerateCorruptedTailRecords),
        Err(ProblemKind::ImpossibleLength)
    );
}

#[test]
fn unknown_type_is_reported_and_reading_continues_at_the_next_record() {
    let mut bytes = physical(42, &batch(1, b"x"));
    bytes.extend(physical(1, &batch(2, b"y")));
    let (found, dropped) = events(&bytes);
    assert_eq!(found.len(), 2);
    assert!(matches!(&found[0], Event::Problem(p) if p.kind == ProblemKind::UnknownType(42)));
    assert!(matches!(&found[1], Event::Record(r) if r.payload == batch(2, b"y")));
    assert_eq!(dropped, 24);
}

#[test]
fn unknown_type_with_bit_7_set_is_skipped_silently() {
    let mut bytes = physical(0x80 | 42, b"metadata");
    bytes.extend(physical(1, &batch(1, b"y")));
    for mode in RecoveryMode::ALL {
        let replayed = replay_bytes(&bytes, BLOCK, mode).unwrap();
        assert_eq!(payloads(&replayed), vec![batch(1, b"y")]);
        assert_eq!(replayed.report.end, LogEnd::Clean);
    }
}

#[test]
fn middle_and_last_without_first_are_reported() {
    let mut bytes = physical(3, b"orphan middle");
    bytes.extend(physical(4, b"orphan last"));
    bytes.extend(physical(1, &batch(1, b"z")));
    let kinds: Vec<ProblemKind> = problems(&bytes).into_iter().map(|p| p.kind).collect();
    assert_eq!(
        kinds,
        vec![ProblemKind::MissingFirst, ProblemKind::MissingFirst]
    );
    assert_eq!(
        outcome(&bytes, RecoveryMode::SkipAnyCorruptedRecords).unwrap(),
        vec![batch(1, b"z")]
    );
}

#[test]
fn first_that_interrupts_a_chain_drops_the_unfinished_record() {
    let mut bytes = physical(2, b"first of a lost record");
    bytes.extend(physical(2, b"first "));
    bytes.extend(physical(4, b"second"));
    let (found, _) = events(&bytes);
    assert_eq!(found.len(), 2);
    assert!(matches!(&found[0], Event::Problem(p)
        if p.kind == ProblemKind::InterruptedChain && p.offset == 0 && p.length == 29));
    assert!(matches!(&found[1], Event::Record(r) if r.payload == b"first second"));
}

#[test]
fn full_that_interrupts_a_chain_drops_the_unfinished_record_and_is_kept() {
    let mut bytes = physical(2, b"lost");
    bytes.extend(physical(1, &batch(1, b"kept")));
    let (found, _) = events(&bytes);
    assert!(matches!(&found[0], Event::Problem(p) if p.kind == ProblemKind::InterruptedChain));
    assert!(matches!(&found[1], Event::Record(r) if r.payload == batch(1, b"kept")));
}

#[test]
fn zeros_from_a_record_boundary_to_the_end_are_padding_in_every_mode() {
    let mut bytes = write(&[batch(1, b"a")]);
    bytes.resize(3 * BLOCK + 10, 0); // a preallocated tail over several blocks
    for mode in RecoveryMode::ALL {
        let replayed = replay_bytes(&bytes, BLOCK, mode).unwrap();
        assert_eq!(payloads(&replayed), vec![batch(1, b"a")], "{mode}");
        assert_eq!(replayed.report.end, LogEnd::Clean, "{mode}");
    }
    assert_eq!(events(&bytes).1, 0);
}

#[test]
fn zeros_followed_by_data_are_a_corruption_not_padding() {
    // Deliberate difference from RocksDB, which skips a zero header's block
    // silently: zeros with data after them hide records, so they are a hole.
    let mut bytes = write(&[batch(1, b"a")]);
    bytes.resize(2 * BLOCK, 0);
    bytes.extend(write(&[batch(3, b"c")]));
    let found = problems(&bytes);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].kind, ProblemKind::UnexpectedZeros);
    assert_eq!(
        found[0].end_offset(),
        2 * BLOCK as u64,
        "resynchronised at the data"
    );
    assert_eq!(
        outcome(&bytes, RecoveryMode::TolerateCorruptedTailRecords),
        Err(ProblemKind::UnexpectedZeros)
    );
    assert_eq!(
        outcome(&bytes, RecoveryMode::PointInTimeRecovery).unwrap(),
        vec![batch(1, b"a")]
    );
    assert_eq!(
        outcome(&bytes, RecoveryMode::SkipAnyCorruptedRecords).unwrap(),
        vec![batch(1, b"a"), batch(3, b"c")]
    );
}

#[test]
fn zeros_inside_a_fragment_chain_are_a_corruption() {
    let mut bytes = physical(2, b"first");
    bytes.resize(3 * BLOCK, 0);
    let found = problems(&bytes);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].kind, ProblemKind::UnexpectedZeros);
    assert!(!found[0].kind.is_truncation());
    assert!(outcome(&bytes, RecoveryMode::TolerateCorruptedTailRecords).is_err());
}

#[test]
fn record_that_is_not_a_write_batch_is_a_corruption() {
    let bytes = write(&[batch(1, b"a"), b"not a batch".to_vec(), batch(3, b"c")]);
    assert!(matches!(
        outcome(&bytes, RecoveryMode::TolerateCorruptedTailRecords),
        Err(ProblemKind::BadBatch(_))
    ));
    assert_eq!(
        outcome(&bytes, RecoveryMode::SkipAnyCorruptedRecords).unwrap(),
        vec![batch(1, b"a"), batch(3, b"c")]
    );
}

/// Appends records with `log_number` in recyclable headers, continuing the
/// block layout of what `bytes` already holds.
fn append_recyclable(bytes: &mut Vec<u8>, log_number: u64, payloads: &[Vec<u8>]) {
    let options = WriterOptions {
        block_size: BLOCK,
        checksum: Checksum::Crc32,
        header_format: HeaderFormat::Recyclable { log_number },
    };
    let offset = bytes.len() as u64;
    let mut writer = Writer::with_offset(bytes, options, offset);
    for payload in payloads {
        writer.add_record(payload).unwrap();
    }
}

fn replay_recyclable(bytes: &[u8], mode: RecoveryMode) -> Result<Vec<Vec<u8>>, Error> {
    let options = ReaderOptions {
        log_number: Some(9),
        ..common::reader_options(BLOCK)
    };
    replay(Reader::new(bytes, options), mode, Path::new("000009.log")).map(|r| payloads(&r))
}

#[test]
fn stale_record_at_a_boundary_ends_the_log_except_under_skip_any() {
    let mut bytes = Vec::new();
    append_recyclable(&mut bytes, 9, &[batch(1, b"new")]);
    append_recyclable(&mut bytes, 5, &[batch(50, b"old")]);
    append_recyclable(&mut bytes, 9, &[batch(2, b"late")]);
    for mode in [
        RecoveryMode::AbsoluteConsistency,
        RecoveryMode::TolerateCorruptedTailRecords,
        RecoveryMode::PointInTimeRecovery,
    ] {
        assert_eq!(
            replay_recyclable(&bytes, mode).unwrap(),
            vec![batch(1, b"new")],
            "{mode}"
        );
    }
    assert_eq!(
        replay_recyclable(&bytes, RecoveryMode::SkipAnyCorruptedRecords).unwrap(),
        vec![batch(1, b"new"), batch(2, b"late")]
    );
}

#[test]
fn stale_record_inside_a_chain_fails_absolute_consistency() {
    let mut bytes = Vec::new();
    append_recyclable(&mut bytes, 9, &[batch(1, &[1; 60])]);
    bytes.truncate(BLOCK); // keep the First fragment only
    append_recyclable(&mut bytes, 5, &[batch(50, b"old")]);
    assert!(replay_recyclable(&bytes, RecoveryMode::AbsoluteConsistency).is_err());
    assert_eq!(
        replay_recyclable(&bytes, RecoveryMode::TolerateCorruptedTailRecords).unwrap(),
        Vec::<Vec<u8>>::new()
    );
}

#[test]
fn corruption_error_names_file_offset_and_kind_and_what_to_do() {
    let mut bytes = write(&[batch(1, b"a"), batch(2, b"b")]);
    bytes[30] ^= 1;
    let error = replay_bytes(&bytes, BLOCK, RecoveryMode::AbsoluteConsistency).unwrap_err();
    let text = error.to_string();
    assert!(text.contains("000007.log"), "{text}");
    assert!(text.contains("offset 24"), "{text}");
    assert!(text.contains("checksum mismatch"), "{text}");
    assert!(text.contains("point-in-time-recovery"), "{text}");
}

#[test]
fn logs_written_with_crc32c_read_back_only_with_crc32c() {
    let options = WriterOptions {
        block_size: BLOCK,
        checksum: Checksum::Crc32c,
        header_format: HeaderFormat::Legacy,
    };
    let mut writer = Writer::new(Vec::new(), options);
    writer.add_record(&batch(1, &[3; 100])).unwrap();
    let bytes = writer.into_inner();
    let read = |checksum| {
        let options = ReaderOptions {
            checksum,
            ..common::reader_options(BLOCK)
        };
        Reader::new(&bytes[..], options)
            .records()
            .collect::<Result<Vec<_>, _>>()
            .unwrap()
    };
    assert_eq!(read(Checksum::Crc32c), vec![batch(1, &[3; 100])]);
    assert!(read(Checksum::Crc32).is_empty());
}

#[test]
fn report_of_a_stopped_replay_covers_the_rest_of_the_log() {
    let mut bytes = write(&[batch(1, b"a"), batch(2, b"b"), batch(3, b"c")]);
    bytes[30] ^= 1;
    let replayed = replay_bytes(&bytes, BLOCK, RecoveryMode::PointInTimeRecovery).unwrap();
    let report = &replayed.report;
    assert_eq!(report.end, LogEnd::Stopped);
    assert_eq!(
        (report.first_sequence, report.next_sequence),
        (Some(1), Some(2))
    );
    assert_eq!(report.dropped.len(), 1);
    assert_eq!(report.dropped[0].offset, 24);
    assert_eq!(
        report.dropped[0].offset + report.dropped[0].length,
        bytes.len() as u64
    );
    assert!(report.to_string().contains("checksum mismatch"));
}

#[test]
fn length_running_past_its_own_block_is_a_corruption_even_where_the_file_ends() {
    // a [0,24), then a second record's header at 24 whose length (40) would
    // fit an empty block but runs past the end of this one (24 + 7 + 40 > 64).
    let mut bytes = write(&[batch(1, b"a"), batch(2, b"b")]);
    bytes[24 + 4] = 40;
    let found = problems(&bytes);
    assert_eq!(found[0].kind, ProblemKind::ImpossibleLength);
    assert_eq!(
        outcome(&bytes, RecoveryMode::TolerateCorruptedTailRecords),
        Err(ProblemKind::ImpossibleLength)
    );
    // Within its block but past the end of the file: a torn body.
    let mut bytes = write(&[batch(1, b"a"), batch(2, b"b")]);
    bytes[24 + 4] = 30;
    assert_eq!(problems(&bytes)[0].kind, ProblemKind::TruncatedBody);
}

/// Found by the crash simulation (seed 1085833): garbage in a torn tail that
/// happened to carry a recyclable type byte read as a stale record, a quiet
/// end of the log that even AbsoluteConsistency accepted.
#[test]
fn garbage_with_a_recyclable_type_is_a_checksum_mismatch_not_a_stale_record() {
    let mut bytes = write(&[batch(1, b"a")]);
    // checksum (garbage), length 4, type 6 (recyclable First), log number 77
    bytes.extend_from_slice(&[0x12, 0x34, 0x56, 0x78, 4, 0, 6, 77, 0, 0, 0]);
    bytes.extend_from_slice(&[0xab; 4]);
    let options = ReaderOptions {
        log_number: Some(9),
        ..common::reader_options(BLOCK)
    };
    let found: Vec<Event> = Reader::new(&bytes[..], options)
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(
        matches!(&found[1], Event::Problem(p) if p.kind == ProblemKind::ChecksumMismatch),
        "{found:?}"
    );
    let replayed = replay(
        Reader::new(&bytes[..], options),
        RecoveryMode::AbsoluteConsistency,
        Path::new("000009.log"),
    );
    assert!(replayed.is_err());
}
