//! Block decompression from arbitrary stored bytes and any compression
//! byte: an error or some bytes, never a panic, and never an allocation
//! beyond what LZ4 could expand the input to. A table reader checks the
//! block's checksum first, so blind fuzzing of tables rarely reaches the
//! decoder; this target feeds it directly. Every input is also compressed
//! and must decompress to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use strata_sstable::{COMPRESSION_LZ4, decompress};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, stored)) = data.split_first() else {
        return;
    };
    // Mostly LZ4, sometimes another byte (none, unknown codecs).
    let compression = if selector < 0xf0 { COMPRESSION_LZ4 } else { selector & 0x0f };
    if let Ok(contents) = decompress(stored.to_vec(), compression) {
        assert!(contents.len() <= stored.len().saturating_mul(255));
    }
    let mut framed = Vec::new();
    let length = u32::try_from(stored.len()).expect("libFuzzer inputs are small");
    strata_coding::put_varint32(&mut framed, length);
    framed.extend_from_slice(&lz4_flex::block::compress(stored));
    assert_eq!(decompress(framed, COMPRESSION_LZ4).as_deref(), Ok(stored));
});
