//! Write batches, encoded exactly as RocksDB encodes them: the payload of
//! every WAL record.
//!
//! ```text
//! batch   := sequence: u64 LE | count: u32 LE | entry*
//! entry   := tag: u8 | [column_family: varint32] | fields
//! fields  := key (Delete 0x0, SingleDelete 0x7)
//!          | key value (Put 0x1, Merge 0x2)
//!          | blob (LogData 0x3, not counted, consumes no sequence number)
//!          | begin end (DeleteRange 0xF)
//! column-family variants: Delete 0x4, Put 0x5, Merge 0x6, SingleDelete 0x8,
//!                         DeleteRange 0xE
//! key, value, blob, begin, end := length: varint32 | bytes
//! ```

use std::fmt;

use strata_coding::{VarintError, get_varint32, put_varint32};

/// The largest sequence number (shared with the table format through
/// `strata-coding`). A batch reaching past it is invalid.
pub use strata_coding::MAX_SEQUENCE;

/// Size of the batch header: sequence (8) + count (4).
pub const BATCH_HEADER_SIZE: usize = 12;

const TAG_DELETE: u8 = 0x0;
const TAG_PUT: u8 = 0x1;
const TAG_MERGE: u8 = 0x2;
const TAG_LOG_DATA: u8 = 0x3;
const TAG_CF_DELETE: u8 = 0x4;
const TAG_CF_PUT: u8 = 0x5;
const TAG_CF_MERGE: u8 = 0x6;
const TAG_SINGLE_DELETE: u8 = 0x7;
const TAG_CF_SINGLE_DELETE: u8 = 0x8;
const TAG_CF_DELETE_RANGE: u8 = 0xE;
const TAG_DELETE_RANGE: u8 = 0xF;

/// One operation of a batch, borrowing from the encoded bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation<'a> {
    /// Sets `key` to `value`.
    Put {
        /// The key.
        key: &'a [u8],
        /// The value.
        value: &'a [u8],
    },
    /// Removes `key`.
    Delete {
        /// The key.
        key: &'a [u8],
    },
    /// Removes `key`, which was put at most once since its last deletion.
    SingleDelete {
        /// The key.
        key: &'a [u8],
    },
    /// A merge operand for `key`.
    Merge {
        /// The key.
        key: &'a [u8],
        /// The operand.
        value: &'a [u8],
    },
    /// Removes the keys in `begin..end`.
    DeleteRange {
        /// First key removed.
        begin: &'a [u8],
        /// First key kept.
        end: &'a [u8],
    },
    /// Data for the log only: not applied, not counted, no sequence number.
    LogData {
        /// The blob.
        blob: &'a [u8],
    },
}

/// An operation and the column family it applies to (0 is the default).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry<'a> {
    /// Column family id.
    pub column_family: u32,
    /// The operation.
    pub operation: Operation<'a>,
}

/// A payload is not a well-formed write batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchError {
    /// Offset inside the payload where decoding failed.
    pub offset: usize,
    /// What was wrong.
    pub reason: String,
}

impl fmt::Display for BatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {} of the batch", self.reason, self.offset)
    }
}

impl std::error::Error for BatchError {}

/// A decoded write batch, borrowing from the payload.
///
/// ```
/// use strata_wal::batch::{BatchBuilder, DecodedBatch, Operation};
///
/// let mut builder = BatchBuilder::new();
/// builder.put(b"k", b"v").delete(b"gone");
/// let payload = builder.finish(42);
/// let batch = DecodedBatch::decode(&payload)?;
/// assert_eq!(batch.sequence, 42);
/// assert_eq!(batch.count, 2);
/// assert_eq!(batch.entries[0].operation, Operation::Put { key: b"k", value: b"v" });
/// # Ok::<(), strata_wal::batch::BatchError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodedBatch<'a> {
    /// Sequence number of the first counted entry.
    pub sequence: u64,
    /// Number of entries that consume a sequence number (all but LogData).
    pub count: u32,
    /// The entries in order.
    pub entries: Vec<Entry<'a>>,
}

impl<'a> DecodedBatch<'a> {
    /// Decodes and validates a whole batch: every entry well formed, no bytes
    /// left over, and the header's count equal to the counted entries.
    pub fn decode(payload: &'a [u8]) -> Result<Self, BatchError> {
        let mut entries = Vec::new();
        let (sequence, count) = walk(payload, |entry| entries.push(entry))?;
        Ok(DecodedBatch {
            sequence,
            count,
            entries,
        })
    }
}

/// Calls `visit` with each entry of a batch in order, without collecting
/// them; returns the sequence and count. The batch is checked as
/// [`DecodedBatch::decode`] checks it, but as it goes: entries before a
/// malformed one have been visited when the error is returned, so a
/// caller that must see a whole batch or nothing calls [`validate`] first.
pub fn for_each_entry<'a>(
    payload: &'a [u8],
    visit: impl FnMut(Entry<'a>),
) -> Result<(u64, u32), BatchError> {
    walk(payload, visit)
}

/// Checks a whole batch as [`DecodedBatch::decode`] does, without keeping
/// the entries; returns the sequence and count.
pub fn validate(payload: &[u8]) -> Result<(u64, u32), BatchError> {
    walk(payload, |_| {})
}

fn walk<'a>(payload: &'a [u8], mut visit: impl FnMut(Entry<'a>)) -> Result<(u64, u32), BatchError> {
    let (sequence, count) = decode_header(payload)?;
    if sequence.saturating_add(u64::from(count)) > MAX_SEQUENCE {
        return Err(BatchError {
            offset: 0,
            reason: format!("sequence {sequence} (+{count}) is too large; at most {MAX_SEQUENCE}"),
        });
    }
    let mut cursor = Cursor {
        bytes: payload,
        offset: BATCH_HEADER_SIZE,
    };
    let mut counted: u64 = 0;
    while cursor.offset < payload.len() {
        let entry = cursor.entry()?;
        if !matches!(entry.operation, Operation::LogData { .. }) {
            counted += 1;
        }
        visit(entry);
    }
    if counted != u64::from(count) {
        return Err(BatchError {
            offset: payload.len(),
            reason: format!("header counts {count} entries but the batch holds {counted}"),
        });
    }
    Ok((sequence, count))
}

/// Reads the sequence and count of a batch without decoding its entries.
pub fn decode_header(payload: &[u8]) -> Result<(u64, u32), BatchError> {
    let Some((sequence, rest)) = payload.split_first_chunk::<8>() else {
        return Err(too_small(payload.len()));
    };
    let Some((count, _)) = rest.split_first_chunk::<4>() else {
        return Err(too_small(payload.len()));
    };
    Ok((u64::from_le_bytes(*sequence), u32::from_le_bytes(*count)))
}

fn too_small(length: usize) -> BatchError {
    BatchError {
        offset: 0,
        reason: format!(
            "a batch needs a {BATCH_HEADER_SIZE}-byte header, the record holds {length} bytes"
        ),
    }
}

struct Cursor<'a> {
    bytes: &'a [u8],
    offset: usize,
}

impl<'a> Cursor<'a> {
    fn error(&self, reason: impl Into<String>) -> BatchError {
        BatchError {
            offset: self.offset,
            reason: reason.into(),
        }
    }

    fn byte(&mut self) -> Result<u8, BatchError> {
        let byte = *self
            .bytes
            .get(self.offset)
            .ok_or_else(|| self.error("batch ends inside an entry"))?;
        self.offset += 1;
        Ok(byte)
    }

    /// A truncated varint is reported where the batch ends; a malformed one
    /// where it starts.
    fn varint32(&mut self) -> Result<u32, BatchError> {
        let rest = self.bytes.get(self.offset..).unwrap_or_default();
        match get_varint32(rest) {
            Ok((value, length)) => {
                self.offset += length;
                Ok(value)
            }
            Err(VarintError::Truncated { .. }) => {
                self.offset = self.bytes.len();
                Err(self.error("batch ends inside an entry"))
            }
            Err(error) => Err(self.error(error.to_string())),
        }
    }

    fn slice(&mut self) -> Result<&'a [u8], BatchError> {
        let length = self.varint32()? as usize;
        let end = self
            .offset
            .checked_add(length)
            .filter(|end| *end <= self.bytes.len())
            .ok_or_else(|| {
                self.error(format!(
                    "a {length}-byte field runs past the end of the batch"
                ))
            })?;
        let slice = &self.bytes[self.offset..end];
        self.offset = end;
        Ok(slice)
    }

    fn entry(&mut self) -> Result<Entry<'a>, BatchError> {
        let tag_offset = self.offset;
        let tag = self.byte()?;
        let column_family = match tag {
            TAG_CF_DELETE | TAG_CF_PUT | TAG_CF_MERGE | TAG_CF_SINGLE_DELETE
            | TAG_CF_DELETE_RANGE => self.varint32()?,
            _ => 0,
        };
        let operation = match tag {
            TAG_PUT | TAG_CF_PUT => Operation::Put {
                key: self.slice()?,
                value: self.slice()?,
            },
            TAG_DELETE | TAG_CF_DELETE => Operation::Delete { key: self.slice()? },
            TAG_SINGLE_DELETE | TAG_CF_SINGLE_DELETE => {
                Operation::SingleDelete { key: self.slice()? }
            }
            TAG_MERGE | TAG_CF_MERGE => Operation::Merge {
                key: self.slice()?,
                value: self.slice()?,
            },
            TAG_DELETE_RANGE | TAG_CF_DELETE_RANGE => Operation::DeleteRange {
                begin: self.slice()?,
                end: self.slice()?,
            },
            TAG_LOG_DATA => Operation::LogData {
                blob: self.slice()?,
            },
            other => {
                self.offset = tag_offset;
                return Err(self.error(format!(
                    "write batch tag 0x{other:02x} is not supported by Strata"
                )));
            }
        };
        Ok(Entry {
            column_family,
            operation,
        })
    }
}

/// Encodes a write batch entry by entry.
#[derive(Clone, Debug)]
pub struct BatchBuilder {
    bytes: Vec<u8>,
    count: u32,
}

impl Default for BatchBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl BatchBuilder {
    /// An empty batch.
    #[must_use]
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    /// An empty batch with room for `bytes` bytes of entries (each entry
    /// takes its key and value, a tag and up to five bytes per length)
    /// before it grows.
    #[must_use]
    pub fn with_capacity(bytes: usize) -> Self {
        let mut encoded = Vec::with_capacity(BATCH_HEADER_SIZE + bytes);
        encoded.resize(BATCH_HEADER_SIZE, 0);
        BatchBuilder {
            bytes: encoded,
            count: 0,
        }
    }

    /// Number of counted entries so far.
    #[must_use]
    pub fn count(&self) -> u32 {
        self.count
    }

    /// Length of the encoded batch in bytes.
    #[must_use]
    pub fn encoded_len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether no entry was added.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.bytes.len() == BATCH_HEADER_SIZE
    }

    /// Appends a Put.
    pub fn put(&mut self, key: &[u8], value: &[u8]) -> &mut Self {
        self.counted(TAG_PUT, &[key, value])
    }

    /// Appends a Delete.
    pub fn delete(&mut self, key: &[u8]) -> &mut Self {
        self.counted(TAG_DELETE, &[key])
    }

    /// Appends a SingleDelete.
    pub fn single_delete(&mut self, key: &[u8]) -> &mut Self {
        self.counted(TAG_SINGLE_DELETE, &[key])
    }

    /// Appends the entries of an encoded batch (the other batch's header is
    /// not copied). Used to merge batches in a group commit.
    pub fn append_encoded(&mut self, other: &BatchBuilder) -> &mut Self {
        self.bytes
            .extend_from_slice(&other.bytes[BATCH_HEADER_SIZE..]);
        self.count += other.count;
        self
    }

    fn counted(&mut self, tag: u8, fields: &[&[u8]]) -> &mut Self {
        // One growth per entry at most: the tag, and per field a length of
        // at most five bytes and the bytes.
        let needed = 1 + fields.iter().map(|field| 5 + field.len()).sum::<usize>();
        self.bytes.reserve(needed);
        self.bytes.push(tag);
        for field in fields {
            let length = u32::try_from(field.len()).expect("a batch field is shorter than 4 GiB");
            put_varint32(&mut self.bytes, length);
            self.bytes.extend_from_slice(field);
        }
        self.count += 1;
        self
    }

    /// The encoded batch with its first entry at `sequence`.
    #[must_use]
    pub fn finish(&self, sequence: u64) -> Vec<u8> {
        self.clone().into_payload(sequence)
    }

    /// [`BatchBuilder::finish`] without copying the bytes.
    #[must_use]
    pub fn into_payload(self, sequence: u64) -> Vec<u8> {
        let mut bytes = self.bytes;
        bytes[..8].copy_from_slice(&sequence.to_le_bytes());
        bytes[8..BATCH_HEADER_SIZE].copy_from_slice(&self.count.to_le_bytes());
        bytes
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn round_trip_of_every_builder_operation() {
        let mut builder = BatchBuilder::new();
        let long_key = vec![b'k'; 300];
        builder
            .put(b"a", b"1")
            .delete(b"b")
            .single_delete(b"c")
            .put(&long_key, b"");
        let payload = builder.finish(7);
        let batch = DecodedBatch::decode(&payload).unwrap();
        assert_eq!((batch.sequence, batch.count), (7, 4));
        assert_eq!(
            batch
                .entries
                .iter()
                .map(|e| e.operation)
                .collect::<Vec<_>>(),
            vec![
                Operation::Put {
                    key: b"a",
                    value: b"1"
                },
                Operation::Delete { key: b"b" },
                Operation::SingleDelete { key: b"c" },
                Operation::Put {
                    key: &long_key,
                    value: b""
                },
            ]
        );
    }

    #[test]
    fn column_family_and_range_and_log_data_entries_decode() {
        let mut payload = BatchBuilder::new().finish(1);
        payload[8] = 2; // count: the put and the range deletion
        payload.extend_from_slice(&[TAG_CF_PUT, 3, 1, b'k', 1, b'v']);
        payload.extend_from_slice(&[TAG_LOG_DATA, 2, b'l', b'd']);
        payload.extend_from_slice(&[TAG_DELETE_RANGE, 1, b'a', 1, b'z']);
        let batch = DecodedBatch::decode(&payload).unwrap();
        assert_eq!(batch.entries.len(), 3);
        assert_eq!(batch.entries[0].column_family, 3);
        assert_eq!(
            batch.entries[1].operation,
            Operation::LogData { blob: b"ld" }
        );
        assert_eq!(
            batch.entries[2].operation,
            Operation::DeleteRange {
                begin: b"a",
                end: b"z"
            }
        );
    }

    #[test]
    fn malformed_batches_are_errors_with_offsets() {
        assert!(DecodedBatch::decode(&[0; 11]).is_err());
        let mut wrong_count = BatchBuilder::new().put(b"a", b"b").finish(1);
        wrong_count[8] = 2;
        assert!(
            DecodedBatch::decode(&wrong_count)
                .unwrap_err()
                .reason
                .contains("counts 2")
        );
        let mut cut = BatchBuilder::new().put(b"abc", b"def").finish(1);
        cut.truncate(cut.len() - 1);
        assert!(DecodedBatch::decode(&cut).is_err());
        let mut unsupported = BatchBuilder::new().finish(1);
        unsupported.push(0x09);
        let error = DecodedBatch::decode(&unsupported).unwrap_err();
        assert_eq!(error.offset, BATCH_HEADER_SIZE);
        assert!(error.reason.contains("0x09"));
        let mut overflow = BatchBuilder::new().finish(1);
        overflow[8] = 1;
        overflow.extend_from_slice(&[TAG_DELETE, 0xff, 0xff, 0xff, 0xff, 0x7f]);
        assert!(
            DecodedBatch::decode(&overflow)
                .unwrap_err()
                .reason
                .contains("overflows")
        );
    }

    #[test]
    fn sequence_past_56_bits_is_invalid() {
        let payload = BatchBuilder::new().put(b"k", b"v").finish(MAX_SEQUENCE);
        assert!(validate(&payload).unwrap_err().reason.contains("too large"));
        let payload = BatchBuilder::new().put(b"k", b"v").finish(MAX_SEQUENCE - 1);
        assert_eq!(validate(&payload).unwrap(), (MAX_SEQUENCE - 1, 1));
    }

    #[test]
    fn varints_round_trip_at_their_boundaries() {
        for value in [0, 1, 127, 128, 16_383, 16_384, u32::MAX] {
            let mut bytes = Vec::new();
            put_varint32(&mut bytes, value);
            let mut cursor = Cursor {
                bytes: &bytes,
                offset: 0,
            };
            assert_eq!(cursor.varint32().unwrap(), value);
            assert_eq!(cursor.offset, bytes.len());
        }
    }

    #[test]
    fn a_bad_length_varint_is_reported_at_its_offset() {
        let header = BatchBuilder::new().finish(1);
        let key_length_offset = BATCH_HEADER_SIZE + 1;

        let mut overflow = header.clone();
        overflow[8] = 1;
        overflow.extend_from_slice(&[TAG_DELETE, 0xff, 0xff, 0xff, 0xff, 0x1f]);
        let error = DecodedBatch::decode(&overflow).unwrap_err();
        assert_eq!(error.offset, key_length_offset);
        assert_eq!(error.reason, "varint32 overflows 32 bits");

        let mut too_long = header.clone();
        too_long[8] = 1;
        too_long.extend_from_slice(&[TAG_DELETE, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00]);
        let error = DecodedBatch::decode(&too_long).unwrap_err();
        assert_eq!(error.offset, key_length_offset);
        assert_eq!(error.reason, "varint32 longer than 5 bytes");

        let mut truncated = header;
        truncated[8] = 1;
        truncated.extend_from_slice(&[TAG_DELETE, 0x80, 0x80]);
        let error = DecodedBatch::decode(&truncated).unwrap_err();
        assert_eq!(error.offset, truncated.len());
        assert_eq!(error.reason, "batch ends inside an entry");
    }
}
