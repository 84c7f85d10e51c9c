//! Constants and small helpers of the log format, in one place.
//!
//! ```text
//! log    := block* (the last block may be short)
//! block  := record* trailer?
//! record := checksum: u32 LE | length: u16 LE | type: u8 | [log_number: u32 LE] | payload
//! trailer:= 0..(header_size - 1) zero bytes (a record never starts in them)
//! ```
//!
//! The checksum covers the type byte, the log number of a recyclable header and
//! the payload, and is stored masked (see [`mask_checksum`]). The full layout is
//! in `docs/wal_format.md`.

/// The default size of a log block, in bytes.
pub const DEFAULT_BLOCK_SIZE: usize = 32 * 1024;

/// Size of the legacy header: checksum (4) + length (2) + type (1).
pub const LEGACY_HEADER_SIZE: usize = CHECKSUM_SIZE + LENGTH_SIZE + TYPE_SIZE;

/// Size of the recyclable header: the legacy header + log number (4).
pub const RECYCLABLE_HEADER_SIZE: usize = LEGACY_HEADER_SIZE + LOG_NUMBER_SIZE;

const CHECKSUM_SIZE: usize = 4;
const LENGTH_SIZE: usize = 2;
const TYPE_SIZE: usize = 1;
const LOG_NUMBER_SIZE: usize = 4;

/// Offset of the length field inside a header.
pub(crate) const LENGTH_OFFSET: usize = CHECKSUM_SIZE;
/// Offset of the type byte inside a header.
pub(crate) const TYPE_OFFSET: usize = LENGTH_OFFSET + LENGTH_SIZE;
/// Offset of the log number inside a recyclable header.
pub(crate) const LOG_NUMBER_OFFSET: usize = TYPE_OFFSET + TYPE_SIZE;

const _: () = assert!(LEGACY_HEADER_SIZE == 7);
const _: () = assert!(RECYCLABLE_HEADER_SIZE == 11);
const _: () = assert!(LOG_NUMBER_OFFSET == 7);

/// The smallest block size a writer or reader accepts. Tests use tiny blocks
/// to exercise fragmentation cheaply; anything below this leaves no room for
/// a payload byte after a recyclable header.
pub const MIN_BLOCK_SIZE: usize = RECYCLABLE_HEADER_SIZE + 1;

/// The largest block size: a fragment's length must fit the u16 length field.
pub const MAX_BLOCK_SIZE: usize = 1 << 16;

/// Bit 7 of a type byte: a reader that does not know such a type skips it.
pub const SAFE_TO_IGNORE_BIT: u8 = 1 << 7;

// The checksum mask is shared with the table format; it is defined once, in
// `strata-coding`.
pub use strata_coding::{mask_checksum, unmask_checksum};

/// The type byte of a physical record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RecordType {
    /// Type 0: reserved for zero-filled (preallocated) space; never written.
    Zero,
    /// A whole logical record in one fragment.
    Full,
    /// The first fragment of a logical record.
    First,
    /// A fragment in the middle of a logical record.
    Middle,
    /// The last fragment of a logical record.
    Last,
}

impl RecordType {
    /// Decodes a type byte into the fragment type and whether it uses the
    /// recyclable (11-byte) header. Returns `None` for types this reader does
    /// not know.
    #[must_use]
    pub fn decode(byte: u8) -> Option<(RecordType, bool)> {
        Some(match byte {
            0 => (RecordType::Zero, false),
            1 => (RecordType::Full, false),
            2 => (RecordType::First, false),
            3 => (RecordType::Middle, false),
            4 => (RecordType::Last, false),
            5 => (RecordType::Full, true),
            6 => (RecordType::First, true),
            7 => (RecordType::Middle, true),
            8 => (RecordType::Last, true),
            _ => return None,
        })
    }

    /// The type byte of this fragment type in a legacy or recyclable header.
    #[must_use]
    pub fn encode(self, recyclable: bool) -> u8 {
        let legacy = match self {
            RecordType::Zero => return 0,
            RecordType::Full => 1,
            RecordType::First => 2,
            RecordType::Middle => 3,
            RecordType::Last => 4,
        };
        if recyclable { legacy + 4 } else { legacy }
    }
}

/// Whether a type byte that [`RecordType::decode`] does not know uses the
/// recyclable header. RocksDB's meta-record types at and above 10 mark the
/// recyclable variant with bit 0 (`kRecyclableUserDefinedTimestampSizeType`
/// = 11, `kRecyclePredecessorWALInfoType` = 131); we follow that rule so an
/// ignorable record is skipped with the right header length.
#[must_use]
pub(crate) fn unknown_type_is_recyclable(byte: u8) -> bool {
    byte >= 10 && byte & 1 == 1
}

/// The checksum algorithm of a log. The framing and masking are the same for
/// both; only the polynomial differs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
pub enum Checksum {
    /// CRC-32 (IEEE), computed with `crc32fast`: what Strata writes.
    #[default]
    Crc32,
    /// CRC-32C (Castagnoli): what RocksDB and LevelDB write.
    Crc32c,
}

impl Checksum {
    /// The unmasked checksum of the concatenation of `parts`.
    #[must_use]
    pub fn compute(self, parts: &[&[u8]]) -> u32 {
        match self {
            Checksum::Crc32 => {
                let mut hasher = crc32fast::Hasher::new();
                for part in parts {
                    hasher.update(part);
                }
                hasher.finalize()
            }
            Checksum::Crc32c => parts
                .iter()
                .fold(0, |crc, part| crc32c::crc32c_append(crc, part)),
        }
    }
}

/// Whether a log uses the legacy or the recyclable header, and for the
/// latter, which log number its records carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum HeaderFormat {
    /// 7-byte headers (types 1–4).
    #[default]
    Legacy,
    /// 11-byte headers (types 5–8) carrying the low 32 bits of the log number,
    /// so that a reader can tell this log's records from stale ones left by
    /// an earlier use of the same file.
    Recyclable {
        /// The full log number; only its low 32 bits are stored.
        log_number: u64,
    },
}

impl HeaderFormat {
    /// The header size in bytes.
    #[must_use]
    pub fn header_size(self) -> usize {
        match self {
            HeaderFormat::Legacy => LEGACY_HEADER_SIZE,
            HeaderFormat::Recyclable { .. } => RECYCLABLE_HEADER_SIZE,
        }
    }
}

/// The low 32 bits of a log number, as a recyclable header stores them.
#[must_use]
pub(crate) fn stored_log_number(log_number: u64) -> u32 {
    (log_number & u64::from(u32::MAX)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_matches_the_published_check_value() {
        // The standard check value of CRC-32C over "123456789".
        assert_eq!(Checksum::Crc32c.compute(&[b"123456789"]), 0xe306_9283);
        assert_eq!(Checksum::Crc32.compute(&[b"1234", b"56789"]), 0xcbf4_3926);
    }

    #[test]
    fn type_bytes_round_trip() {
        for byte in 0..=8u8 {
            let (kind, recyclable) = RecordType::decode(byte).expect("known type");
            assert_eq!(kind.encode(recyclable && kind != RecordType::Zero), byte);
        }
        assert_eq!(RecordType::decode(9), None);
        assert_eq!(RecordType::decode(130), None);
    }
}
