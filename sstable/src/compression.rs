//! Block compression: the codec a table's data blocks are written with, and
//! the decoding of a stored block by its trailer's compression byte.
//!
//! LZ4 blocks are framed as RocksDB frames them from table format version 2
//! on (`kLZ4Compression`, byte 4): the uncompressed length as a varint32,
//! then one raw LZ4 block. The checksum in the trailer covers the stored
//! (compressed) bytes, so damage is caught before the decoder runs; the
//! decoder still treats its input as untrusted.

use strata_coding::{get_varint32, put_varint32};

use crate::format::COMPRESSION_NONE;

/// The compression byte of a block stored as a varint32 length and one LZ4
/// block (RocksDB's `kLZ4Compression`).
pub const COMPRESSION_LZ4: u8 = 4;

/// LZ4 cannot expand data by more than this factor (a match of at most
/// 255 bytes per length byte): a claimed length above it is damage, not
/// data, and is refused before any memory is reserved for it.
const LZ4_MAX_EXPANSION: usize = 255;

/// How the data blocks of a new table are compressed. Readers need no
/// setting: each block's trailer names its codec.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
#[non_exhaustive]
pub enum Compression {
    /// Blocks are stored as they are (the default).
    #[default]
    None,
    /// LZ4 (the `lz4_flex` crate, pure Rust), in RocksDB's framing.
    Lz4,
}

impl Compression {
    /// The name used in options and reports: `none` or `lz4`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Lz4 => "lz4",
        }
    }
}

/// `contents` compressed with `compression`, with the compression byte to
/// store, if that saves at least an eighth of the bytes (RocksDB's
/// `GoodCompressionRatio`); `None` means store the block as it is.
pub(crate) fn compress(contents: &[u8], compression: Compression) -> Option<(Vec<u8>, u8)> {
    match compression {
        Compression::None => None,
        Compression::Lz4 => {
            let length = u32::try_from(contents.len()).ok()?;
            // The length, then the LZ4 block written in place behind it.
            let mut stored = Vec::new();
            put_varint32(&mut stored, length);
            let prefix = stored.len();
            stored.resize(
                prefix + lz4_flex::block::get_maximum_output_size(contents.len()),
                0,
            );
            let written = lz4_flex::block::compress_into(contents, &mut stored[prefix..]).ok()?;
            stored.truncate(prefix + written);
            (stored.len() < contents.len() - contents.len() / 8)
                .then_some((stored, COMPRESSION_LZ4))
        }
    }
}

/// The block contents of `stored` bytes whose trailer says `compression`
/// (a table reader calls it after checking the trailer's checksum). An
/// error explains what is wrong; the caller adds the file and offset.
///
/// ```
/// use strata_sstable::{COMPRESSION_LZ4, COMPRESSION_NONE, decompress};
///
/// assert_eq!(decompress(b"as is".to_vec(), COMPRESSION_NONE).unwrap(), b"as is");
/// // Five bytes claimed, one literal given: damage, reported as such.
/// assert!(decompress(vec![5, 0x10, b'a'], COMPRESSION_LZ4).is_err());
/// assert!(decompress(Vec::new(), 9).unwrap_err().contains("type 9"));
/// ```
pub fn decompress(stored: Vec<u8>, compression: u8) -> Result<Vec<u8>, String> {
    match compression {
        COMPRESSION_NONE => Ok(stored),
        COMPRESSION_LZ4 => {
            let (length, prefix) = get_varint32(&stored)
                .map_err(|error| format!("the LZ4 block's uncompressed length: {error}"))?;
            let compressed = &stored[prefix..];
            let length = length as usize;
            if length > compressed.len().saturating_mul(LZ4_MAX_EXPANSION) {
                return Err(format!(
                    "the LZ4 block claims {length} uncompressed bytes from {} compressed, \
                     more than LZ4 can produce",
                    compressed.len()
                ));
            }
            let mut contents = crate::buffers::take(length);
            let written = lz4_flex::block::decompress_into(compressed, &mut contents)
                .map_err(|error| format!("the LZ4 block does not decode: {error}"))?;
            if written != length {
                return Err(format!(
                    "the LZ4 block decodes to {written} bytes, but its header says {length}"
                ));
            }
            crate::buffers::give_back(stored);
            Ok(contents)
        }
        other => Err(format!("compression type {other} is not supported")),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn compressible_blocks_round_trip_and_shrink() {
        let contents: Vec<u8> = b"strata block "
            .iter()
            .copied()
            .cycle()
            .take(4096)
            .collect();
        let (stored, byte) = compress(&contents, Compression::Lz4).expect("compressible");
        assert_eq!(byte, COMPRESSION_LZ4);
        assert!(stored.len() < contents.len() / 4, "{}", stored.len());
        assert_eq!(decompress(stored, byte).unwrap(), contents);
    }

    #[test]
    fn blocks_that_do_not_shrink_by_an_eighth_are_stored_as_they_are() {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let noise: Vec<u8> = (0..4096)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        assert_eq!(compress(&noise, Compression::Lz4), None);
        assert_eq!(compress(b"", Compression::Lz4), None);
        assert_eq!(compress(b"abcabcabc", Compression::None), None);
    }

    #[test]
    fn damaged_lz4_blocks_are_errors_not_panics() {
        let contents: Vec<u8> = b"0123456789".iter().copied().cycle().take(2000).collect();
        let (stored, byte) = compress(&contents, Compression::Lz4).expect("compressible");
        // A length larger than LZ4 could produce.
        let mut huge = Vec::new();
        put_varint32(&mut huge, u32::MAX);
        huge.extend_from_slice(&stored[2..]);
        let error = decompress(huge, byte).unwrap_err();
        assert!(error.contains("more than LZ4 can produce"), "{error}");
        // A length that disagrees with the data.
        let mut short = Vec::new();
        put_varint32(&mut short, 1999);
        short.extend_from_slice(&stored[2..]);
        assert!(decompress(short, byte).is_err());
        // A truncated block, and no length at all.
        assert!(decompress(stored[..stored.len() / 2].to_vec(), byte).is_err());
        assert!(decompress(vec![0x80], byte).is_err());
        assert!(decompress(Vec::new(), byte).is_err());
        // Every single-byte change decodes to an error or to some bytes,
        // never a panic.
        for index in 0..stored.len() {
            let mut flipped = stored.clone();
            flipped[index] ^= 0x5a;
            let _ = decompress(flipped, byte);
        }
        let error = decompress(stored, 9).unwrap_err();
        assert!(error.contains("type 9"), "{error}");
    }
}
