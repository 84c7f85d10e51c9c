//! Appends records to a log, fragmenting them across blocks.

use std::fs::File;
use std::io::{self, BufWriter, Write};

use crate::format::{
    Checksum, HeaderFormat, LENGTH_OFFSET, LOG_NUMBER_OFFSET, MAX_BLOCK_SIZE, MIN_BLOCK_SIZE,
    RecordType, TYPE_OFFSET, mask_checksum, stored_log_number,
};

/// A destination that can make what was written durable.
///
/// `Write::flush` hands buffered bytes to the operating system;
/// [`SyncWrite::sync`] must not return before they are on stable storage.
pub trait SyncWrite: Write {
    /// Makes every byte written so far durable (for a file: `fdatasync`).
    fn sync(&mut self) -> io::Result<()>;
}

impl SyncWrite for File {
    fn sync(&mut self) -> io::Result<()> {
        self.sync_data()
    }
}

impl<W: SyncWrite> SyncWrite for BufWriter<W> {
    fn sync(&mut self) -> io::Result<()> {
        self.flush()?;
        self.get_mut().sync()
    }
}

/// An in-memory log has nothing to make durable.
impl SyncWrite for Vec<u8> {
    fn sync(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<W: SyncWrite + ?Sized> SyncWrite for &mut W {
    fn sync(&mut self) -> io::Result<()> {
        (**self).sync()
    }
}

/// How a [`Writer`] frames records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WriterOptions {
    /// Block size in bytes; [`crate::DEFAULT_BLOCK_SIZE`] unless a test wants
    /// tiny blocks. Must lie in [`crate::MIN_BLOCK_SIZE`]`..=`[`crate::MAX_BLOCK_SIZE`].
    pub block_size: usize,
    /// Checksum algorithm.
    pub checksum: Checksum,
    /// Legacy or recyclable headers.
    pub header_format: HeaderFormat,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            block_size: crate::DEFAULT_BLOCK_SIZE,
            checksum: Checksum::Crc32,
            header_format: HeaderFormat::Legacy,
        }
    }
}

/// Appends records to a log file.
///
/// The writer only appends and never seeks: it assumes the destination is
/// empty when it is created, or holds exactly `initial_offset` bytes of this
/// log (see [`Writer::with_offset`]).
///
/// ```
/// use strata_wal::{Reader, ReaderOptions, Writer, WriterOptions};
///
/// let mut writer = Writer::new(Vec::new(), WriterOptions::default());
/// writer.add_record(b"hello")?;
/// writer.add_record(b"")?;
/// writer.sync()?;
/// let bytes = writer.into_inner();
///
/// let records: Vec<Vec<u8>> = Reader::new(&bytes[..], ReaderOptions::default())
///     .records()
///     .collect::<Result<_, _>>()?;
/// assert_eq!(records, vec![b"hello".to_vec(), Vec::new()]);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct Writer<W> {
    destination: W,
    options: WriterOptions,
    block_offset: usize,
    file_offset: u64,
    scratch: Vec<u8>,
}

impl<W: Write> Writer<W> {
    /// A writer for an empty destination.
    ///
    /// # Panics
    /// If `options.block_size` is outside the supported range: that is a
    /// programming error, not a property of data on disk.
    pub fn new(destination: W, options: WriterOptions) -> Self {
        Self::with_offset(destination, options, 0)
    }

    /// A writer that continues a log already holding `initial_offset` bytes
    /// written by a writer with the same options.
    ///
    /// # Panics
    /// If `options.block_size` is outside the supported range.
    pub fn with_offset(destination: W, options: WriterOptions, initial_offset: u64) -> Self {
        assert!(
            (MIN_BLOCK_SIZE..=MAX_BLOCK_SIZE).contains(&options.block_size),
            "log block size {} is outside {MIN_BLOCK_SIZE}..={MAX_BLOCK_SIZE}",
            options.block_size
        );
        let block_size = options.block_size as u64;
        Writer {
            destination,
            options,
            block_offset: (initial_offset % block_size) as usize,
            file_offset: initial_offset,
            scratch: Vec::new(),
        }
    }

    /// Appends one record, fragmenting it across blocks as needed. An empty
    /// record is a record (one zero-length Full fragment).
    ///
    /// The bytes reach the destination with one `write_all`; a failure leaves
    /// the log with an unknown tail, and the caller must not append to it
    /// again (start a new log).
    pub fn add_record(&mut self, payload: &[u8]) -> io::Result<()> {
        self.scratch.clear();
        let header_size = self.options.header_format.header_size();
        let block_size = self.options.block_size;
        let mut remaining = payload;
        let mut begin = true;
        loop {
            let leftover = block_size - self.block_offset;
            if leftover < header_size {
                // Too little room for a header: zero-fill the trailer.
                self.scratch.resize(self.scratch.len() + leftover, 0);
                self.block_offset = 0;
            }
            let available = block_size - self.block_offset - header_size;
            let fragment_length = remaining.len().min(available);
            let end = fragment_length == remaining.len();
            let record_type = match (begin, end) {
                (true, true) => RecordType::Full,
                (true, false) => RecordType::First,
                (false, false) => RecordType::Middle,
                (false, true) => RecordType::Last,
            };
            let (fragment, rest) = remaining.split_at(fragment_length);
            self.emit_fragment(record_type, fragment);
            remaining = rest;
            begin = false;
            if end {
                break;
            }
        }
        self.destination.write_all(&self.scratch)?;
        self.file_offset += self.scratch.len() as u64;
        Ok(())
    }

    fn emit_fragment(&mut self, record_type: RecordType, fragment: &[u8]) {
        let (recyclable, log_number) = match self.options.header_format {
            HeaderFormat::Legacy => (false, None),
            HeaderFormat::Recyclable { log_number } => {
                (true, Some(stored_log_number(log_number).to_le_bytes()))
            }
        };
        let type_byte = record_type.encode(recyclable);
        let log_number_bytes: &[u8] = log_number.as_ref().map_or(&[], |bytes| &bytes[..]);
        let checksum = self
            .options
            .checksum
            .compute(&[&[type_byte], log_number_bytes, fragment]);
        let length = u16::try_from(fragment.len()).expect("block size bounds the fragment length");

        let start = self.scratch.len();
        self.scratch
            .extend_from_slice(&mask_checksum(checksum).to_le_bytes());
        self.scratch.extend_from_slice(&length.to_le_bytes());
        self.scratch.push(type_byte);
        self.scratch.extend_from_slice(log_number_bytes);
        debug_assert_eq!(
            self.scratch.len() - start,
            LOG_NUMBER_OFFSET + log_number_bytes.len()
        );
        debug_assert_eq!(self.scratch[start + TYPE_OFFSET], type_byte);
        debug_assert_eq!(self.scratch[start + LENGTH_OFFSET], length.to_le_bytes()[0]);
        self.scratch.extend_from_slice(fragment);
        self.block_offset += self.options.header_format.header_size() + fragment.len();
        debug_assert!(self.block_offset <= self.options.block_size);
    }

    /// Hands buffered bytes to the destination's `flush`. This does not make
    /// them durable; see [`Writer::sync`].
    pub fn flush(&mut self) -> io::Result<()> {
        self.destination.flush()
    }

    /// The number of bytes this log holds so far.
    #[must_use]
    pub fn file_offset(&self) -> u64 {
        self.file_offset
    }

    /// The destination.
    pub fn get_ref(&self) -> &W {
        &self.destination
    }

    /// The destination, mutably. Writing to it directly corrupts the log.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.destination
    }

    /// Consumes the writer and returns the destination.
    pub fn into_inner(self) -> W {
        self.destination
    }
}

impl<W: SyncWrite> Writer<W> {
    /// Flushes and makes every appended record durable before returning.
    pub fn sync(&mut self) -> io::Result<()> {
        self.destination.flush()?;
        self.destination.sync()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::format::LEGACY_HEADER_SIZE;

    fn options(block_size: usize) -> WriterOptions {
        WriterOptions {
            block_size,
            ..WriterOptions::default()
        }
    }

    #[test]
    fn empty_record_is_one_full_header() {
        let mut writer = Writer::new(Vec::new(), options(64));
        writer.add_record(b"").unwrap();
        let bytes = writer.into_inner();
        assert_eq!(bytes.len(), LEGACY_HEADER_SIZE);
        assert_eq!(bytes[TYPE_OFFSET], 1);
    }

    #[test]
    fn short_trailer_is_zero_filled_and_next_record_starts_a_block() {
        let mut writer = Writer::new(Vec::new(), options(32));
        // 7 + 20 = 27 bytes: 5 bytes remain, fewer than a header.
        writer.add_record(&[0xab; 20]).unwrap();
        writer.add_record(b"x").unwrap();
        let bytes = writer.into_inner();
        assert_eq!(&bytes[27..32], &[0; 5]);
        assert_eq!(bytes[32 + TYPE_OFFSET], 1);
        assert_eq!(bytes.len(), 32 + LEGACY_HEADER_SIZE + 1);
    }

    #[test]
    fn exactly_a_header_left_gives_an_empty_first_fragment() {
        let mut writer = Writer::new(Vec::new(), options(32));
        writer.add_record(&[1; 18]).unwrap(); // 25 bytes, 7 left
        writer.add_record(&[2; 3]).unwrap();
        let bytes = writer.into_inner();
        assert_eq!(bytes[25 + TYPE_OFFSET], 2, "First");
        assert_eq!(&bytes[25 + LENGTH_OFFSET..25 + TYPE_OFFSET], &[0, 0]);
        assert_eq!(bytes[32 + TYPE_OFFSET], 4, "Last");
    }

    #[test]
    fn large_record_is_first_middle_last() {
        let mut writer = Writer::new(Vec::new(), options(32));
        writer.add_record(&[7; 60]).unwrap(); // 25 + 25 + 10
        let bytes = writer.into_inner();
        assert_eq!(bytes[TYPE_OFFSET], 2);
        assert_eq!(bytes[32 + TYPE_OFFSET], 3);
        assert_eq!(bytes[64 + TYPE_OFFSET], 4);
        assert_eq!(bytes.len(), 64 + 7 + 10);
    }

    #[test]
    fn recyclable_header_carries_the_low_32_bits_of_the_log_number() {
        let options = WriterOptions {
            header_format: HeaderFormat::Recyclable {
                log_number: 0x1_0000_0005,
            },
            ..options(64)
        };
        let mut writer = Writer::new(Vec::new(), options);
        writer.add_record(b"abc").unwrap();
        let bytes = writer.into_inner();
        assert_eq!(bytes[TYPE_OFFSET], 5);
        assert_eq!(
            &bytes[LOG_NUMBER_OFFSET..LOG_NUMBER_OFFSET + 4],
            &5u32.to_le_bytes()
        );
        assert_eq!(bytes.len(), 11 + 3);
    }

    #[test]
    fn continuing_writer_respects_the_block_position() {
        let mut first = Writer::new(Vec::new(), options(32));
        first.add_record(&[1; 10]).unwrap();
        let offset = first.file_offset();
        let mut bytes = first.into_inner();
        let mut second = Writer::with_offset(&mut bytes, options(32), offset);
        second.add_record(&[2; 20]).unwrap();
        let mut whole = Writer::new(Vec::new(), options(32));
        whole.add_record(&[1; 10]).unwrap();
        whole.add_record(&[2; 20]).unwrap();
        assert_eq!(bytes, whole.into_inner());
    }
}
