//! Block handles and the fixed-size footer.
//!
//! In index and meta-index values a handle is `offset: varint64 | size:
//! varint64`; in the footer it is `offset: u64 LE | size: u64 LE`. `size`
//! counts the block contents, not the 5-byte trailer after them.

use strata_coding::{get_varint64, put_varint64};

use crate::format::{
    FIXED_HANDLE_SIZE, FOOTER_CHECKSUM_OFFSET, FOOTER_INDEX_OFFSET, FOOTER_MAGIC_OFFSET,
    FOOTER_META_INDEX_OFFSET, FOOTER_SIZE, FOOTER_VERSION_OFFSET, FORMAT_VERSION, TABLE_MAGIC,
    mask_checksum,
};

/// Where a block lies in the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BlockHandle {
    /// File offset of the block contents.
    pub offset: u64,
    /// Length of the block contents, without the trailer.
    pub size: u64,
}

impl BlockHandle {
    /// Appends the varint encoding to `out`.
    pub fn encode_to(&self, out: &mut Vec<u8>) {
        put_varint64(out, self.offset);
        put_varint64(out, self.size);
    }

    /// Decodes a varint-encoded handle that fills `input` exactly.
    #[must_use]
    pub fn decode(input: &[u8]) -> Option<BlockHandle> {
        let (offset, offset_length) = get_varint64(input).ok()?;
        let (size, size_length) = get_varint64(input.get(offset_length..)?).ok()?;
        (offset_length + size_length == input.len()).then_some(BlockHandle { offset, size })
    }

    fn encode_fixed(&self, out: &mut [u8]) {
        out[..8].copy_from_slice(&self.offset.to_le_bytes());
        out[8..FIXED_HANDLE_SIZE].copy_from_slice(&self.size.to_le_bytes());
    }

    fn decode_fixed(input: &[u8; FOOTER_SIZE], at: usize) -> BlockHandle {
        BlockHandle {
            offset: read_u64(input, at),
            size: read_u64(input, at + 8),
        }
    }
}

fn read_u64(input: &[u8; FOOTER_SIZE], at: usize) -> u64 {
    let mut word = [0; 8];
    word.copy_from_slice(&input[at..at + 8]);
    u64::from_le_bytes(word)
}

fn read_u32(input: &[u8; FOOTER_SIZE], at: usize) -> u32 {
    let mut word = [0; 4];
    word.copy_from_slice(&input[at..at + 4]);
    u32::from_le_bytes(word)
}

/// The last [`FOOTER_SIZE`] bytes of a table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Footer {
    /// The meta-index block.
    pub meta_index: BlockHandle,
    /// The index block.
    pub index: BlockHandle,
}

impl Footer {
    /// The footer bytes.
    #[must_use]
    pub fn encode(&self) -> [u8; FOOTER_SIZE] {
        let mut out = [0; FOOTER_SIZE];
        self.meta_index
            .encode_fixed(&mut out[FOOTER_META_INDEX_OFFSET..]);
        self.index.encode_fixed(&mut out[FOOTER_INDEX_OFFSET..]);
        out[FOOTER_VERSION_OFFSET..FOOTER_CHECKSUM_OFFSET]
            .copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        let checksum = mask_checksum(crc32fast::hash(&out[..FOOTER_CHECKSUM_OFFSET]));
        out[FOOTER_CHECKSUM_OFFSET..FOOTER_MAGIC_OFFSET].copy_from_slice(&checksum.to_le_bytes());
        out[FOOTER_MAGIC_OFFSET..].copy_from_slice(&TABLE_MAGIC.to_le_bytes());
        out
    }

    /// Decodes footer bytes, or says why they are not a footer.
    ///
    /// # Errors
    /// A reason when the magic, the checksum or the version is wrong.
    pub fn decode(input: &[u8; FOOTER_SIZE]) -> Result<Footer, String> {
        let magic = read_u64(input, FOOTER_MAGIC_OFFSET);
        if magic != TABLE_MAGIC {
            return Err(format!(
                "the footer ends in {magic:#018x}, not the table magic {TABLE_MAGIC:#018x}: the \
                 file is truncated or is not a Strata table"
            ));
        }
        let stored = read_u32(input, FOOTER_CHECKSUM_OFFSET);
        let computed = mask_checksum(crc32fast::hash(&input[..FOOTER_CHECKSUM_OFFSET]));
        if stored != computed {
            return Err(format!(
                "footer checksum mismatch (stored {stored:#010x}, computed {computed:#010x})"
            ));
        }
        let version = read_u32(input, FOOTER_VERSION_OFFSET);
        if version != FORMAT_VERSION {
            return Err(format!(
                "format version {version} is not supported (this reader knows version \
                 {FORMAT_VERSION})"
            ));
        }
        Ok(Footer {
            meta_index: BlockHandle::decode_fixed(input, FOOTER_META_INDEX_OFFSET),
            index: BlockHandle::decode_fixed(input, FOOTER_INDEX_OFFSET),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn footer_round_trips_and_ends_in_the_magic() {
        let footer = Footer {
            meta_index: BlockHandle {
                offset: 100,
                size: 20,
            },
            index: BlockHandle {
                offset: 125,
                size: 300,
            },
        };
        let bytes = footer.encode();
        assert_eq!(&bytes[FOOTER_SIZE - 8..], b"strtsst1");
        assert_eq!(Footer::decode(&bytes), Ok(footer));
    }

    #[test]
    fn every_footer_byte_flip_is_detected() {
        let footer = Footer {
            meta_index: BlockHandle { offset: 1, size: 2 },
            index: BlockHandle { offset: 3, size: 4 },
        };
        for position in 0..FOOTER_SIZE {
            let mut bytes = footer.encode();
            bytes[position] ^= 0x10;
            assert!(Footer::decode(&bytes).is_err(), "flip at {position}");
        }
    }

    #[test]
    fn handle_decode_needs_exactly_two_varints() {
        let mut out = Vec::new();
        BlockHandle {
            offset: 300,
            size: 7,
        }
        .encode_to(&mut out);
        assert_eq!(
            BlockHandle::decode(&out),
            Some(BlockHandle {
                offset: 300,
                size: 7
            })
        );
        out.push(0);
        assert_eq!(BlockHandle::decode(&out), None);
        assert_eq!(BlockHandle::decode(&out[..1]), None);
    }
}
