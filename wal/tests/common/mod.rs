//! Helpers shared by the log crate's integration tests: building logs of
//! known batches and replaying them under every mode.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::Path;

use strata_wal::batch::BatchBuilder;
use strata_wal::{
    Checksum, Error, LEGACY_HEADER_SIZE, LogReplay, Reader, ReaderOptions, RecoveryMode, Writer,
    WriterOptions, replay,
};

/// A log built by the writer, with the end offset of every record as the
/// writer reported it.
pub struct BuiltLog {
    pub bytes: Vec<u8>,
    pub payloads: Vec<Vec<u8>>,
    pub ends: Vec<u64>,
    pub block_size: usize,
}

impl BuiltLog {
    /// Where record `index` starts: right after the previous record, or at
    /// the next block when fewer bytes than a header were left.
    pub fn start(&self, index: usize) -> u64 {
        let previous_end = if index == 0 { 0 } else { self.ends[index - 1] };
        let block = self.block_size as u64;
        let left = block - previous_end % block;
        if left < LEGACY_HEADER_SIZE as u64 {
            previous_end + left
        } else {
            previous_end
        }
    }

    /// The index of the record whose bytes (including block trailers inside
    /// it) contain `offset`, if any.
    pub fn record_at(&self, offset: u64) -> Option<usize> {
        (0..self.ends.len()).find(|&index| self.start(index) <= offset && offset < self.ends[index])
    }
}

/// Batches with sequences 1, 2, ... of the given value sizes.
pub fn build_log(block_size: usize, value_sizes: &[usize]) -> BuiltLog {
    let options = WriterOptions {
        block_size,
        ..WriterOptions::default()
    };
    let mut writer = Writer::new(Vec::new(), options);
    let mut payloads = Vec::new();
    let mut ends = Vec::new();
    for (index, &size) in value_sizes.iter().enumerate() {
        let key = format!("key{index:03}");
        let value: Vec<u8> = (0..size).map(|i| (i * 7 + index) as u8).collect();
        let payload = BatchBuilder::new()
            .put(key.as_bytes(), &value)
            .finish(index as u64 + 1);
        writer.add_record(&payload).unwrap();
        ends.push(writer.file_offset());
        payloads.push(payload);
    }
    BuiltLog {
        bytes: writer.into_inner(),
        payloads,
        ends,
        block_size,
    }
}

pub fn reader_options(block_size: usize) -> ReaderOptions {
    ReaderOptions {
        block_size,
        checksum: Checksum::Crc32,
        log_number: None,
    }
}

pub fn replay_bytes(
    bytes: &[u8],
    block_size: usize,
    mode: RecoveryMode,
) -> Result<LogReplay, Error> {
    let reader = Reader::new(bytes, reader_options(block_size));
    replay(reader, mode, Path::new("000007.log"))
}

/// The payloads a replay would apply.
pub fn payloads(replayed: &LogReplay) -> Vec<Vec<u8>> {
    replayed
        .batches
        .iter()
        .map(|batch| batch.payload.clone())
        .collect()
}
