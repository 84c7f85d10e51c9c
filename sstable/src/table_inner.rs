//! The state an open table shares with its iterators and its verification
//! pass: the source, the decoded footer, filter and index, and the block
//! cache. [`Table`](crate::Table) builds it at open; iterators and `verify`
//! read through it, so neither needs the public `Table`.

use std::path::Path;
use std::sync::Arc;

use crate::block::{Block, KeyOrder};
use crate::block_reader::BlockReader;
use crate::cache::BlockCache;
use crate::error::{Error, Result};
use crate::filter::BloomFilter;
use crate::footer::{BlockHandle, Footer};
use crate::format::FOOTER_SIZE;
use crate::readahead::Readahead;
use crate::source::ReadAt;

/// An open table's shared state.
pub(crate) struct TableInner {
    /// Where the table's bytes are.
    pub(crate) source: Box<dyn ReadAt>,
    /// The name given at open, for errors.
    pub(crate) file: Arc<Path>,
    /// The size of the table in bytes (at least the footer size).
    pub(crate) file_size: u64,
    /// The decoded footer.
    pub(crate) footer: Footer,
    /// Where the filter block is, if the table has one.
    pub(crate) filter_handle: Option<BlockHandle>,
    /// The bloom filter over the user keys, if the table has one.
    pub(crate) filter: Option<BloomFilter>,
    /// The index block: one separator key and data-block handle per block.
    pub(crate) index: Arc<Block>,
    /// The shared block cache and this table's id in it.
    pub(crate) cache: Option<(Arc<BlockCache>, u64)>,
}

impl TableInner {
    /// A `Corruption` error at `offset` of this table.
    pub(crate) fn corruption(&self, offset: u64, reason: String) -> Error {
        Error::Corruption {
            file: self.file.to_path_buf(),
            offset,
            reason,
        }
    }

    /// Where the footer starts.
    pub(crate) fn footer_offset(&self) -> u64 {
        self.file_size - FOOTER_SIZE as u64
    }

    /// Whether the filter says `user_key` may be in the table (always `true`
    /// without a filter).
    pub(crate) fn may_contain(&self, user_key: &[u8]) -> bool {
        self.filter
            .as_ref()
            .is_none_or(|filter| filter.may_contain(user_key))
    }

    /// The handles of the filter, meta-index and index blocks, in file order.
    pub(crate) fn metadata_handles(&self) -> Vec<BlockHandle> {
        self.filter_handle
            .into_iter()
            .chain([self.footer.meta_index, self.footer.index])
            .collect()
    }

    /// Reads and checks the data block at `handle` from the file, bypassing
    /// the cache (`verify` must look at the bytes on disk).
    pub(crate) fn read_data_block_from_file(&self, handle: BlockHandle) -> Result<Block> {
        self.block_reader().read_block(handle, KeyOrder::Internal)
    }

    /// Reads and checks the data block at `handle` for an iterator: from
    /// the block cache if the table has one and `use_cache` (then adding it
    /// there when read from the file), otherwise from the file, through the
    /// iterator's readahead.
    pub(crate) fn read_data_block(
        &self,
        handle: BlockHandle,
        use_cache: bool,
        readahead: &mut Readahead,
    ) -> Result<Arc<Block>> {
        readahead.note(handle);
        let cache = self.cache.as_ref().filter(|_| use_cache);
        if let Some((cache, id)) = cache
            && let Some(block) = cache.get((*id, handle.offset))
        {
            return Ok(block);
        }
        let block = Arc::new(readahead.read_block(&self.block_reader(), handle)?);
        if let Some((cache, id)) = cache {
            cache.insert((*id, handle.offset), Arc::clone(&block));
        }
        Ok(block)
    }

    fn block_reader(&self) -> BlockReader<'_> {
        BlockReader {
            source: &*self.source,
            file: &self.file,
            footer_offset: self.footer_offset(),
        }
    }
}
