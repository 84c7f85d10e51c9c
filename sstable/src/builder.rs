//! Writes a table: data blocks cut at the target size, one bloom filter over
//! the user keys, a meta-index, an index of shortened separators, a footer.

use std::cmp::Ordering;
use std::io::Write;

use crate::block_builder::BlockBuilder;
use crate::compression::{Compression, compress};
use crate::error::{Error, Result};
use crate::filter::{BloomFilterBuilder, FilterLayout};
use crate::footer::{BlockHandle, Footer};
use crate::format::{
    COMPRESSION_NONE, DEFAULT_BLOCK_SIZE_BYTES, DEFAULT_BLOOM_BITS_PER_KEY,
    DEFAULT_RESTART_INTERVAL, MAX_BLOCK_SIZE_BYTES, block_checksum,
};
use crate::index::{short_successor, shortest_separator};
use crate::key::{ValueKind, compare_internal_keys, parse_internal_key, user_key};

/// How a table is built. Readers need none of these: the file says it all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TableOptions {
    /// A data block is cut once it reaches this size (default 4 KiB; at
    /// most [`MAX_BLOCK_SIZE_BYTES`]).
    pub block_size_bytes: usize,
    /// Entries between restart points of a data block (default 16; 0 is 1).
    pub restart_interval: usize,
    /// Bloom filter bits per user key (default 10); 0 writes no filter.
    pub bloom_bits_per_key: usize,
    /// How the filter lays out its bits (default [`FilterLayout::Local`]);
    /// [`FilterLayout::Spread`] writes tables whose filter readers older
    /// than local filters can use.
    pub filter_layout: FilterLayout,
    /// How data blocks are compressed (default none). A block that would
    /// not shrink by an eighth is stored as it is; index, filter and
    /// meta-index blocks are never compressed.
    pub compression: Compression,
}

impl Default for TableOptions {
    fn default() -> TableOptions {
        TableOptions {
            block_size_bytes: DEFAULT_BLOCK_SIZE_BYTES,
            restart_interval: DEFAULT_RESTART_INTERVAL,
            bloom_bits_per_key: DEFAULT_BLOOM_BITS_PER_KEY,
            filter_layout: FilterLayout::Local,
            compression: Compression::None,
        }
    }
}

/// What a finished table holds, for the engine's MANIFEST.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableSummary {
    /// The size of the table file in bytes.
    pub file_size_bytes: u64,
    /// The number of entries.
    pub entry_count: u64,
    /// The number of data blocks.
    pub data_block_count: u64,
    /// The first internal key, if any.
    pub smallest_key: Option<Vec<u8>>,
    /// The last internal key, if any.
    pub largest_key: Option<Vec<u8>>,
}

/// Builds a table into a writer. Keys are internal keys (see
/// [`key`](crate::key)) and must be added in strictly increasing order.
///
/// ```
/// use strata_sstable::key::{InternalKey, ValueKind};
/// use strata_sstable::{Table, TableBuilder, TableOptions};
///
/// let mut builder = TableBuilder::new(Vec::new(), TableOptions::default());
/// builder.add(InternalKey::new(b"apple", 2, ValueKind::Value).as_bytes(), b"red")?;
/// builder.add(InternalKey::new(b"pear", 1, ValueKind::Deletion).as_bytes(), b"")?;
/// let (bytes, summary) = builder.finish()?;
/// assert_eq!(summary.entry_count, 2);
///
/// let table = Table::open(bytes, "000007.sst")?;
/// let found = table.get(b"apple", 10)?.expect("apple is in the table");
/// assert_eq!(found.value, b"red");
/// # Ok::<(), strata_sstable::Error>(())
/// ```
#[derive(Debug)]
pub struct TableBuilder<W: Write> {
    writer: W,
    options: TableOptions,
    offset: u64,
    data_block: BlockBuilder,
    index_block: BlockBuilder,
    filter: Option<BloomFilterBuilder>,
    /// The handle of the last data block, waiting for the next key to
    /// choose its separator.
    pending_handle: Option<BlockHandle>,
    last_key: Vec<u8>,
    smallest_key: Option<Vec<u8>>,
    entry_count: u64,
    data_block_count: u64,
    failed: bool,
}

impl<W: Write> TableBuilder<W> {
    /// A builder writing to `writer`.
    pub fn new(writer: W, options: TableOptions) -> TableBuilder<W> {
        let options = TableOptions {
            block_size_bytes: options.block_size_bytes.min(MAX_BLOCK_SIZE_BYTES),
            ..options
        };
        TableBuilder {
            writer,
            options,
            offset: 0,
            data_block: BlockBuilder::new(options.restart_interval),
            index_block: BlockBuilder::new(1),
            filter: (options.bloom_bits_per_key > 0)
                .then(|| BloomFilterBuilder::new(options.bloom_bits_per_key)),
            pending_handle: None,
            last_key: Vec::new(),
            smallest_key: None,
            entry_count: 0,
            data_block_count: 0,
            failed: false,
        }
    }

    /// Adds an entry: `key` is an encoded internal key whose kind is a
    /// [`ValueKind`].
    ///
    /// # Errors
    /// `OutOfOrder` if `key` does not sort after the previous key,
    /// `InvalidKey`, `EntryTooLarge`, or `Write` when the writer fails (after
    /// which the builder refuses further calls with `BuilderFailed`).
    pub fn add(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        if self.failed {
            return Err(Error::BuilderFailed);
        }
        let parsed = parse_internal_key(key).ok_or_else(|| Error::InvalidKey {
            key: key.to_vec(),
            reason: "it is shorter than the 8-byte sequence and kind trailer",
        })?;
        if ValueKind::from_byte(parsed.kind).is_none() {
            return Err(Error::InvalidKey {
                key: key.to_vec(),
                reason: "its kind byte is not Value (1), Deletion (0) or SingleDeletion (7)",
            });
        }
        if u32::try_from(key.len()).is_err() || u32::try_from(value.len()).is_err() {
            return Err(Error::EntryTooLarge {
                key_bytes: key.len(),
                value_bytes: value.len(),
            });
        }
        let first = self.smallest_key.is_none();
        if !first && compare_internal_keys(&self.last_key, key) != Ordering::Less {
            return Err(Error::OutOfOrder {
                previous: self.last_key.clone(),
                got: key.to_vec(),
            });
        }
        if let Some(handle) = self.pending_handle.take() {
            self.add_index_entry(&shortest_separator(&self.last_key, key), handle);
        }
        let new_user_key = first || user_key(&self.last_key) != parsed.user_key;
        if let Some(filter) = self.filter.as_mut().filter(|_| new_user_key) {
            filter.add_key(parsed.user_key);
        }
        if first {
            self.smallest_key = Some(key.to_vec());
        }
        self.last_key.clear();
        self.last_key.extend_from_slice(key);
        self.data_block.add(key, value);
        self.entry_count += 1;
        if self.data_block.size_estimate_bytes() >= self.options.block_size_bytes {
            self.flush_data_block()?;
        }
        Ok(())
    }

    /// The number of entries added so far.
    #[must_use]
    pub fn entry_count(&self) -> u64 {
        self.entry_count
    }

    /// The bytes written so far plus the unfinished data block.
    #[must_use]
    pub fn size_estimate_bytes(&self) -> u64 {
        self.offset + self.data_block.size_estimate_bytes() as u64
    }

    /// Writes the last data block, the filter, meta-index, index and footer,
    /// flushes the writer and returns it with a summary. Syncing the file is
    /// the caller's job.
    ///
    /// # Errors
    /// `Write` when the writer fails; `BuilderFailed` after an earlier failure.
    pub fn finish(mut self) -> Result<(W, TableSummary)> {
        if self.failed {
            return Err(Error::BuilderFailed);
        }
        self.flush_data_block()?;
        let mut meta_index = BlockBuilder::new(1);
        if let Some(filter) = self.filter.take() {
            let layout = self.options.filter_layout;
            let handle = self.write_block(&filter.finish_layout(layout))?;
            let mut value = Vec::new();
            handle.encode_to(&mut value);
            meta_index.add(layout.meta_key(), &value);
        }
        let meta_index_handle = self.write_block(&meta_index.finish())?;
        if let Some(handle) = self.pending_handle.take() {
            self.add_index_entry(&short_successor(&self.last_key), handle);
        }
        let index_contents = self.index_block.finish();
        let index_handle = self.write_block(&index_contents)?;
        let footer = Footer {
            meta_index: meta_index_handle,
            index: index_handle,
        };
        self.write_all(&footer.encode())?;
        if let Err(source) = self.writer.flush() {
            return Err(Error::Write { source });
        }
        let has_entries = self.entry_count > 0;
        let summary = TableSummary {
            file_size_bytes: self.offset,
            entry_count: self.entry_count,
            data_block_count: self.data_block_count,
            smallest_key: self.smallest_key.take(),
            largest_key: has_entries.then(|| std::mem::take(&mut self.last_key)),
        };
        Ok((self.writer, summary))
    }

    fn add_index_entry(&mut self, separator: &[u8], handle: BlockHandle) {
        let mut value = Vec::new();
        handle.encode_to(&mut value);
        self.index_block.add(separator, &value);
    }

    fn flush_data_block(&mut self) -> Result<()> {
        if self.data_block.is_empty() {
            return Ok(());
        }
        let contents = self.data_block.finish();
        let handle = match compress(&contents, self.options.compression) {
            Some((stored, compression)) => self.write_block_as(&stored, compression)?,
            None => self.write_block(&contents)?,
        };
        self.pending_handle = Some(handle);
        self.data_block_count += 1;
        Ok(())
    }

    /// Writes block contents, uncompressed, and their trailer; returns the
    /// handle.
    fn write_block(&mut self, contents: &[u8]) -> Result<BlockHandle> {
        self.write_block_as(contents, COMPRESSION_NONE)
    }

    /// Writes stored block bytes and a trailer naming `compression`;
    /// returns the handle (whose size is the stored size).
    fn write_block_as(&mut self, stored: &[u8], compression: u8) -> Result<BlockHandle> {
        let handle = BlockHandle {
            offset: self.offset,
            size: stored.len() as u64,
        };
        let mut trailer = [compression; 5];
        trailer[1..].copy_from_slice(&block_checksum(stored, compression).to_le_bytes());
        self.write_all(stored)?;
        self.write_all(&trailer)?;
        Ok(handle)
    }

    fn write_all(&mut self, bytes: &[u8]) -> Result<()> {
        match self.writer.write_all(bytes) {
            Ok(()) => {
                self.offset += bytes.len() as u64;
                Ok(())
            }
            Err(source) => {
                self.failed = true;
                Err(Error::Write { source })
            }
        }
    }
}
