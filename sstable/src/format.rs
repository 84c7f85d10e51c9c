//! Constants of the table format, in one place. The full layout is in
//! `docs/sstable_format.md`.
//!
//! ```text
//! table   := data_block* filter_block? meta_index_block index_block footer
//! block   := contents trailer
//! trailer := compression: u8 | checksum: u32 LE (masked CRC-32 of contents ++ compression)
//! footer  := meta_index_offset: u64 LE | meta_index_size: u64 LE
//!          | index_offset: u64 LE | index_size: u64 LE
//!          | format_version: u32 LE | checksum: u32 LE (masked CRC-32 of the 36 bytes before it)
//!          | magic: u64 LE
//! ```

/// Size of the compression byte of a block trailer.
const COMPRESSION_SIZE: usize = 1;
/// Size of the checksum of a block trailer.
const CHECKSUM_SIZE: usize = 4;

/// Size of the trailer after every block: compression byte + masked checksum.
pub const BLOCK_TRAILER_SIZE: usize = COMPRESSION_SIZE + CHECKSUM_SIZE;
const _: () = assert!(BLOCK_TRAILER_SIZE == 5);

/// The compression byte of a block stored as it is. The other one Strata
/// writes and reads is [`crate::COMPRESSION_LZ4`].
pub const COMPRESSION_NONE: u8 = 0;

/// Offset of the meta-index block handle inside the footer.
pub(crate) const FOOTER_META_INDEX_OFFSET: usize = 0;
/// Offset of the index block handle inside the footer.
pub(crate) const FOOTER_INDEX_OFFSET: usize = FOOTER_META_INDEX_OFFSET + FIXED_HANDLE_SIZE;
/// Offset of the format version inside the footer.
pub(crate) const FOOTER_VERSION_OFFSET: usize = FOOTER_INDEX_OFFSET + FIXED_HANDLE_SIZE;
/// Offset of the footer's own checksum.
pub(crate) const FOOTER_CHECKSUM_OFFSET: usize = FOOTER_VERSION_OFFSET + 4;
/// Offset of the magic number inside the footer.
pub(crate) const FOOTER_MAGIC_OFFSET: usize = FOOTER_CHECKSUM_OFFSET + CHECKSUM_SIZE;
/// A block handle in the footer: offset and size, each a `u64 LE`.
pub(crate) const FIXED_HANDLE_SIZE: usize = 16;

/// Size of the footer at the end of every table.
pub const FOOTER_SIZE: usize = FOOTER_MAGIC_OFFSET + 8;
const _: () = assert!(FOOTER_SIZE == 48);
const _: () = assert!(FOOTER_CHECKSUM_OFFSET == 36);

/// The last eight bytes of every table: `"strtsst1"` read as a `u64 LE`.
pub const TABLE_MAGIC: u64 = u64::from_le_bytes(*b"strtsst1");

/// The format version this crate writes and the only one it reads.
pub const FORMAT_VERSION: u32 = 1;

/// The meta-index key under which a bloom filter block whose probes spread
/// over the whole bit array is recorded (written before cache-local filters;
/// still read).
pub const FILTER_META_KEY: &[u8] = b"filter.strata.bloom64";

/// The meta-index key under which a cache-local bloom filter block (every
/// probe of a key within one 64-byte line) is recorded: what tables are
/// written with. Readers that know only [`FILTER_META_KEY`] ignore it and
/// read the table without a filter.
pub const LOCAL_FILTER_META_KEY: &[u8] = b"filter.strata.local512";

/// Default target size of a data block before it is cut, in bytes.
pub const DEFAULT_BLOCK_SIZE_BYTES: usize = 4 * 1024;
/// The largest target block size a builder accepts; larger requests are
/// lowered to it so that offsets inside a block always fit a `u32`.
pub const MAX_BLOCK_SIZE_BYTES: usize = 1 << 30;
/// Default number of entries between restart points of a data block.
pub const DEFAULT_RESTART_INTERVAL: usize = 16;
/// Default bloom filter bits per user key (about 1 % false positives).
pub const DEFAULT_BLOOM_BITS_PER_KEY: usize = 10;
/// Bits per key above this are treated as this: more buys nothing measurable.
pub const MAX_BLOOM_BITS_PER_KEY: usize = 64;

// The checksum mask is shared with the log format; it is defined once, in
// `strata-coding`.
pub use strata_coding::{mask_checksum, unmask_checksum};

/// The masked CRC-32 stored in a block trailer: it covers the block contents,
/// then the compression byte.
#[must_use]
pub(crate) fn block_checksum(contents: &[u8], compression: u8) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(contents);
    hasher.update(&[compression]);
    mask_checksum(hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_checksum_is_the_masked_crc_of_contents_then_compression() {
        let unmasked = unmask_checksum(block_checksum(b"abc", COMPRESSION_NONE));
        assert_eq!(unmasked, crc32fast::hash(b"abc\0"));
        assert_ne!(block_checksum(b"abc", 1), block_checksum(b"abc", 0));
    }
}
