//! The table iterator: a cursor over the index block that loads the data
//! block each index entry points at, seeking in both directions.

use std::sync::Arc;

use crate::block::BlockIterator;
use crate::error::Result;
use crate::footer::BlockHandle;
use crate::key::{ValueKind, is_before, parse_internal_key};
use crate::readahead::Readahead;
use crate::table_inner::TableInner;

/// A cursor over the entries of a table, in internal-key order. Movement
/// methods return an error for bad bytes and leave the iterator invalid;
/// `next` and `prev` on an invalid iterator do nothing.
///
/// ```
/// use strata_sstable::key::{InternalKey, ValueKind, lookup_key};
/// use strata_sstable::{Table, TableBuilder, TableOptions};
///
/// let mut builder = TableBuilder::new(Vec::new(), TableOptions::default());
/// for (user_key, sequence) in [(b"a", 1), (b"b", 2), (b"c", 3)] {
///     builder.add(InternalKey::new(user_key, sequence, ValueKind::Value).as_bytes(), b"v")?;
/// }
/// let table = Table::open(builder.finish()?.0, "demo.sst")?;
///
/// let mut iterator = table.iter();
/// iterator.seek_for_prev(&lookup_key(b"bb", 0))?; // the last entry at or before "bb"
/// assert_eq!(iterator.parsed_key().map(|key| key.user_key), Some(&b"b"[..]));
/// iterator.prev()?;
/// assert_eq!(iterator.parsed_key().map(|key| key.user_key), Some(&b"a"[..]));
/// # Ok::<(), strata_sstable::Error>(())
/// ```
pub struct TableIterator {
    table: Arc<TableInner>,
    index: BlockIterator,
    data: Option<BlockIterator>,
    data_handle: Option<BlockHandle>,
    /// Whether data blocks go through the table's block cache (read from
    /// it, and added to it when read from the file).
    use_cache: bool,
    /// Reads runs of blocks in larger windows.
    readahead: Readahead,
}

impl std::fmt::Debug for TableIterator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableIterator")
            .field("file", &self.table.file)
            .field("data_handle", &self.data_handle)
            .field("valid", &self.valid())
            .finish_non_exhaustive()
    }
}

impl TableIterator {
    pub(crate) fn new(table: Arc<TableInner>, use_cache: bool) -> TableIterator {
        let index = table.index.iter();
        TableIterator {
            table,
            index,
            data: None,
            data_handle: None,
            use_cache,
            readahead: Readahead::default(),
        }
    }

    /// Whether the iterator is at an entry.
    #[must_use]
    pub fn valid(&self) -> bool {
        self.data.as_ref().is_some_and(BlockIterator::valid)
    }

    /// The internal key of the current entry (empty when invalid).
    #[must_use]
    pub fn key(&self) -> &[u8] {
        self.data.as_ref().map_or(&[], BlockIterator::key)
    }

    /// The current key's parts (`None` when invalid).
    #[must_use]
    pub fn parsed_key(&self) -> Option<crate::key::ParsedInternalKey<'_>> {
        if self.valid() {
            parse_internal_key(self.key())
        } else {
            None
        }
    }

    /// The value of the current entry (empty when invalid).
    #[must_use]
    pub fn value(&self) -> &[u8] {
        self.data.as_ref().map_or(&[], BlockIterator::value)
    }

    /// The file offset of the current entry (for error reports); in a
    /// block stored compressed, the offset of the block.
    #[must_use]
    pub fn entry_file_offset(&self) -> u64 {
        self.data
            .as_ref()
            .map_or(0, BlockIterator::entry_file_offset)
    }

    /// Moves to the first entry.
    ///
    /// # Errors
    /// `Corruption` or `Io` if a block on the way cannot be read.
    pub fn seek_to_first(&mut self) -> Result<()> {
        let result = self.seek_to_first_inner();
        self.settle(result)
    }

    /// Moves to the last entry.
    ///
    /// # Errors
    /// `Corruption` or `Io` if a block on the way cannot be read.
    pub fn seek_to_last(&mut self) -> Result<()> {
        let result = self.seek_to_last_inner();
        self.settle(result)
    }

    /// Moves to the first entry at or after the internal key `target`
    /// (see [`lookup_key`](crate::key::lookup_key)).
    ///
    /// # Errors
    /// `Corruption` or `Io` if a block on the way cannot be read.
    pub fn seek(&mut self, target: &[u8]) -> Result<()> {
        let result = self.seek_inner(target);
        self.settle(result)
    }

    /// Moves to the last entry at or before the internal key `target`.
    ///
    /// # Errors
    /// `Corruption` or `Io` if a block on the way cannot be read.
    pub fn seek_for_prev(&mut self, target: &[u8]) -> Result<()> {
        let result = self.seek_for_prev_inner(target);
        self.settle(result)
    }

    /// Moves to the next entry.
    ///
    /// # Errors
    /// `Corruption` or `Io` if a block on the way cannot be read.
    #[expect(
        clippy::should_implement_trait,
        reason = "a cursor that moves both ways and can fail is not an Iterator"
    )]
    pub fn next(&mut self) -> Result<()> {
        let result = self.next_inner();
        self.settle(result)
    }

    /// Moves to the previous entry.
    ///
    /// # Errors
    /// `Corruption` or `Io` if a block on the way cannot be read.
    pub fn prev(&mut self) -> Result<()> {
        let result = self.prev_inner();
        self.settle(result)
    }

    fn seek_to_first_inner(&mut self) -> Result<()> {
        self.index.seek_to_first()?;
        self.load_data_block()?;
        if let Some(data) = &mut self.data {
            data.seek_to_first()?;
        }
        self.skip_empty_blocks_forward()
    }

    fn seek_to_last_inner(&mut self) -> Result<()> {
        self.index.seek_to_last()?;
        self.load_data_block()?;
        if let Some(data) = &mut self.data {
            data.seek_to_last()?;
        }
        self.skip_empty_blocks_backward()
    }

    fn seek_inner(&mut self, target: &[u8]) -> Result<()> {
        self.index.seek(target)?;
        self.load_data_block()?;
        if let Some(data) = &mut self.data {
            data.seek(target)?;
        }
        self.skip_empty_blocks_forward()
    }

    fn seek_for_prev_inner(&mut self, target: &[u8]) -> Result<()> {
        self.seek_inner(target)?;
        if !self.valid() {
            return self.seek_to_last_inner();
        }
        if is_before(target, self.key()) {
            return self.prev_inner();
        }
        Ok(())
    }

    fn next_inner(&mut self) -> Result<()> {
        match &mut self.data {
            Some(data) if data.valid() => data.next()?,
            _ => return Ok(()),
        }
        self.skip_empty_blocks_forward()
    }

    fn prev_inner(&mut self) -> Result<()> {
        match &mut self.data {
            Some(data) if data.valid() => data.prev()?,
            _ => return Ok(()),
        }
        self.skip_empty_blocks_backward()
    }

    /// On error, leaves the iterator invalid; on success checks the entry.
    fn settle(&mut self, result: Result<()>) -> Result<()> {
        let result = result.and_then(|()| self.check_entry());
        if result.is_err() {
            self.data = None;
            self.data_handle = None;
        }
        result
    }

    /// A stored entry must have a known kind.
    fn check_entry(&self) -> Result<()> {
        match self.parsed_key() {
            Some(parsed) if ValueKind::from_byte(parsed.kind).is_none() => {
                Err(self.table.corruption(
                    self.entry_file_offset(),
                    format!("an entry has the unknown kind byte {}", parsed.kind),
                ))
            }
            _ => Ok(()),
        }
    }

    /// Points `data` at the block of the current index entry (unpositioned).
    fn load_data_block(&mut self) -> Result<()> {
        if !self.index.valid() {
            self.data = None;
            self.data_handle = None;
            return Ok(());
        }
        let handle = BlockHandle::decode(self.index.value()).ok_or_else(|| {
            self.table.corruption(
                self.index.entry_file_offset(),
                "an index entry's block handle is malformed".into(),
            )
        })?;
        if self.data_handle != Some(handle) || self.data.is_none() {
            let block = self
                .table
                .read_data_block(handle, self.use_cache, &mut self.readahead)?;
            self.data = Some(block.iter());
            self.data_handle = Some(handle);
        }
        Ok(())
    }

    fn skip_empty_blocks_forward(&mut self) -> Result<()> {
        while !self.valid() {
            if !self.index.valid() {
                self.data = None;
                return Ok(());
            }
            self.index.next()?;
            self.load_data_block()?;
            if let Some(data) = &mut self.data {
                data.seek_to_first()?;
            }
        }
        Ok(())
    }

    fn skip_empty_blocks_backward(&mut self) -> Result<()> {
        while !self.valid() {
            if !self.index.valid() {
                self.data = None;
                return Ok(());
            }
            self.index.prev()?;
            self.load_data_block()?;
            if let Some(data) = &mut self.data {
                data.seek_to_last()?;
            }
        }
        Ok(())
    }
}
