//! The write batch decoder on arbitrary bytes: never a panic; a batch that
//! decodes re-encodes (through the builder) to bytes that decode the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use strata_wal::batch::{BatchBuilder, DecodedBatch, Operation};

fuzz_target!(|data: &[u8]| {
    let Ok(batch) = DecodedBatch::decode(data) else {
        return;
    };
    let mut builder = BatchBuilder::new();
    let mut rebuildable = true;
    for entry in &batch.entries {
        match entry.operation {
            _ if entry.column_family != 0 => rebuildable = false,
            Operation::Put { key, value } => {
                builder.put(key, value);
            }
            Operation::Delete { key } => {
                builder.delete(key);
            }
            Operation::SingleDelete { key } => {
                builder.single_delete(key);
            }
            _ => rebuildable = false,
        }
    }
    if rebuildable {
        let encoded = builder.finish(batch.sequence);
        let again = DecodedBatch::decode(&encoded).expect("the builder's output decodes");
        assert_eq!(again.count, batch.count);
        assert_eq!(again.entries, batch.entries);
    }
});
