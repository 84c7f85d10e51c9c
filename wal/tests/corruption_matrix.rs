//! Byte surgery on small logs: every truncation point and every single-byte
//! flip, replayed under all four recovery modes, each outcome checked against
//! the contract table of DESIGN.md §5 (also in docs/wal_format.md).
#![allow(clippy::unwrap_used)]

mod common;

use common::{BuiltLog, build_log, payloads, replay_bytes};
use strata_wal::{Error, LEGACY_HEADER_SIZE, LogEnd, RecoveryMode};

/// Tiny blocks: 64 bytes, records from empty-valued to several blocks long.
fn tiny_block_log() -> BuiltLog {
    build_log(64, &[0, 3, 40, 150, 1, 30, 90])
}

/// Real 32 KiB blocks: a record that ends close to the block end, one that
/// spans the boundary, small ones after.
fn real_block_log() -> BuiltLog {
    build_log(32 * 1024, &[32_700, 300, 5, 0, 20])
}

/// Whether cutting the log at `cut` leaves only whole records and padding:
/// at a record end, or at the block boundary that ends a record's trailer.
fn is_clean_cut(log: &BuiltLog, cut: u64, complete: usize) -> bool {
    let last_end = if complete == 0 {
        0
    } else {
        log.ends[complete - 1]
    };
    let block = log.block_size as u64;
    cut == last_end
        || (cut.is_multiple_of(block)
            && cut > last_end
            && cut - last_end < LEGACY_HEADER_SIZE as u64)
}

fn check_every_truncation(log: &BuiltLog) {
    for cut in 0..=log.bytes.len() as u64 {
        let bytes = &log.bytes[..cut as usize];
        let complete = log.ends.iter().filter(|&&end| end <= cut).count();
        let expected = &log.payloads[..complete];
        let clean = is_clean_cut(log, cut, complete);
        for mode in RecoveryMode::ALL {
            let context = format!("cut at {cut} of {}, {mode}", log.bytes.len());
            let outcome = replay_bytes(bytes, log.block_size, mode);
            if !clean && mode == RecoveryMode::AbsoluteConsistency {
                match outcome {
                    Err(Error::Corruption { offset, kind, .. }) => {
                        assert!(
                            kind.is_truncation(),
                            "{context}: {kind:?} is not a truncation"
                        );
                        assert!(offset < cut, "{context}: error offset {offset}");
                    }
                    other => panic!("{context}: expected a truncation error, got {other:?}"),
                }
                continue;
            }
            let replayed = outcome.unwrap_or_else(|error| panic!("{context}: {error}"));
            assert_eq!(payloads(&replayed), expected, "{context}");
            let dropped = &replayed.report.dropped;
            if clean {
                assert!(dropped.is_empty(), "{context}: {dropped:?}");
                assert_eq!(replayed.report.end, LogEnd::Clean, "{context}");
            } else {
                assert_eq!(dropped.len(), 1, "{context}: {dropped:?}");
                assert!(dropped[0].is_truncation(), "{context}: {dropped:?}");
                assert_eq!(dropped[0].offset + dropped[0].length, cut, "{context}");
                let last_end = if complete == 0 {
                    0
                } else {
                    log.ends[complete - 1]
                };
                assert!(dropped[0].offset >= last_end, "{context}: {dropped:?}");
            }
        }
    }
}

/// The first byte of the block after the one holding `offset`.
fn next_block_start(log: &BuiltLog, offset: u64) -> u64 {
    let block = log.block_size as u64;
    (offset / block + 1) * block
}

fn check_every_flip(log: &BuiltLog, flip_mask: u8) {
    for position in 0..log.bytes.len() {
        let mut bytes = log.bytes.clone();
        bytes[position] ^= flip_mask;
        let offset = position as u64;
        let Some(damaged) = log.record_at(offset) else {
            // A block trailer: nothing reads it, every mode keeps everything.
            for mode in RecoveryMode::ALL {
                let replayed = replay_bytes(&bytes, log.block_size, mode).unwrap();
                assert_eq!(
                    payloads(&replayed),
                    log.payloads,
                    "trailer flip at {position}, {mode}"
                );
            }
            continue;
        };
        let before = &log.payloads[..damaged];
        // A flip in the length or type of a header in the last, partial
        // block can make the record reach past the end of the log: no reader
        // can tell that from a real truncation (RocksDB reads it the same
        // way), so TolerateCorruptedTailRecords may open there, dropping
        // everything from the damaged record on.
        let looks_truncated = {
            let fragment_start = fragment_header_start(log, damaged, offset);
            let in_last_block = fragment_start / log.block_size as u64
                == (log.bytes.len() as u64 - 1) / log.block_size as u64;
            in_last_block && (4..7).contains(&(offset - fragment_start))
        };
        for mode in RecoveryMode::ALL {
            let context =
                format!("flip 0x{flip_mask:02x} at {position} (record {damaged}), {mode}");
            let outcome = replay_bytes(&bytes, log.block_size, mode);
            match mode {
                RecoveryMode::AbsoluteConsistency => {
                    assert!(outcome.is_err(), "{context}: opened");
                }
                RecoveryMode::TolerateCorruptedTailRecords => match outcome {
                    Err(Error::Corruption { .. }) => {}
                    Ok(replayed) => {
                        assert!(
                            looks_truncated,
                            "{context}: a corruption was tolerated: {:?}",
                            replayed.report.dropped
                        );
                        assert_eq!(payloads(&replayed), before, "{context}");
                        assert!(replayed.report.dropped.iter().all(|r| r.is_truncation()));
                    }
                    Err(other) => panic!("{context}: {other}"),
                },
                RecoveryMode::PointInTimeRecovery => {
                    let replayed = outcome.unwrap_or_else(|error| panic!("{context}: {error}"));
                    assert_eq!(payloads(&replayed), before, "{context}");
                    assert_eq!(replayed.report.end, LogEnd::Stopped, "{context}");
                    let region = replayed.report.dropped.last().unwrap();
                    assert_eq!(
                        region.offset + region.length,
                        bytes.len() as u64,
                        "{context}"
                    );
                }
                RecoveryMode::SkipAnyCorruptedRecords => {
                    let replayed = outcome.unwrap_or_else(|error| panic!("{context}: {error}"));
                    let got = payloads(&replayed);
                    assert!(
                        !got.contains(&log.payloads[damaged]),
                        "{context}: damaged record applied"
                    );
                    assert!(got.starts_with(before), "{context}");
                    // Everything that starts in a block after the damage ends
                    // is replayed; nothing is invented or reordered.
                    let resync = next_block_start(log, log.ends[damaged] - 1);
                    let must_have: Vec<&Vec<u8>> = (damaged + 1..log.ends.len())
                        .filter(|&index| log.start(index) >= resync)
                        .map(|index| &log.payloads[index])
                        .collect();
                    for needed in must_have {
                        assert!(got.contains(needed), "{context}: lost an undamaged record");
                    }
                    // Order and origin: `got` is a subsequence of the original.
                    let mut remaining = got.iter();
                    for payload in &log.payloads {
                        if remaining.clone().next() == Some(payload) {
                            remaining.next();
                        }
                    }
                    assert!(remaining.next().is_none(), "{context}: not a subsequence");
                    assert!(!replayed.report.dropped.is_empty(), "{context}");
                }
            }
        }
    }
}

/// The offset of the header of the fragment of record `index` that holds
/// `offset`: fragments start at the record start and at block starts.
fn fragment_header_start(log: &BuiltLog, index: usize, offset: u64) -> u64 {
    let block = log.block_size as u64;
    let block_start = offset / block * block;
    log.start(index).max(block_start)
}

#[test]
fn every_truncation_of_a_tiny_block_log_matches_the_contract() {
    check_every_truncation(&tiny_block_log());
}

#[test]
fn every_truncation_of_a_32k_block_log_matches_the_contract() {
    check_every_truncation(&real_block_log());
}

#[test]
fn every_single_byte_flip_of_a_tiny_block_log_matches_the_contract() {
    let log = tiny_block_log();
    for mask in [0x01, 0x80, 0xff] {
        check_every_flip(&log, mask);
    }
}

#[test]
fn every_single_byte_flip_of_a_32k_block_log_matches_the_contract() {
    check_every_flip(&real_block_log(), 0x01);
}
