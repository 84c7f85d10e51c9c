//! The byte-coding facts that the write-ahead log (`strata-wal`) and the
//! sorted tables (`strata-sstable`) share, defined once so that the two
//! formats cannot drift apart:
//!
//! - [`mask_checksum`] / [`unmask_checksum`]: how a CRC is stored on disk,
//!   as LevelDB and RocksDB store it.
//! - [`put_varint32`] / [`get_varint32`] and [`put_varint64`] /
//!   [`get_varint64`]: LEB128 variable-length integers, with a
//!   [`VarintError`] that says whether the input was truncated, too long or
//!   overflowing.
//! - [`MAX_SEQUENCE`]: the largest sequence number, which both a write batch
//!   and an internal key must respect.
//!
//! The crate depends on nothing and neither format crate depends on the
//! other; both depend on this one.
//!
//! ```
//! use strata_coding::{get_varint32, mask_checksum, put_varint32, unmask_checksum};
//!
//! let mut bytes = Vec::new();
//! put_varint32(&mut bytes, 300);
//! assert_eq!(bytes, [0xac, 0x02]);
//! assert_eq!(get_varint32(&bytes), Ok((300, 2)));
//!
//! assert_eq!(unmask_checksum(mask_checksum(0x1234_5678)), 0x1234_5678);
//! ```

#![forbid(unsafe_code)]

mod checksum;
mod varint;

pub use checksum::{MASK_DELTA, MASK_ROTATION_BITS, mask_checksum, unmask_checksum};
pub use varint::{
    MAX_VARINT32_BYTES, MAX_VARINT64_BYTES, VarintError, get_varint32, get_varint64, put_varint32,
    put_varint64,
};

/// Bits of a sequence number that an internal key keeps: the key's 8-byte
/// trailer packs `sequence << 8 | kind`.
pub const SEQUENCE_BITS: u32 = 56;

/// The largest sequence number, `2^56 - 1` (RocksDB's `kMaxSequenceNumber`).
/// A write batch whose entries reach past it is invalid, and an internal key
/// cannot hold a larger one.
pub const MAX_SEQUENCE: u64 = (1 << SEQUENCE_BITS) - 1;

const _: () = assert!(MAX_SEQUENCE == 0x00ff_ffff_ffff_ffff);
// The packed trailer of an internal key keeps every bit of the largest
// sequence next to a full kind byte.
const _: () = assert!((MAX_SEQUENCE << 8 | 0xff) == u64::MAX);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_sequence_survives_packing_and_one_more_does_not() {
        assert_eq!((MAX_SEQUENCE << 8) >> 8, MAX_SEQUENCE);
        assert_ne!(((MAX_SEQUENCE + 1) << 8) >> 8, MAX_SEQUENCE + 1);
    }
}
