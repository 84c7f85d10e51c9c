//! Writer then reader: any records come back unchanged; then the log is cut
//! at an arbitrary point and every mode must keep exactly the records that
//! were complete before the cut (AbsoluteConsistency may refuse instead).
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use strata_wal::batch::BatchBuilder;
use strata_wal::{
    Checksum, HeaderFormat, Reader, ReaderOptions, RecoveryMode, Writer, WriterOptions, replay,
};

#[derive(Arbitrary, Debug)]
struct Input {
    block_size: u16,
    crc32c: bool,
    recyclable: Option<u32>,
    values: Vec<Vec<u8>>,
    repeat: Vec<(u8, u16)>,
    cut: u32,
}

fuzz_target!(|input: Input| {
    let block_size = usize::from(input.block_size).clamp(strata_wal::MIN_BLOCK_SIZE, 32 * 1024);
    let checksum = if input.crc32c {
        Checksum::Crc32c
    } else {
        Checksum::Crc32
    };
    let header_format = match input.recyclable {
        Some(number) => HeaderFormat::Recyclable {
            log_number: u64::from(number),
        },
        None => HeaderFormat::Legacy,
    };
    let mut writer = Writer::new(
        Vec::new(),
        WriterOptions {
            block_size,
            checksum,
            header_format,
        },
    );
    let mut payloads = Vec::new();
    let mut ends = Vec::new();
    let long_values = input
        .repeat
        .iter()
        .map(|(byte, count)| vec![*byte; usize::from(*count)]);
    for (index, value) in input.values.into_iter().chain(long_values).enumerate() {
        let payload = BatchBuilder::new()
            .put(b"k", &value)
            .finish(index as u64 + 1);
        writer.add_record(&payload).expect("memory");
        ends.push(writer.file_offset());
        payloads.push(payload);
    }
    let bytes = writer.into_inner();
    let options = ReaderOptions {
        block_size,
        checksum,
        log_number: input.recyclable.map(u64::from),
    };

    let read: Vec<Vec<u8>> = Reader::new(&bytes[..], options)
        .records()
        .collect::<Result<_, _>>()
        .expect("memory");
    assert_eq!(read, payloads);

    let cut = if bytes.is_empty() {
        0
    } else {
        input.cut as usize % (bytes.len() + 1)
    };
    let complete = ends.iter().filter(|&&end| end <= cut as u64).count();
    for mode in RecoveryMode::ALL {
        let result = replay(
            Reader::new(&bytes[..cut], options),
            mode,
            "cut.log".as_ref(),
        );
        match result {
            Ok(replayed) => {
                let applied: Vec<&Vec<u8>> = replayed.batches.iter().map(|b| &b.payload).collect();
                let expected: Vec<&Vec<u8>> = payloads[..complete].iter().collect();
                assert_eq!(applied, expected, "{mode} after a cut at {cut}");
                assert!(replayed.report.dropped.iter().all(|r| r.is_truncation()));
            }
            Err(error) => assert_eq!(mode, RecoveryMode::AbsoluteConsistency, "{error}"),
        }
    }
});
