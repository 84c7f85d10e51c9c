//! Checked block reads: fetches a block and its trailer from a source, checks
//! that it lies before the footer, verifies the checksum, decompresses by the
//! compression byte, and parses the contents.

use std::path::Path;
use std::sync::Arc;

use crate::block::{Block, KeyOrder};
use crate::compression::decompress;
use crate::error::{Error, Result};
use crate::footer::BlockHandle;
use crate::format::{BLOCK_TRAILER_SIZE, COMPRESSION_NONE, block_checksum};
use crate::source::ReadAt;

/// Reads blocks of one table from its source.
pub(crate) struct BlockReader<'a> {
    /// Where the table's bytes are.
    pub(crate) source: &'a dyn ReadAt,
    /// The table's name, for errors.
    pub(crate) file: &'a Arc<Path>,
    /// Where the footer starts: no block may reach past it.
    pub(crate) footer_offset: u64,
}

impl BlockReader<'_> {
    /// A `Corruption` error at `offset` of this table.
    pub(crate) fn corruption(&self, offset: u64, reason: String) -> Error {
        Error::Corruption {
            file: self.file.to_path_buf(),
            offset,
            reason,
        }
    }

    /// Fills `buffer` from `offset`.
    pub(crate) fn read(&self, offset: u64, buffer: &mut [u8]) -> Result<()> {
        self.source
            .read_exact_at(offset, buffer)
            .map_err(|source| Error::Io {
                file: self.file.to_path_buf(),
                source,
            })
    }

    /// The contents of the block at `handle`, checksum verified and
    /// decompressed.
    pub(crate) fn read_contents(&self, handle: BlockHandle) -> Result<Vec<u8>> {
        self.read_decompressed(handle).map(|(contents, _)| contents)
    }

    /// The contents of the block at `handle`, checksum verified and
    /// decompressed, and whether they were stored compressed.
    fn read_decompressed(&self, handle: BlockHandle) -> Result<(Vec<u8>, bool)> {
        let mut stored = crate::buffers::take(self.stored_length(handle)?);
        self.read(handle.offset, &mut stored)?;
        self.decode_stored(handle, stored)
    }

    /// The bytes the block at `handle` takes in the file, trailer included,
    /// if it lies before the footer.
    pub(crate) fn stored_length(&self, handle: BlockHandle) -> Result<usize> {
        let end = handle
            .offset
            .checked_add(handle.size)
            .and_then(|end| end.checked_add(BLOCK_TRAILER_SIZE as u64));
        match (end, usize::try_from(handle.size)) {
            (Some(end), Ok(size)) if end <= self.footer_offset => Ok(size + BLOCK_TRAILER_SIZE),
            _ => Err(self.corruption(
                handle.offset,
                format!(
                    "a block handle (offset {}, size {}) points past the footer at {}",
                    handle.offset, handle.size, self.footer_offset
                ),
            )),
        }
    }

    /// Checks and decompresses `stored`, the block at `handle` with its
    /// trailer as read from the file.
    fn decode_stored(&self, handle: BlockHandle, mut contents: Vec<u8>) -> Result<(Vec<u8>, bool)> {
        let trailer_start = contents.len() - BLOCK_TRAILER_SIZE;
        let compression = contents[trailer_start];
        let mut stored = [0; 4];
        stored.copy_from_slice(&contents[trailer_start + 1..]);
        let stored = u32::from_le_bytes(stored);
        let computed = block_checksum(&contents[..trailer_start], compression);
        if stored != computed {
            return Err(self.corruption(
                handle.offset,
                format!(
                    "block checksum mismatch (stored {stored:#010x}, computed {computed:#010x}) \
                     in the {}-byte block",
                    handle.size
                ),
            ));
        }
        contents.truncate(trailer_start);
        let contents = decompress(contents, compression)
            .map_err(|reason| self.corruption(handle.offset, reason))?;
        Ok((contents, compression != COMPRESSION_NONE))
    }

    /// The block at `handle`, checksum verified and parsed with `order`.
    pub(crate) fn read_block(&self, handle: BlockHandle, order: KeyOrder) -> Result<Block> {
        let decoded = self.read_decompressed(handle)?;
        self.parse(handle, decoded, order)
    }

    /// The block at `handle` from `stored`, its bytes and trailer as read
    /// from the file (by a readahead), checksum verified and parsed with
    /// `order`.
    pub(crate) fn block_from_stored(
        &self,
        handle: BlockHandle,
        stored: Vec<u8>,
        order: KeyOrder,
    ) -> Result<Block> {
        let decoded = self.decode_stored(handle, stored)?;
        self.parse(handle, decoded, order)
    }

    fn parse(
        &self,
        handle: BlockHandle,
        (contents, compressed): (Vec<u8>, bool),
        order: KeyOrder,
    ) -> Result<Block> {
        let block = Block::new(contents, order, Arc::clone(self.file), handle.offset)?;
        Ok(if compressed {
            block.decompressed()
        } else {
            block
        })
    }
}
