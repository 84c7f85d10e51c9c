//! The MANIFEST reader and the version edit decoder on arbitrary bytes:
//! never a panic; an edit that decodes re-encodes to itself. Half of the
//! inputs are framed as log records with correct checksums, so the edit
//! decoder behind the framing is reached.
#![no_main]

use libfuzzer_sys::fuzz_target;
use strata_wal::{Writer, WriterOptions};

fuzz_target!(|data: &[u8]| {
    strata::fuzzing::version_edit_round_trip(data);
    strata::fuzzing::read_manifest(data);
    let mut writer = Writer::new(Vec::new(), WriterOptions::default());
    for record in data.split(|&byte| byte == 0xee) {
        writer.add_record(record).expect("memory");
    }
    strata::fuzzing::read_manifest(&writer.into_inner());
});
