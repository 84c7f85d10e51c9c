//! Logs written by real RocksDB (see fixtures/rocksdb/README.md) read back
//! with CRC-32C framing, replayed under every mode without a problem, and
//! decoded to exactly the batches and keys that were written.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use strata_wal::batch::{DecodedBatch, Operation};
use strata_wal::{Checksum, LogEnd, Reader, ReaderOptions, RecoveryMode, replay};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/rocksdb")
        .join(name)
}

/// One batch of a `.expected` file: sequence, count and entries rendered as
/// the file renders them.
type ExpectedBatch = (u64, u32, Vec<String>);

fn expected_batches(name: &str) -> Vec<ExpectedBatch> {
    let text = std::fs::read_to_string(fixture(name)).unwrap();
    let mut batches: Vec<ExpectedBatch> = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("seq=") {
            let (sequence, count) = rest.split_once(" count=").unwrap();
            batches.push((
                sequence.parse().unwrap(),
                count.parse().unwrap(),
                Vec::new(),
            ));
        } else {
            batches.last_mut().unwrap().2.push(line.to_owned());
        }
    }
    batches
}

fn render(operation: Operation<'_>) -> String {
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    match operation {
        Operation::Put { key, value } if value.len() >= 64 => {
            assert!(
                value.iter().all(|&b| b == value[0]),
                "large values are one repeated byte"
            );
            format!("put {} repeat={:02x}x{}", hex(key), value[0], value.len())
        }
        Operation::Put { key, value } => format!("put {} {}", hex(key), hex(value)),
        Operation::Delete { key } => format!("delete {}", hex(key)),
        other => panic!("fixtures hold only puts and deletes, found {other:?}"),
    }
}

fn check(name: &str) {
    let bytes = std::fs::read(fixture(&format!("{name}.log"))).unwrap();
    let expected = expected_batches(&format!("{name}.expected"));
    assert!(!expected.is_empty());
    for mode in RecoveryMode::ALL {
        let options = ReaderOptions {
            checksum: Checksum::Crc32c,
            ..ReaderOptions::default()
        };
        let replayed = replay(Reader::new(&bytes[..], options), mode, &fixture(name)).unwrap();
        assert_eq!(replayed.report.end, LogEnd::Clean, "{name} under {mode}");
        assert_eq!(replayed.report.length, bytes.len() as u64);
        let got: Vec<ExpectedBatch> = replayed
            .batches
            .iter()
            .map(|batch| {
                let decoded = DecodedBatch::decode(&batch.payload).unwrap();
                let entries = decoded
                    .entries
                    .iter()
                    .map(|e| render(e.operation))
                    .collect();
                (decoded.sequence, decoded.count, entries)
            })
            .collect();
        assert_eq!(got, expected, "{name} under {mode}");
    }
    // With the wrong checksum algorithm nothing is accepted.
    let crc32 = Reader::new(&bytes[..], ReaderOptions::default());
    assert_eq!(crc32.records().count(), 0);
}

#[test]
fn small_rocksdb_log_decodes_to_the_puts_and_deletes_written() {
    check("small");
}

#[test]
fn rocksdb_log_with_records_spanning_blocks_decodes_exactly() {
    check("spanning");
}

#[test]
fn rocksdb_batch_with_several_entries_decodes_exactly() {
    check("multi_entry");
}
