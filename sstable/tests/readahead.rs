//! Claims: a forward scan reads runs of data blocks in growing windows
//! (far fewer read calls than blocks, none past the footer) and yields the
//! same entries as reads of single blocks; random gets read one block each.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

use strata_sstable::key::{InternalKey, ValueKind};
use strata_sstable::{ReadAt, Table, TableBuilder, TableOptions};

/// The (offset, length) of each read made from a source.
type ReadLog = Arc<Mutex<Vec<(u64, usize)>>>;

/// A table's bytes, with a log of the reads made from them.
struct Logged {
    bytes: Vec<u8>,
    reads: ReadLog,
}

impl ReadAt for Logged {
    fn size_bytes(&self) -> std::io::Result<u64> {
        Ok(self.bytes.len() as u64)
    }

    fn read_exact_at(&self, offset: u64, buffer: &mut [u8]) -> std::io::Result<()> {
        self.reads.lock().unwrap().push((offset, buffer.len()));
        self.bytes.as_slice().read_exact_at(offset, buffer)
    }
}

const ENTRIES: u32 = 20_000;

/// The table's bytes and its number of data blocks.
fn table_bytes() -> (Vec<u8>, u64) {
    let mut builder = TableBuilder::new(Vec::new(), TableOptions::default());
    for index in 0..ENTRIES {
        let key = InternalKey::new(format!("key{index:08}").as_bytes(), 7, ValueKind::Value);
        builder.add(key.as_bytes(), &[index as u8; 100]).unwrap();
    }
    let (bytes, summary) = builder.finish().unwrap();
    assert!(summary.data_block_count > 500, "{summary:?}");
    (bytes, summary.data_block_count)
}

fn open_logged(bytes: &[u8]) -> (Table, ReadLog) {
    let reads = Arc::new(Mutex::new(Vec::new()));
    let source = Logged {
        bytes: bytes.to_vec(),
        reads: Arc::clone(&reads),
    };
    let table = Table::open(source, "logged.sst").unwrap();
    reads.lock().unwrap().clear(); // the footer, meta-index, filter, index
    (table, reads)
}

#[test]
fn a_scan_reads_runs_of_blocks_in_growing_windows_and_yields_the_same_entries() {
    let (bytes, blocks) = table_bytes();
    let (table, reads) = open_logged(&bytes);
    let mut iterator = table.iter();
    iterator.seek_to_first().unwrap();
    let mut count = 0;
    while iterator.valid() {
        let key = InternalKey::new(format!("key{count:08}").as_bytes(), 7, ValueKind::Value);
        assert_eq!(iterator.key(), key.as_bytes(), "entry {count}");
        assert_eq!(iterator.value(), [count as u8; 100], "entry {count}");
        count += 1;
        iterator.next().unwrap();
    }
    assert_eq!(count, ENTRIES);

    let reads = reads.lock().unwrap();
    let largest = reads.iter().map(|&(_, length)| length).max().unwrap();
    assert!(
        reads.len() * 20 < blocks as usize,
        "{} reads for {blocks} blocks",
        reads.len()
    );
    assert_eq!(largest, 256 << 10, "the window grows to 256 KiB");
    assert_eq!(reads[0].0, 0, "the scan starts at the first block");
    assert!(
        reads.windows(2).all(|pair| pair[0].0 < pair[1].0),
        "reads only go forward: {reads:?}"
    );
    let end = reads
        .iter()
        .map(|&(offset, length)| offset + length as u64)
        .max()
        .unwrap();
    assert!(end <= bytes.len() as u64);
}

#[test]
fn gets_read_one_block_each() {
    let (bytes, _) = table_bytes();
    let (table, reads) = open_logged(&bytes);
    for index in (0..ENTRIES).step_by(97) {
        let entry = table
            .get(format!("key{index:08}").as_bytes(), 10)
            .unwrap()
            .unwrap();
        assert_eq!(entry.value, [index as u8; 100]);
    }
    let reads = reads.lock().unwrap();
    assert_eq!(reads.len(), ENTRIES.div_ceil(97) as usize);
    assert!(
        reads.iter().all(|&(_, length)| length < 8 << 10),
        "{reads:?}"
    );
}
